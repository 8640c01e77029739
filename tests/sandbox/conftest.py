"""Fixtures shared by the sandbox tests: the webhook receiver and deterministic webhook settings."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.sandbox.webhook_receiver import SECRET, Receiver


@pytest.fixture
def receiver(settings) -> Iterator[Receiver]:
    """A live webhook endpoint. Delivery is driven by the test (no background deliverer), signed with SECRET."""
    settings.SANDBOX_WEBHOOKS_AUTODELIVER = False
    settings.HUBSPOT_CLIENT_SECRET = SECRET
    found = Receiver()
    yield found
    found.close()

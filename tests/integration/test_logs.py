"""Structured logs: JSON lines with the work's ids, and no secret in any line a sync, a refresh or a webhook writes."""

from __future__ import annotations

import datetime as dt
import io
import json
import logging
from collections.abc import Iterator

import pytest
from django.conf import settings
from django.utils import timezone

from integration.logs import ContextFilter, JsonFormatter, PlainFormatter, log_context, log_context_set, redact
from integration.models import HubSpotInstallation, ObjectSync, SyncedRecord
from integration.services.sync import object_sync_run
from tests.integration.inbound.conftest import Hook, event


@pytest.fixture
def json_lines() -> Iterator[io.StringIO]:
    """Everything logged at DEBUG by any logger, through the production formatter."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(ContextFilter())
    root = logging.getLogger()
    previous = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    yield stream
    root.removeHandler(handler)
    root.setLevel(previous)


def entries(stream: io.StringIO) -> list[dict]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_a_json_line_carries_the_context_ids_and_the_block_ends_them(json_lines):
    logger = logging.getLogger("integration.test")
    with log_context(portal=10000001, object_type="clients", task="t-1"):
        log_context_set(run=42)
        logger.info("batch %s written", 3)
    logger.warning("outside")

    inside, outside = entries(json_lines)[-2:]
    assert {k: v for k, v in inside.items() if k != "time"} == {
        "level": "INFO",
        "logger": "integration.test",
        "message": "batch 3 written",
        "portal": 10000001,
        "object_type": "clients",
        "run": 42,
        "task": "t-1",
    }
    assert {k: v for k, v in outside.items() if k != "time"} == {
        "level": "WARNING",
        "logger": "integration.test",
        "message": "outside",
    }
    assert dt.datetime.fromisoformat(inside["time"]).tzinfo is not None


def test_plain_text_under_debug_names_the_ids_in_brackets():
    record = logging.LogRecord("integration.sync", logging.INFO, __file__, 1, "run ended", (), None)
    record.portal, record.object_type, record.run = 7, "invoices", 9
    assert (
        PlainFormatter()
        .format(record)
        .endswith(" INFO integration.sync run ended [portal=7 object_type=invoices run=9]")
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Authorization: Bearer abc.def", "Authorization: Bearer [redacted]"),
        ("headers={'X-Token': 'k-123'}", "headers={'X-Token': '[redacted]'}"),
        ('{"refresh_token": "r-1", "n": 2}', '{"refresh_token": "[redacted]", "n": 2}'),
        ("client_secret=s3&code=x", "client_secret=[redacted]&code=x"),
        ("HubSpot GET /crm/v3/objects -> 200 12ms", "HubSpot GET /crm/v3/objects -> 200 12ms"),
    ],
)
def test_anything_shaped_like_a_credential_is_masked(text, expected):
    assert redact(text) == expected


@pytest.mark.concurrent_db
def test_a_sync_a_token_refresh_and_a_webhook_log_their_ids_and_no_secret(world_factory, sandbox_urls, json_lines):
    world = world_factory(clients=3, products=0, invoices=0, agreements=0, projects=0, enable=("clients",))
    installation = HubSpotInstallation.objects.get(portal=world.portal)
    installation.expires_at = timezone.now() - dt.timedelta(minutes=1)  # the run refreshes the token first
    installation.save(update_fields=["expires_at"])
    old_access, old_refresh = installation.access_token, installation.refresh_token
    clients = ObjectSync.objects.get(portal=world.portal, object_type="clients")

    run = object_sync_run(object_sync_id=clients.pk)
    linked = SyncedRecord.objects.filter(portal=world.portal, object_type="clients").first()
    Hook(sandbox_urls).deliver([event(world.hub_id, linked.hubspot_id, "phone", "+46 8 2")])

    installation.refresh_from_db()
    assert installation.access_token != old_access  # the refresh happened
    text = json_lines.getvalue()
    secrets = {
        "kleer api key": world.token,
        "old access token": old_access,
        "old refresh token": old_refresh,
        "new access token": installation.access_token,
        "new refresh token": installation.refresh_token,
        "client secret": settings.HUBSPOT_CLIENT_SECRET,
    }
    assert [name for name, secret in secrets.items() if secret and secret in text] == []
    ended = [e for e in entries(json_lines) if e["message"].startswith("sync run ended")]
    assert [(e["portal"], e["object_type"], e["run"]) for e in ended] == [(world.hub_id, "clients", run.pk)]
    lines = entries(json_lines)
    started = next(i for i, e in enumerate(lines) if e["message"].startswith("sync run started"))
    during = lines[started : lines.index(ended[0])]
    calls = [e for e in during if e["logger"] == "integration.http"]
    assert {(e["portal"], e["object_type"], e["run"]) for e in calls} == {(world.hub_id, "clients", run.pk)}
    assert len(calls) >= run.hubspot_calls + 1  # every HubSpot call of the run, and its Kleer page

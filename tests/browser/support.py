"""Helpers shared by the browser tests: the Chromium binary, the marks, and HubSpot-style signed launches."""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import time
from pathlib import Path

import pytest

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
LAUNCH_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]

# Every browser test module starts with `pytestmark = BROWSER`: marked, and skipped with a clear reason when
# there is no Chromium binary (the tests never download one).
BROWSER = [
    pytest.mark.browser,
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason=f"no Chromium at {CHROMIUM}; set CHROMIUM_PATH"),
]


def signature_headers(*, secret: str, method: str, url: str, body: bytes = b"") -> dict[str, str]:
    """The v3 headers HubSpot would add to a request for `url` (recipe from HubSpot's request-validation docs)."""
    timestamp = str(int(time.time() * 1000))
    source = method.encode() + url.encode() + body + timestamp.encode()
    signature = base64.b64encode(hmac.new(secret.encode(), source, hashlib.sha256).digest()).decode()
    return {"X-HubSpot-Signature-v3": signature, "X-HubSpot-Request-Timestamp": timestamp}


def launch_url(base: str, hub_id: int, email: str = "ada@example.com") -> str:
    return f"{base}/hubspot/launch?portalId={hub_id}&userId=7&userEmail={email}&appId=1"

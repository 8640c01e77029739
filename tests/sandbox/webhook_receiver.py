"""A stand-in for the app's webhook endpoint: a real HTTP server in a thread that records what the fake HubSpot
sends and answers a scripted status (optionally after a pause), plus signature checks written out from HubSpot's
docs with `hashlib`/`hmac`, independently of `sandbox.hubspot.signatures`."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import time
from collections import deque
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

SECRET = "webhook-test-secret"
RECEIVER_PATH = "/hubspot/webhooks"


@dataclass
class Received:
    """One request the receiver got."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    answered: int

    @property
    def events(self) -> list[dict[str, Any]]:
        return json.loads(self.body)

    @property
    def event_ids(self) -> list[int]:
        return [event["eventId"] for event in self.events]


def v1_signature(secret: str, body: bytes) -> str:
    """https://developers.hubspot.com/docs/faq/v1-request-validation: sha256 hex of client secret + body."""
    return hashlib.sha256(secret.encode() + body).hexdigest()


def v3_signature(secret: str, method: str, url: str, body: bytes, timestamp: str) -> str:
    """The v3 steps of the request-validation page: base64 HMAC-SHA256 of method + URI + body + timestamp."""
    source = method.encode() + url.encode() + body + timestamp.encode()
    return base64.b64encode(hmac.new(secret.encode(), source, hashlib.sha256).digest()).decode()


class Receiver:
    """Answers each POST with the next scripted (status, pause) or `default`; counts requests in flight."""

    def __init__(self) -> None:
        self.requests: list[Received] = []
        self.script: deque[tuple[int, float]] = deque()
        self.default: tuple[int, float] = (204, 0.0)
        self.in_flight = 0
        self.max_in_flight = 0
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}{RECEIVER_PATH}"

    def answer(self, *statuses: int, pause: float = 0.0) -> None:
        """Script the next answers (then `default`)."""
        self.script.extend((status, pause) for status in statuses)

    def events(self) -> list[dict[str, Any]]:
        """Every event received, in arrival order."""
        return [event for request in self.requests for event in request.events]

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _next(self) -> tuple[int, float]:
        with self._lock:
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
            return self.script.popleft() if self.script else self.default

    def _done(self, record: Received) -> None:
        with self._lock:
            self.in_flight -= 1
            self.requests.append(record)

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                status, pause = receiver._next()
                record = Received("POST", self.path, dict(self.headers.items()), body, status)
                try:
                    time.sleep(pause)
                    self.send_response(status)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                except OSError:
                    pass  # the fake gave up waiting (a timeout test)
                finally:
                    receiver._done(record)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        return Handler


def component(
    target_url: str,
    *,
    crm: list[dict[str, Any]] | None = None,
    legacy: list[dict[str, Any]] | None = None,
    hub: list[dict[str, Any]] | None = None,
    max_concurrent: int = 1,
) -> dict[str, Any]:
    """A webhooks-hsmeta.json (one request at a time by default, so arrival order is send order)."""
    subscriptions: dict[str, Any] = {}
    if crm is not None:
        subscriptions["crmObjects"] = crm
    if legacy is not None:
        subscriptions["legacyCrmObjects"] = legacy
    if hub is not None:
        subscriptions["hubEvents"] = hub
    return {
        "uid": "kleer_webhooks",
        "type": "webhooks",
        "config": {
            "settings": {"targetUrl": target_url, "maxConcurrentRequests": max_concurrent},
            "subscriptions": subscriptions,
        },
    }


def prop_change(object_type: str, name: str, *, active: bool = True) -> dict[str, Any]:
    return {
        "subscriptionType": "object.propertyChange",
        "objectType": object_type,
        "propertyName": name,
        "active": active,
    }


def lifecycle(action: str, object_type: str) -> dict[str, Any]:
    return {"subscriptionType": f"object.{action}", "objectType": object_type, "active": True}

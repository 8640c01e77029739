"""A stand-in for the app's workflow-action endpoint: a real HTTP server in a thread that records what the fake
HubSpot sends and answers scripted replies, plus the v3 and v2 signature checks written out from HubSpot's docs
with `hashlib`/`hmac`, independently of `sandbox.hubspot.signatures`."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

ACTION_PATH = "/hubspot/workflow-actions/create-invoice"


@dataclass
class Reply:
    """One scripted answer: status, JSON body (None: empty), extra headers, a pause before answering, and a hook
    run before answering (e.g. to complete the callback while the answer is still on its way)."""

    status: int = 200
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    pause: float = 0.0
    before: Callable[[dict[str, Any]], None] | None = None


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes

    @property
    def json(self) -> dict[str, Any]:
        return json.loads(self.body)


def v2_signature(secret: str, method: str, url: str, body: bytes) -> str:
    """https://developers.hubspot.com/docs/faq/v2-request-validation: sha256 hex of secret + method + URI + body."""
    return hashlib.sha256(secret.encode() + method.encode() + url.encode() + body).hexdigest()


def v3_signature(secret: str, method: str, url: str, body: bytes, timestamp: str) -> str:
    """The v3 steps of the request-validation page: base64 HMAC-SHA256 of method + URI + body + timestamp."""
    source = method.encode() + url.encode() + body + timestamp.encode()
    return base64.b64encode(hmac.new(secret.encode(), source, hashlib.sha256).digest()).decode()


def assert_signed(received: Received, secret: str, url: str) -> None:
    """Both signatures HubSpot puts on a workflow-action request are right, and the timestamp is fresh."""
    headers = {name.lower(): value for name, value in received.headers.items()}
    stamp = headers["x-hubspot-request-timestamp"]
    assert abs(int(stamp) - time.time() * 1000) < 60_000
    assert headers["x-hubspot-signature-v3"] == v3_signature(secret, "POST", url, received.body, stamp)
    assert headers["x-hubspot-signature-version"] == "v2"
    assert headers["x-hubspot-signature"] == v2_signature(secret, "POST", url, received.body)
    assert headers["content-type"] == "application/json"


class ActionReceiver:
    """Answers each POST with the next scripted Reply (then `default`); counts requests in flight."""

    def __init__(self) -> None:
        self.requests: list[Received] = []
        self.script: deque[Reply] = deque()
        self.default = Reply(200, {"outputFields": {"hs_execution_state": "SUCCESS"}})
        self.in_flight = 0
        self.max_in_flight = 0
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}{ACTION_PATH}"

    def reply(self, *replies: Reply) -> None:
        self.script.extend(replies)

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _next(self, record: Received) -> Reply:
        with self._lock:
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
            self.requests.append(record)
            return self.script.popleft() if self.script else self.default

    def _done(self) -> None:
        with self._lock:
            self.in_flight -= 1

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                record = Received(self.path, dict(self.headers.items()), body)
                reply = receiver._next(record)
                try:
                    if reply.before is not None:
                        reply.before(record.json)
                    time.sleep(reply.pause)
                    payload = b"" if reply.body is None else json.dumps(reply.body).encode()
                    self.send_response(reply.status)
                    for name, value in reply.headers.items():
                        self.send_header(name, value)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                except OSError:
                    pass  # the fake gave up waiting (a timeout test)
                finally:
                    receiver._done()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        return Handler


def action_component(
    action_url: str,
    *,
    uid: str = "create_invoice",
    object_types: tuple[str, ...] = ("DEAL",),
    inputs: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """A workflow-action *-hsmeta.json in the documented shape, with a required date and an optional currency."""
    fields = (
        inputs
        if inputs is not None
        else [
            {
                "typeDefinition": {"name": "invoice_date", "type": "date", "fieldType": "date"},
                "supportedValueTypes": ["STATIC_VALUE", "OBJECT_PROPERTY"],
                "isRequired": True,
            },
            {
                "typeDefinition": {
                    "name": "currency",
                    "type": "enumeration",
                    "fieldType": "select",
                    "options": [{"value": "SEK", "label": "SEK"}, {"value": "EUR", "label": "EUR"}],
                },
                "supportedValueTypes": ["STATIC_VALUE"],
                "isRequired": False,
            },
        ]
    )
    labels = {field["typeDefinition"]["name"]: field["typeDefinition"]["name"].title() for field in fields}
    return {
        "uid": uid,
        "type": "workflow-action",
        "config": {
            "actionUrl": action_url,
            "isPublished": True,
            "supportedClients": [{"client": "WORKFLOWS"}],
            "objectTypes": list(object_types),
            "inputFields": fields,
            "outputFields": [
                {"typeDefinition": {"name": "kleer_invoice_id", "type": "string", "fieldType": "text"}},
            ],
            "labels": {
                "en": {
                    "actionName": "Create Kleer Invoice",
                    "inputFieldLabels": labels,
                    "outputFieldLabels": {"kleer_invoice_id": "Kleer invoice id"},
                },
                "sv": {"actionName": "Skapa Kleer-faktura"},
            },
        },
    }

"""Client for HubSpot's CRM APIs, as a public OAuth app.

Every path is built from HUBSPOT_API_BASE and the date version HUBSPOT_API_VERSION (default 2026-03;
https://developers.hubspot.com/docs/api-reference/versioning). Writes go through batch upsert keyed on our
unique `kleer_id` property, never search-then-create, because the search index lags behind writes
(https://developers.hubspot.com/docs/api-reference/search/guide). Each batch input carries an
`objectWriteTraceId` so a 207 Multi-Status names the input that failed and the rest of the batch lands.
Access tokens live 30 minutes; we refresh them before expiry under a per-portal row lock, so concurrent
workers refresh once (https://developers.hubspot.com/docs/developer-tooling/platform/usage-guidelines:
"a 401 is not the signal to refresh").
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import requests
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from integration.clients import ratelimit
from integration.clients.errors import (
    ApiError,
    AuthenticationError,
    PermanentError,
    TransientError,
)
from integration.clients.http import CallStats, HttpClient, RetryPolicy, parse_retry_after

if TYPE_CHECKING:
    from integration.models import HubSpotInstallation

SERVICE = "HubSpot"
BATCH_LIMIT = 100
# Association batch create takes up to 2,000 pairs per call (hubspot-api.md §4.1,
# https://developers.hubspot.com/docs/api-reference/latest/crm/associations/associate-records/guide).
ASSOCIATION_BATCH_LIMIT = 2000
REFRESH_MARGIN = dt.timedelta(minutes=5)
FEATURE_NOT_ENABLED = "FEATURE_NOT_ENABLED"  # 403 category when the portal lacks e.g. payments (§10.3)
PERMANENT_STATUSES = {400, 403, 404, 405, 409, 414, 415}
# A 429 whose policy is the daily bucket will not clear in seconds: HubSpot resets it at midnight in the portal's
# time zone (https://developers.hubspot.com/docs/developer-tooling/platform/usage-guidelines). Retrying with
# backoff would only burn calls, so the run is rescheduled: at the Retry-After HubSpot sends, else an hour later
# (we do not store the portal's time zone, and a re-check costs one call).
DAILY_LIMIT_RECHECK_SECONDS = 3600.0
# The callback-completion path as HubSpot's 2026-03 spec writes it (automation-actions.json).
CALLBACK_COMPLETE_PATH = "/automation/actions/callbacks/{version}/{callback_id}/complete"


@dataclass(frozen=True)
class TokenGrant:
    """The token endpoint's answer."""

    access_token: str
    refresh_token: str
    expires_in: int
    hub_id: int | None
    scopes: tuple[str, ...]
    user_id: int | None

    def __repr__(self) -> str:
        return f"<TokenGrant hub={self.hub_id} expires_in={self.expires_in}>"


@dataclass(frozen=True)
class Written:
    """One input HubSpot accepted: our key and HubSpot's id."""

    key: str
    hubspot_id: str
    new: bool


@dataclass(frozen=True)
class Failed:
    """One input HubSpot refused, with its message and category."""

    key: str
    message: str
    category: str
    # HubSpot's `errors[]` of the error ({code, message, context.propertyName}); empty when it sent none.
    details: tuple[dict[str, Any], ...] = ()


def _details(body: object) -> tuple[dict[str, Any], ...]:
    errors = body.get("errors") if isinstance(body, dict) else None
    return tuple(e for e in errors or () if isinstance(e, dict))


@dataclass(frozen=True)
class BatchOutcome:
    """Per-input result of a batch call."""

    written: list[Written]
    failed: list[Failed]


def _error_body(response: requests.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def classify(response: requests.Response) -> ApiError:
    """Turn a non-2xx HubSpot response into a permanent or transient error."""
    body = _error_body(response)
    status = response.status_code
    message = str(body.get("message") or f"HubSpot answered HTTP {status}")
    category = str(body.get("category") or body.get("policyName") or body.get("error") or "")
    kwargs = {"service": SERVICE, "status": status, "category": category, "body": body}
    kwargs["correlation_id"] = str(body.get("correlationId", ""))
    if status == 429 and body.get("policyName") == "DAILY":
        # Longer than any worker sleeps, so HttpClient reschedules the run instead of retrying.
        kwargs["retry_after"] = parse_retry_after(response.headers.get("Retry-After")) or DAILY_LIMIT_RECHECK_SECONDS
    if status == 401:
        return AuthenticationError(message, **kwargs)
    if status in PERMANENT_STATUSES:
        return PermanentError(message, **kwargs)
    return TransientError(message, **kwargs)


def _oauth_http() -> HttpClient:
    return HttpClient(service=SERVICE, base_url=settings.HUBSPOT_API_BASE, classify=classify)


def _grant(body: Mapping[str, Any]) -> TokenGrant:
    return TokenGrant(
        access_token=body["access_token"],
        refresh_token=body["refresh_token"],
        expires_in=int(body.get("expires_in", 1800)),
        hub_id=int(body["hub_id"]) if body.get("hub_id") is not None else None,
        scopes=tuple(body.get("scopes", ())),
        user_id=body.get("user_id"),
    )


def _token_call(data: dict[str, str]) -> TokenGrant:
    # Reference: https://developers.hubspot.com/docs/api-reference/auth-oauth-v3/guide (POST /oauth/{v}/token)
    path = f"/oauth/{settings.HUBSPOT_API_VERSION}/token"
    data = {**data, "client_id": settings.HUBSPOT_CLIENT_ID, "client_secret": settings.HUBSPOT_CLIENT_SECRET}
    response = _oauth_http().request("POST", path, data=data, idempotent=True)
    return _grant(response.json())


def oauth_exchange_code(*, code: str, redirect_uri: str) -> TokenGrant:
    """Exchange an authorization code for tokens (the install callback)."""
    return _token_call({"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri})


def oauth_refresh(*, refresh_token: str) -> TokenGrant:
    """A new access token from the refresh token; `invalid_grant` means the app was uninstalled."""
    return _token_call({"grant_type": "refresh_token", "refresh_token": refresh_token})


def oauth_token_info(*, access_token: str) -> dict[str, Any]:
    """What HubSpot knows about a token: hub id, hub domain, the installing user's email, scopes."""
    # Reference: https://developers.hubspot.com/docs/api-reference/auth-oauth-v3/guide (token introspection;
    # hubspot-api.md §1.3). The token travels in the form body, never in a logged URL path.
    path = f"/oauth/{settings.HUBSPOT_API_VERSION}/token/introspect"
    data = {
        "client_id": settings.HUBSPOT_CLIENT_ID,
        "client_secret": settings.HUBSPOT_CLIENT_SECRET,
        "token": access_token,
        "token_type_hint": "access_token",
    }
    body = _oauth_http().request("POST", path, data=data, idempotent=True).json()
    return body if isinstance(body, dict) else {}


def oauth_account_info(*, access_token: str) -> dict[str, Any]:
    """The account's details (`portalId`, `timeZone`, `companyCurrency`, …) for a fresh token."""
    # Reference: https://developers.hubspot.com/docs/api-reference/account-account-info-v3/guide
    # (PortalInformationResponse).
    path = f"/account-info/{settings.HUBSPOT_API_VERSION}/details"
    response = _oauth_http().request("GET", path, headers={"Authorization": f"Bearer {access_token}"})
    body = response.json()
    return body if isinstance(body, dict) else {}


def oauth_account_portal_id(*, access_token: str) -> Any:
    """The portal id of a fresh token, for grants that do not name their hub."""
    return oauth_account_info(access_token=access_token).get("portalId")


def _chunks(items: Sequence[Any], size: int = BATCH_LIMIT) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _pair_key(error: Mapping[str, Any]) -> str:
    """ "from->to" of a failed association input (its error's context names both ids), else the context as text."""
    context = error.get("context") or {}
    if isinstance(context, dict) and context.get("fromObjectId") and context.get("toObjectId"):
        return f"{context['fromObjectId'][0]}->{context['toObjectId'][0]}"
    return str(context)


class HubSpotClient:
    """CRM calls for one installed portal, rate-limited per portal across all workers."""

    def __init__(
        self,
        *,
        installation: HubSpotInstallation,
        allow_sleep: bool = True,
        retry: RetryPolicy | None = None,
    ) -> None:
        self.installation = installation
        self.hub_id = installation.portal.hub_id
        self.version = settings.HUBSPOT_API_VERSION
        store = ratelimit.backend()
        self.limiter = ratelimit.PortalRateLimiter(
            key=f"hubspot:{self.hub_id}",
            window=ratelimit.hubspot_window(),
            backend=store,
            allow_sleep=allow_sleep,
        )
        self.search_limiter = ratelimit.PortalRateLimiter(
            key=f"hubspot-search:{self.hub_id}",
            window=ratelimit.hubspot_window(search=True),
            backend=store,
            allow_sleep=allow_sleep,
        )
        self.http = self._http(self.limiter, allow_sleep, retry)
        self.search_http = self._http(self.search_limiter, allow_sleep, retry)
        self.search_http.stats = self.http.stats  # one tally of calls per client

    def _http(self, limiter: ratelimit.PortalRateLimiter, allow_sleep: bool, retry: RetryPolicy | None) -> HttpClient:
        return HttpClient(
            service=SERVICE,
            base_url=settings.HUBSPOT_API_BASE,
            classify=classify,
            allow_sleep=allow_sleep,
            retry=retry or RetryPolicy.configured(),
            before_call=limiter.acquire,
            on_throttled=lambda _response: limiter.tighten(),
        )

    def __repr__(self) -> str:
        return f"<HubSpotClient hub={self.hub_id}>"

    @property
    def calls(self) -> int:
        return self.http.stats.calls

    @property
    def stats(self) -> CallStats:
        """Calls, 429s and failures of this client so far (search calls included)."""
        return self.http.stats

    # -- tokens -----------------------------------------------------------------------------------

    def access_token(self, *, force_refresh: bool = False) -> str:
        """A token valid for at least REFRESH_MARGIN; refreshed once even when many workers ask at once."""
        inst = self.installation
        if not force_refresh and inst.expires_at and inst.expires_at - timezone.now() > REFRESH_MARGIN:
            return inst.access_token or ""
        return self._refresh(stale_token=inst.access_token if force_refresh else None)

    def _refresh(self, *, stale_token: str | None) -> str:
        from integration.models import HubSpotInstallation
        from integration.services.installations import installation_mark_disconnected

        with transaction.atomic():
            locked = (
                HubSpotInstallation.objects.select_for_update().select_related("portal").get(pk=self.installation.pk)
            )
            fresh_enough = locked.expires_at and locked.expires_at - timezone.now() > REFRESH_MARGIN
            if locked.status != HubSpotInstallation.Status.CONNECTED:
                raise AuthenticationError("the HubSpot connection needs to be re-authorised", service=SERVICE)
            if fresh_enough and locked.access_token != stale_token:
                self.installation = locked  # another worker refreshed while we waited for the lock
                return locked.access_token or ""
            try:
                grant = oauth_refresh(refresh_token=locked.refresh_token or "")
            except PermanentError as exc:
                error = exc
            else:
                locked.access_token = grant.access_token
                locked.expires_at = timezone.now() + dt.timedelta(seconds=grant.expires_in)
                locked.save(update_fields=["access_token", "expires_at", "updated_at"])
                self.installation = locked
                return grant.access_token
        installation_mark_disconnected(installation=locked, reason=f"token refresh refused: {error.category}")
        raise AuthenticationError(
            "HubSpot refused the refresh token; the portal must reconnect the app",
            service=SERVICE,
            status=error.status,
            category=error.category,
        ) from error

    # -- transport --------------------------------------------------------------------------------

    def call(self, method: str, path: str, *, search: bool = False, **kwargs: Any) -> requests.Response:
        """One API call with a fresh token; a 401 gets exactly one forced refresh and one retry."""
        http = self.search_http if search else self.http
        for attempt in (1, 2):
            headers = {"Authorization": f"Bearer {self.access_token(force_refresh=attempt == 2)}"}
            try:
                return http.request(method, path, headers=headers, **kwargs)
            except AuthenticationError:
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")  # pragma: no cover

    def _json(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        response = self.call(method, path, **kwargs)
        return response.json() if response.content else {}

    def objects_path(self, object_type: str) -> str:
        return f"/crm/objects/{self.version}/{object_type}"

    # -- objects ----------------------------------------------------------------------------------

    # Reference: https://developers.hubspot.com/docs/api-reference/crm-objects-v3/batch/upsert
    def batch_upsert(
        self,
        object_type: str,
        inputs: Sequence[tuple[str, Mapping[str, str]]],
        *,
        id_property: str = "kleer_id",
    ) -> BatchOutcome:
        """Upsert (key, properties) pairs keyed on `id_property`, 100 per call; per-input outcomes."""
        outcome = BatchOutcome(written=[], failed=[])
        for chunk in _chunks(list(inputs)):
            self._upsert_chunk(object_type, chunk, id_property, outcome)
        return outcome

    def _upsert_chunk(
        self,
        object_type: str,
        chunk: Sequence[tuple[str, Mapping[str, str]]],
        id_property: str,
        outcome: BatchOutcome,
    ) -> None:
        body = {
            "inputs": [
                {"id": key, "idProperty": id_property, "objectWriteTraceId": key, "properties": dict(props)}
                for key, props in chunk
            ]
        }
        try:
            data = self._json("POST", f"{self.objects_path(object_type)}/batch/upsert", json=body, idempotent=True)
        except PermanentError as exc:
            if exc.status != 400 or len(chunk) == 1:
                if exc.status != 400:
                    raise
                outcome.failed.append(Failed(chunk[0][0], exc.message, exc.category, _details(exc.body)))
                return
            # A 400 for the whole batch: split it so one bad input cannot sink the others.
            middle = len(chunk) // 2
            self._upsert_chunk(object_type, chunk[:middle], id_property, outcome)
            self._upsert_chunk(object_type, chunk[middle:], id_property, outcome)
            return
        answer = BatchOutcome(written=[], failed=[])
        self._collect(data, id_property, answer)
        outcome.written.extend(answer.written)
        outcome.failed.extend(failed for failed in answer.failed if failed.key)
        unnamed = [failed for failed in answer.failed if not failed.key]
        if unnamed:
            self._attribute(object_type, chunk, id_property, outcome, answer, unnamed[0])

    def _attribute(
        self,
        object_type: str,
        chunk: Sequence[tuple[str, Mapping[str, str]]],
        id_property: str,
        outcome: BatchOutcome,
        answer: BatchOutcome,
        error: Failed,
    ) -> None:
        """Pin a 207 error that names no input on the input it belongs to.

        HubSpot's 207 errors do not always carry `context` (a real one: `"results":[],"numErrors":1,"errors":
        [{"status":"error","category":"VALIDATION_ERROR","message":"Property values were not valid: …"}]`,
        https://github.com/HubSpot/hubspot-api-ruby/issues/403). The inputs neither written nor failed are re-sent
        in halves until each error names one input; upserts are keyed, so re-sending cannot duplicate anything.
        """
        answered = {w.key for w in answer.written} | {f.key for f in answer.failed}
        unanswered = [item for item in chunk if item[0] not in answered]
        if len(unanswered) == 1:
            outcome.failed.append(Failed(unanswered[0][0], error.message, error.category, error.details))
            return
        middle = len(unanswered) // 2
        for part in (unanswered[:middle], unanswered[middle:]):
            if part:
                self._upsert_chunk(object_type, part, id_property, outcome)

    @staticmethod
    def _collect(data: Mapping[str, Any], id_property: str, outcome: BatchOutcome) -> None:
        for result in data.get("results", []):
            key = result.get("objectWriteTraceId") or result.get("properties", {}).get(id_property, "")
            outcome.written.append(Written(str(key), str(result["id"]), bool(result.get("new", False))))
        for error in data.get("errors", []):
            context = error.get("context") or {}
            keys = context.get("objectWriteTraceId") or context.get("ids") or [""]
            for key in keys:
                message, category = str(error.get("message", "")), str(error.get("category", ""))
                outcome.failed.append(Failed(str(key), message, category, _details(error)))

    # Reference: https://developers.hubspot.com/docs/api-reference/crm-objects-v3/batch/read
    def batch_read(
        self,
        object_type: str,
        ids: Sequence[str],
        *,
        id_property: str | None = None,
        properties: Sequence[str] = (),
    ) -> list[dict[str, Any]]:
        """Read records by id (or by a unique property); missing ones are simply absent."""
        found: list[dict[str, Any]] = []
        for chunk in _chunks(list(ids)):
            body: dict[str, Any] = {"inputs": [{"id": i} for i in chunk], "properties": list(properties)}
            if id_property:
                body["idProperty"] = id_property
            # None of the ids exists: HubSpot answers 404, an expected answer rather than a failed call in the
            # portal's API budget (as a first sync's look-up of its own keys always gets).
            path = f"{self.objects_path(object_type)}/batch/read"
            response = self.call("POST", path, json=body, idempotent=True, accept=(404,))
            if response.status_code != 404:
                found.extend(response.json().get("results", []))
        return found

    # Reference: https://developers.hubspot.com/docs/api-reference/crm-objects-v3/batch/update
    def batch_update(self, object_type: str, inputs: Sequence[tuple[str, str, Mapping[str, str]]]) -> BatchOutcome:
        """Update records by HubSpot id: (hubspot_id, key, properties) triples, 100 per call. Outcomes are named
        by `key` (sent as the trace id); an id HubSpot no longer has fails with OBJECT_NOT_FOUND."""
        outcome = BatchOutcome(written=[], failed=[])
        for chunk in _chunks(list(inputs)):
            body = {
                "inputs": [
                    {"id": record_id, "objectWriteTraceId": key, "properties": dict(props)}
                    for record_id, key, props in chunk
                ]
            }
            try:
                data = self._json("POST", f"{self.objects_path(object_type)}/batch/update", json=body, idempotent=True)
            except PermanentError as exc:
                if exc.status not in (400, 404):
                    raise
                outcome.failed.extend(Failed(key, exc.message, exc.category) for _, key, _ in chunk)
                continue
            by_id = {record_id: key for record_id, key, _ in chunk}
            answer = BatchOutcome(written=[], failed=[])
            self._collect(data, "kleer_id", answer)
            outcome.written.extend(answer.written)
            # A missing record is named by its HubSpot id (context.ids), not by a trace id.
            outcome.failed.extend(Failed(by_id.get(f.key, f.key), f.message, f.category) for f in answer.failed)
        return outcome

    # Reference: https://developers.hubspot.com/docs/api-reference/crm-objects-v3/objects/read (GET one record)
    def object_read(
        self, object_type: str, object_id: str, *, properties: Sequence[str] = (), associations: Sequence[str] = ()
    ) -> dict[str, Any] | None:
        """One record with `properties` and the ids of its associated records of `associations` types
        (`{"associations": {"companies": {"results": [{"id", "type"}]}}}`); None when it does not exist."""
        params = {"properties": ",".join(properties), "associations": ",".join(associations)}
        try:
            return self._json("GET", f"{self.objects_path(object_type)}/{object_id}", params=params)
        except PermanentError as exc:
            if exc.status == 404:
                return None
            raise

    # Reference: https://developers.hubspot.com/docs/api-reference/crm-objects-v3/objects/update (PATCH)
    def object_update(self, object_type: str, object_id: str, properties: Mapping[str, str]) -> dict[str, Any]:
        """Set properties of one record by its HubSpot id (sets values, so safe to repeat)."""
        path = f"{self.objects_path(object_type)}/{object_id}"
        return self._json("PATCH", path, json={"properties": dict(properties)}, idempotent=True)

    # Reference: https://developers.hubspot.com/docs/api-reference/crm-objects-v3/batch/archive
    def batch_archive(self, object_type: str, ids: Sequence[str]) -> None:
        for chunk in _chunks(list(ids)):
            body = {"inputs": [{"id": i} for i in chunk]}
            self.call("POST", f"{self.objects_path(object_type)}/batch/archive", json=body, idempotent=True)

    # Reference: https://developers.hubspot.com/docs/api-reference/search/guide (5 requests/s per portal)
    def search(self, object_type: str, **query: Any) -> Iterator[dict[str, Any]]:
        """All matching records, paged (HubSpot caps a search at 10,000 results); `query` as for `search_pages`."""
        for page in self.search_pages(object_type, **query):
            yield from page.get("results", [])

    def search_pages(
        self,
        object_type: str,
        *,
        filter_groups: Sequence[Mapping[str, Any]] = (),
        properties: Sequence[str] = (),
        limit: int = 100,
    ) -> Iterator[dict[str, Any]]:
        """The pages of a search as HubSpot answers them: `total` (every match), `results` and `paging`."""
        body: dict[str, Any] = {"filterGroups": list(filter_groups), "properties": list(properties), "limit": limit}
        while True:
            page = self._json(
                "POST", f"{self.objects_path(object_type)}/search", json=body, search=True, idempotent=True
            )
            yield page
            after = ((page.get("paging") or {}).get("next") or {}).get("after")
            if not after:
                return
            body = {**body, "after": after}

    # -- properties -------------------------------------------------------------------------------

    def properties_path(self, object_type: str) -> str:
        return f"/crm/properties/{self.version}/{object_type}"

    # Reference: https://developers.hubspot.com/docs/api-reference/crm-properties-v3/guide
    def properties(self, object_type: str) -> list[dict[str, Any]]:
        return self._json("GET", self.properties_path(object_type)).get("results", [])

    def property_create(self, object_type: str, definition: Mapping[str, Any]) -> dict[str, Any]:
        """Create a property; an existing one (409) is returned as it is, so concurrent callers agree."""
        try:
            return self._json("POST", self.properties_path(object_type), json=dict(definition), idempotent=True)
        except PermanentError as exc:
            if exc.status != 409:
                raise
        return self.property_read(object_type, definition["name"])

    def property_read(self, object_type: str, name: str) -> dict[str, Any]:
        return self._json("GET", f"{self.properties_path(object_type)}/{name}")

    # Reference: https://developers.hubspot.com/docs/api-reference/crm-properties-v3/batch/create-properties
    def properties_create(self, object_type: str, definitions: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
        """Create properties, 100 a call (one call instead of one per property); one that already exists (a racing
        worker, a 207 error OBJECT_ALREADY_EXISTS naming it) is read as it is. Answers in `definitions`' order;
        any other refusal raises PermanentError naming the property."""
        found: dict[str, dict[str, Any]] = {}
        for chunk in _chunks(list(definitions)):
            path = f"{self.properties_path(object_type)}/batch/create"
            data = self._json("POST", path, json={"inputs": [dict(d) for d in chunk]}, idempotent=True)
            found.update((str(result.get("name")), result) for result in data.get("results", []))
            for error in data.get("errors", []):
                names = [str(n) for n in (error.get("context") or {}).get("name") or []]
                if error.get("category") != "OBJECT_ALREADY_EXISTS" or not names:
                    message = f"{object_type} property {', '.join(names) or '?'} refused: {error.get('message', '')}"
                    raise PermanentError(message, service="HubSpot", category=str(error.get("category", "")))
                found.update((name, self.property_read(object_type, name)) for name in names)
        missing = [d["name"] for d in definitions if d["name"] not in found]
        if missing:
            raise PermanentError(f"{object_type} properties {', '.join(missing)} were not created", service="HubSpot")
        return [found[d["name"]] for d in definitions]

    def property_groups(self, object_type: str) -> list[dict[str, Any]]:
        return self._json("GET", f"{self.properties_path(object_type)}/groups").get("results", [])

    def property_group_create(self, object_type: str, *, name: str, label: str) -> None:
        """Create a property group unless it exists (409 is success)."""
        body = {"name": name, "label": label, "displayOrder": -1}
        # The usual answer after the first run: expected, so not a failed call in the portal's API budget.
        self.call("POST", f"{self.properties_path(object_type)}/groups", json=body, idempotent=True, accept=(409,))

    # -- associations -----------------------------------------------------------------------------

    # Reference: https://developers.hubspot.com/docs/api-reference/crm-associations-v4/guide
    def associate_batch(
        self, from_type: str, to_type: str, pairs: Sequence[tuple[str, str]], *, type_id: int
    ) -> BatchOutcome:
        """Create HUBSPOT_DEFINED associations of `type_id` for (from_id, to_id) pairs; per-pair outcomes."""
        outcome = BatchOutcome(written=[], failed=[])
        path = f"/crm/associations/{self.version}/{from_type}/{to_type}/batch/create"
        spec = [{"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": type_id}]
        for chunk in _chunks(list(pairs), ASSOCIATION_BATCH_LIMIT):
            body = {"inputs": [{"from": {"id": a}, "to": {"id": b}, "types": spec} for a, b in chunk]}
            data = self._json("POST", path, json=body, idempotent=True)
            for result in data.get("results", []):
                key = f"{result.get('fromObjectId')}->{result.get('toObjectId')}"
                outcome.written.append(Written(key, str(result.get("toObjectId")), True))
            for error in data.get("errors", []):
                outcome.failed.append(Failed(_pair_key(error), str(error.get("message")), error.get("category", "")))
        return outcome

    # -- workflow actions -------------------------------------------------------------------------

    # Reference: hubspot-openapi-2026-03/automation-actions.json, POST
    # /automation/actions/callbacks/2026-03/{callbackId}/complete (CallbackCompletionRequest → 204; scope automation)
    def callback_complete(self, callback_id: str, output_fields: Mapping[str, str]) -> None:
        """Finish a blocked workflow-action execution with its outputs (`hs_execution_state` SUCCESS or
        FAIL_CONTINUE). HubSpot records one outcome per callback, so repeating the call is harmless."""
        path = CALLBACK_COMPLETE_PATH.format(version=self.version, callback_id=quote(callback_id, safe=""))
        body = {"outputFields": dict(output_fields), "typedOutputs": {}}
        self.call("POST", path, json=body, idempotent=True)

    # Reference: https://developers.hubspot.com/docs/api-reference/crm-associations-v4/batch/read
    def associations_read(self, from_type: str, to_type: str, ids: Sequence[str]) -> dict[str, set[str]]:
        """The `to_type` ids each of `ids` is associated with (a record with none is answered as a per-input
        404 NO_ASSOCIATIONS_FOUND in a 207, read here as an empty set)."""
        found: dict[str, set[str]] = {str(i): set() for i in ids}
        path = f"/crm/associations/{self.version}/{from_type}/{to_type}/batch/read"
        for chunk in _chunks(list(ids)):
            data = self._json("POST", path, json={"inputs": [{"id": i} for i in chunk]}, idempotent=True)
            for result in data.get("results", []):
                found.setdefault(str(result["from"]["id"]), set()).update(
                    str(to["toObjectId"]) for to in result.get("to", [])
                )
        return found

    # Reference: https://developers.hubspot.com/docs/api-reference/crm-associations-v4/batch/archive
    def dissociate_batch(self, from_type: str, to_type: str, pairs: Sequence[tuple[str, str]]) -> None:
        """Remove every association between each (from_id, to_id) pair."""
        by_source: dict[str, list[str]] = {}
        for from_id, to_id in pairs:
            by_source.setdefault(from_id, []).append(to_id)
        path = f"/crm/associations/{self.version}/{from_type}/{to_type}/batch/archive"
        for chunk in _chunks(list(by_source.items())):
            body = {"inputs": [{"from": {"id": a}, "to": [{"id": b} for b in to_ids]} for a, to_ids in chunk]}
            self.call("POST", path, json=body, idempotent=True)

    # -- pipelines and account --------------------------------------------------------------------

    # Reference: https://developers.hubspot.com/docs/api-reference/crm-pipelines-v3/guide
    def pipelines(self, object_type: str) -> list[dict[str, Any]]:
        return self._json("GET", f"/crm/pipelines/{self.version}/{object_type}").get("results", [])

    def object_available(self, object_type: str) -> bool:
        """Whether the portal has the feature behind `object_type` (commerce subscriptions need HubSpot
        Payments or Stripe; projects the Projects tool): one list call that HubSpot answers with 403
        FEATURE_NOT_ENABLED when it is missing (hubspot-api.md §5.2, §5.3, §10.3)."""
        try:
            self.call("GET", self.objects_path(object_type), params={"limit": 1})
        except PermanentError as exc:
            if exc.category == FEATURE_NOT_ENABLED:
                return False
            raise
        return True

    # Reference: https://developers.hubspot.com/docs/api-reference/account-account-info-v3/guide
    def account_info(self) -> dict[str, Any]:
        return self._json("GET", f"/account-info/{self.version}/details")

"""Models of the fake HubSpot's platform half: accounts, OAuth, rate limits, faults, request log, clock.

State lives in the database so that web and worker processes (and the product's test workers) share it.
CRM data (objects, properties, associations, pipelines) lives in `sandbox.hubspot_crm`, keyed by hub_id.
"""

from __future__ import annotations

from django.db import models


def default_features() -> dict[str, bool]:
    """A new portal's features: projects and payments on, custom objects (Enterprise only) off."""
    return {"projects": True, "payments": True, "custom_objects": False}


class Portal(models.Model):
    """A fake HubSpot account (hub), with the knobs tests turn: features, rate limits, install state."""

    hub_id = models.BigIntegerField(unique=True)
    hub_domain = models.CharField(max_length=200)
    time_zone = models.CharField(max_length=60, default="Europe/Stockholm")
    company_currency = models.CharField(max_length=3, default="SEK")
    additional_currencies = models.JSONField(default=list)
    # STANDARD | DEVELOPER_TEST | SANDBOX | APP_DEVELOPER (account-info PortalInformationResponse).
    account_type = models.CharField(max_length=20, default="STANDARD")
    # The hublet: "na1" or "eu1"; drives uiDomain, dataHostingLocation and the refresh-token prefix.
    data_hosting_location = models.CharField(max_length=10, default="eu1")
    features = models.JSONField(default=default_features)
    installed = models.BooleanField(default=True)
    # None means the module constants in `sandbox.hubspot.ratelimit` (110 per 10 s, 5 per s for search).
    rate_limit_max = models.PositiveIntegerField(null=True, blank=True)
    search_rate_limit_max = models.PositiveIntegerField(null=True, blank=True)
    # None: no daily bucket, as for every OAuth app (hubspot-api.md §6.1); tests set a number to get DAILY 429s.
    daily_rate_limit_max = models.PositiveIntegerField(null=True, blank=True)
    # HubSpot does not document Retry-After on a 429; tests switch it on per portal.
    retry_after_on_429 = models.BooleanField(default=False)
    # Time every API call of the portal takes before it is served, uniformly in latency ± jitter (0: none), so a
    # benchmark sees HubSpot's real round trips (0.3–1 s for a batch call). Slept before any lock is taken.
    latency_ms = models.PositiveIntegerField(default=0)
    latency_jitter_ms = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"hub {self.hub_id}"

    @property
    def ui_domain(self) -> str:
        """`app.hubspot.com` for na1, `app-eu1.hubspot.com` for eu1 (account-info `uiDomain`)."""
        if self.data_hosting_location == "na1":
            return "app.hubspot.com"
        return f"app-{self.data_hosting_location}.hubspot.com"


class RefreshToken(models.Model):
    """A refresh token: long-lived, tied to the portal, the app and the installing user."""

    portal = models.ForeignKey(Portal, on_delete=models.CASCADE, related_name="refresh_tokens")
    token = models.CharField(max_length=100, unique=True)
    scopes = models.JSONField(default=list)
    user_id = models.BigIntegerField(default=1)
    user_email = models.EmailField(default="admin@example.com")
    revoked = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"refresh token for hub {self.portal.hub_id}"


class AccessToken(models.Model):
    """An OAuth access token (30 minutes) and the refresh token it came from."""

    portal = models.ForeignKey(Portal, on_delete=models.CASCADE, related_name="access_tokens")
    # Real tokens are ~300 characters and HubSpot says to allow 512; the fake issues long ones on purpose.
    token = models.CharField(max_length=600, unique=True)
    refresh_token = models.CharField(max_length=100, db_index=True)
    scopes = models.JSONField(default=list)
    user_id = models.BigIntegerField(default=1)
    user_email = models.EmailField(default="admin@example.com")
    expires_at = models.DateTimeField()
    revoked = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"token for hub {self.portal.hub_id}"

    @property
    def expired(self) -> bool:
        """Expired by the fake clock (`sandbox.hubspot.clock`), which tests can move forward."""
        from sandbox.hubspot import clock

        return self.expires_at <= clock.now()


class AuthorizationCode(models.Model):
    """A code from the consent page: single use, 5 minutes, bound to the redirect URI, client and portal."""

    code = models.CharField(max_length=100, unique=True)
    portal = models.ForeignKey(Portal, on_delete=models.CASCADE, related_name="authorization_codes")
    client_id = models.CharField(max_length=200)
    redirect_uri = models.TextField()
    scopes = models.JSONField(default=list)
    user_id = models.BigIntegerField(default=1)
    user_email = models.EmailField(default="admin@example.com")
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"authorization code for hub {self.portal.hub_id}"


class RateHit(models.Model):
    """One call that took a slot in a portal's window ("burst": rolling 10 s, "search": 1 s, "daily": the day)."""

    portal = models.ForeignKey(Portal, on_delete=models.CASCADE, related_name="rate_hits")
    bucket = models.CharField(max_length=10)
    at = models.DateTimeField()

    class Meta:
        indexes = [models.Index(fields=["portal", "bucket", "at"], name="hs_ratehit_window")]

    def __str__(self) -> str:
        return f"{self.bucket} hit at {self.at.isoformat()}"


class Fault(models.Model):
    """A scripted failure: the next `remaining` matching calls get it instead of (or on top of) the real answer.

    `portal` None makes the fault global (it matches any call, with or without a valid token).
    """

    portal = models.ForeignKey(Portal, on_delete=models.CASCADE, null=True, blank=True, related_name="faults")
    method = models.CharField(max_length=10, blank=True, default="")  # "" matches every method
    path_regex = models.CharField(max_length=500, blank=True, default="")  # re.search on the HubSpot path
    remaining = models.PositiveIntegerField(default=1)
    status = models.PositiveSmallIntegerField(null=True, blank=True)
    body = models.TextField(blank=True, default="")
    custom_body = models.BooleanField(default=False)  # False: HubSpot's usual body for `status`
    headers = models.JSONField(default=dict)
    content_type = models.CharField(max_length=100, blank=True, default="")
    delay_seconds = models.FloatField(default=0.0)
    drop_connection = models.BooleanField(default=False)
    # Run the real view; `status`, if set, then replaces its status (e.g. 200 instead of 201).
    passthrough = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"fault {self.method or '*'} {self.path_regex or '*'} x{self.remaining}"


class RequestLog(models.Model):
    """One API or OAuth call the fake answered. Never holds an Authorization header, a token or a secret."""

    at = models.DateTimeField(db_index=True)  # fake-clock time
    hub_id = models.BigIntegerField(null=True, blank=True)
    method = models.CharField(max_length=10)
    path = models.CharField(max_length=1000)  # HubSpot's path (mount prefix removed), tokens redacted
    endpoint = models.CharField(max_length=1000)  # "METHOD path" with record ids as {id}, tokens as {token}
    query = models.TextField(blank=True, default="")
    status = models.PositiveSmallIntegerField()  # 0 when the connection was dropped without an answer
    duration_ms = models.PositiveIntegerField()
    correlation_id = models.CharField(max_length=64)
    rate_limited = models.BooleanField(default=False)
    fault = models.CharField(max_length=60, blank=True, default="")
    request_body = models.TextField(blank=True, default="")  # JSON API bodies only, truncated
    user_agent = models.CharField(max_length=300, blank=True, default="")

    class Meta:
        indexes = [models.Index(fields=["hub_id", "id"], name="hs_reqlog_hub")]

    def __str__(self) -> str:
        return f"{self.method} {self.path} -> {self.status}"


class FakeClock(models.Model):
    """The fake's clock (a single row, pk=1): an offset from real time, or a frozen instant."""

    offset_seconds = models.FloatField(default=0.0)
    frozen_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"clock offset {self.offset_seconds}s frozen={self.frozen_at}"


class WebhookApp(models.Model):
    """The fake app's webhooks component and the webhook fault knobs (a single row, pk=1).

    `component` is the uploaded `webhooks-hsmeta.json` as sent (None: nothing uploaded, so no subscriptions);
    `subscriptions` is its validated, normalised form (`sandbox.hubspot.webhooks.config`). In the database so
    that web and worker processes (and the test process) share it.
    """

    component = models.JSONField(null=True, blank=True)
    subscriptions = models.JSONField(default=list)
    target_url = models.CharField(max_length=2000, blank=True, default="")
    max_concurrent_requests = models.PositiveSmallIntegerField(default=10)
    uploaded_at = models.DateTimeField(null=True, blank=True)
    # Fault injection (`sandbox.hubspot.webhooks.delivery`): copies still to send, one-shot reversal of the next
    # delivery, hold-back of events (fake-clock seconds) and a cap on events per request.
    duplicate_remaining = models.PositiveIntegerField(default=0)
    reorder_next = models.BooleanField(default=False)
    delay_seconds = models.FloatField(default=0.0)
    batch_size = models.PositiveSmallIntegerField(null=True, blank=True)

    def __str__(self) -> str:
        return f"webhooks to {self.target_url or '(none)'}"


class WebhookEvent(models.Model):
    """One webhook event waiting for, or done with, delivery. Its primary key is the event's `eventId`.

    `payload` holds the event's fields except `eventId` and `attemptNumber`, which are added when it is sent
    (`attempts` is the number of tries so far, so the next request carries `attemptNumber = attempts`).
    A deliverer owns the row while `lease_until` (real time) is in the future and `claim` is its token.
    """

    PENDING, DELIVERED, FAILED = "pending", "delivered", "failed"
    STATUSES = (PENDING, DELIVERED, FAILED)

    hub_id = models.BigIntegerField()
    payload = models.JSONField()
    # App-lifecycle events (uninstall) are delivered although the app is no longer installed in the portal.
    lifecycle = models.BooleanField(default=False)
    status = models.CharField(max_length=10, default=PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    due_at = models.DateTimeField()  # fake-clock time from which the next try may be made
    lease_until = models.DateTimeField(null=True, blank=True)
    claim = models.CharField(max_length=40, blank=True, default="")
    created_at = models.DateTimeField()  # fake-clock time
    finished_at = models.DateTimeField(null=True, blank=True)  # delivered or given up (fake clock)
    last_error = models.CharField(max_length=300, blank=True, default="")

    class Meta:
        indexes = [
            models.Index(fields=["status", "due_at"], name="hs_wh_event_due"),
            models.Index(fields=["hub_id", "id"], name="hs_wh_event_hub"),
        ]

    def __str__(self) -> str:
        return f"webhook event {self.pk} ({self.status})"


class WebhookRequest(models.Model):
    """One POST the fake made to the app's target URL, with the events it carried and how it went."""

    hub_id = models.BigIntegerField()
    at = models.DateTimeField()  # fake-clock time the request was sent
    url = models.CharField(max_length=2000)
    event_ids = models.JSONField(default=list)
    attempt_numbers = models.JSONField(default=list)  # `attemptNumber` of each event, in `event_ids` order
    duplicate = models.BooleanField(default=False)  # a copy sent by the `duplicate` fault
    status = models.PositiveSmallIntegerField(null=True, blank=True)  # None: no answer (connection error, timeout)
    ok = models.BooleanField(default=False)
    duration_ms = models.PositiveIntegerField(default=0)
    error = models.CharField(max_length=300, blank=True, default="")

    class Meta:
        indexes = [models.Index(fields=["hub_id", "id"], name="hs_wh_request_hub")]

    def __str__(self) -> str:
        return f"webhook request {self.pk} -> {self.status}"


class WorkflowActionDefinition(models.Model):
    """One custom workflow action of the fake app (`workflow-actions/*-hsmeta.json`, as uploaded).

    Rows are never deleted: an upload without the uid archives it, so past executions keep their definition and
    re-uploading the uid later keeps its `definition_id`. `version` goes up each time the uploaded file changes
    (the `actionDefinitionVersion` HubSpot puts in `origin`).
    """

    uid = models.CharField(max_length=200, unique=True)
    definition_id = models.BigIntegerField(unique=True)
    version = models.PositiveIntegerField(default=1)
    component = models.JSONField()
    position = models.PositiveIntegerField(default=0)  # order in the last upload
    archived = models.BooleanField(default=False)
    uploaded_at = models.DateTimeField()  # fake-clock time of the last upload that changed or kept it

    def __str__(self) -> str:
        return f"workflow action {self.uid} ({self.definition_id} v{self.version})"


class WorkflowExecution(models.Model):
    """One execution of a workflow action for a record, identified by its `callbackId`.

    `attempts` lists every request HubSpot made to the app for it (retries and duplicate copies included).
    `expires_at` (fake clock) is set while BLOCKED: a callback not completed by then fails.
    """

    RUNNING, SUCCEEDED, FAILED, BLOCKED, ERROR = "RUNNING", "SUCCEEDED", "FAILED", "BLOCKED", "ERROR"
    STATES = (RUNNING, SUCCEEDED, FAILED, BLOCKED, ERROR)

    callback_id = models.CharField(max_length=100, unique=True)
    hub_id = models.BigIntegerField()
    definition = models.ForeignKey(WorkflowActionDefinition, on_delete=models.PROTECT, related_name="executions")
    definition_version = models.PositiveIntegerField()
    workflow_id = models.BigIntegerField()
    object_type = models.CharField(max_length=40)  # "DEAL", "COMPANY", …
    object_id = models.BigIntegerField()
    input_fields = models.JSONField(default=dict)
    state = models.CharField(max_length=10, default=RUNNING)
    output_fields = models.JSONField(default=dict)
    failure_reason = models.TextField(blank=True, default="")
    attempts = models.JSONField(default=list)
    # A completion that arrived while the app's answer was still on its way (the app finished its background
    # work first): applied when the BLOCK answer lands, dropped with a note if the answer is not BLOCK.
    early_completion = models.JSONField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField()  # fake clock
    finished_at = models.DateTimeField(null=True, blank=True)  # fake clock: answered, completed or expired

    class Meta:
        indexes = [models.Index(fields=["hub_id", "id"], name="hs_wf_exec_hub")]

    def __str__(self) -> str:
        return f"workflow execution {self.callback_id} ({self.state})"

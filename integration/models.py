"""The product's data model: customer portals, their secrets, sync configuration and sync history.

Invariants live in the database (unique and check constraints), not only in forms, so a race between two
workers or a bad admin edit cannot create a second ObjectSync for the same object, a duplicate synced
record, or two running syncs for one portal × object.
"""

from __future__ import annotations

import zoneinfo

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django_celery_beat.models import PeriodicTask

from integration import catalog
from integration.catalog import Plan
from integration.fields import EncryptedTextField

OBJECT_TYPE_CHOICES = catalog.choices()
PLAN_CHOICES = [(Plan.FREE.value, "Free"), (Plan.PRO.value, "Pro")]


class ConflictRule(models.TextChoices):
    """Who wins when the same two-way field changed on both sides since the last sync."""

    LATEST = "latest", _("The most recent change wins")
    KLEER = "kleer", _("Kleer always wins")
    HUBSPOT = "hubspot", _("HubSpot always wins")


class MatchRule(models.TextChoices):
    """How an unlinked Kleer record finds an existing HubSpot record instead of creating a duplicate."""

    ORGNO_DOMAIN = "orgno_domain", _("Organisation number, then domain (products: SKU, then name)")
    ORGNO = "orgno", _("Organisation number only (products: SKU only)")
    OFF = "off", _("Off: always create")


class SyncDirection(models.TextChoices):
    """Which way a record error happened: the scheduled sync, or a HubSpot edit going back to Kleer."""

    OUTBOUND = "outbound", _("Kleer → HubSpot")
    INBOUND = "inbound", _("HubSpot → Kleer")


class Portal(models.Model):
    """One customer: a HubSpot portal (hub) that installed the app."""

    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        PAUSED = "paused", "Paused"

    hub_id = models.BigIntegerField("HubSpot portal id", unique=True)
    name = models.CharField(max_length=200, blank=True)
    hub_domain = models.CharField(max_length=253, blank=True)
    # The HubSpot account's time zone (account info, read at install); the settings page shows times in it.
    time_zone = models.CharField(max_length=64, blank=True, help_text="Blank: the server's TIME_ZONE.")
    plan = models.CharField(max_length=10, choices=PLAN_CHOICES, default=Plan.FREE.value)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.ACTIVE)
    invoice_history_months = models.PositiveSmallIntegerField(
        default=12,
        validators=[MinValueValidator(1), MaxValueValidator(120)],
        help_text="How far back (by invoice date) invoices are read from Kleer.",
    )
    archive_deleted = models.BooleanField(
        default=False,
        help_text="Archive HubSpot records whose Kleer record is gone. Off: mark them kleer_deleted.",
    )
    conflict_rule = models.CharField(
        max_length=10,
        choices=ConflictRule.choices,
        default=ConflictRule.LATEST,
        help_text="When a field changed in both HubSpot and Kleer since the last sync, which change is kept.",
    )
    match_rule = models.CharField(
        max_length=15,
        choices=MatchRule.choices,
        default=MatchRule.ORGNO_DOMAIN,
        help_text="How a Kleer record without a HubSpot link looks for an existing HubSpot record before one is "
        "created.",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["hub_id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(invoice_history_months__gte=1, invoice_history_months__lte=120),
                name="portal_history_window_range",
            ),
            models.CheckConstraint(condition=Q(plan__in=[p.value for p in Plan]), name="portal_plan_valid"),
        ]

    def __str__(self) -> str:
        return f"{self.hub_id} {self.name}".strip()

    @property
    def zone(self) -> zoneinfo.ZoneInfo:
        """The time zone the portal's pages show times in: the HubSpot account's, else the server's."""
        try:
            return zoneinfo.ZoneInfo(self.time_zone or settings.TIME_ZONE)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            return zoneinfo.ZoneInfo(settings.TIME_ZONE)


class HubSpotInstallation(models.Model):
    """The OAuth grant a portal gave the app. Tokens are encrypted at rest."""

    class Status(models.TextChoices):
        CONNECTED = "connected", "Connected"
        DISCONNECTED = "disconnected", "Disconnected"
        UNINSTALLED = "uninstalled", "Uninstalled"

    portal = models.OneToOneField(Portal, on_delete=models.CASCADE, related_name="installation")
    status = models.CharField(max_length=15, choices=Status.choices, default=Status.CONNECTED)
    access_token = EncryptedTextField(null=True)
    refresh_token = EncryptedTextField(null=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    scopes = models.JSONField(default=list, blank=True)
    installed_by = models.EmailField(blank=True)
    disconnected_reason = models.CharField(max_length=200, blank=True)
    connected_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        # Django would split the class name into "hub spot installation".
        verbose_name = "HubSpot installation"
        verbose_name_plural = "HubSpot installations"

    def __str__(self) -> str:
        return f"HubSpot installation of {self.portal_id} ({self.status})"

    def __repr__(self) -> str:
        return f"<HubSpotInstallation portal={self.portal_id} status={self.status}>"


class KleerCredentials(models.Model):
    """Kleer company id (plain, searchable) and API key (encrypted; only the last 4 chars are kept clear)."""

    portal = models.OneToOneField(Portal, on_delete=models.CASCADE, related_name="kleer_credentials")
    company_id = models.PositiveBigIntegerField("Kleer company id", db_index=True)
    api_key = EncryptedTextField()
    api_key_last4 = models.CharField(max_length=4, blank=True)
    verified_at = models.DateTimeField(null=True, blank=True)
    # Set when Kleer answered 401 to the saved key during a run (revoked or changed in Kleer); cleared when a
    # new key is saved and verified, or a run reads Kleer with it again.
    refused_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "Kleer credentials"
        verbose_name_plural = "Kleer credentials"

    def __str__(self) -> str:
        return f"Kleer company {self.company_id} ({self.masked_key})"

    def __repr__(self) -> str:
        return f"<KleerCredentials portal={self.portal_id} company={self.company_id}>"

    @property
    def masked_key(self) -> str:
        return f"••••{self.api_key_last4}" if self.api_key_last4 else "••••"


class ObjectSync(models.Model):
    """Per portal × Kleer object type: on/off, HubSpot target, schedule and the last outcome."""

    portal = models.ForeignKey(Portal, on_delete=models.CASCADE, related_name="object_syncs")
    object_type = models.CharField(max_length=20, choices=OBJECT_TYPE_CHOICES)
    enabled = models.BooleanField(default=False)
    inbound_enabled = models.BooleanField(
        "HubSpot → Kleer",
        default=False,
        help_text="Take HubSpot edits of two-way mappings back into Kleer (clients and projects only).",
    )
    hubspot_object = models.CharField(max_length=50)
    pipeline_id = models.CharField(max_length=100, blank=True)
    stage_id = models.CharField(max_length=100, blank=True)
    periodic_task = models.OneToOneField(
        PeriodicTask, null=True, blank=True, on_delete=models.SET_NULL, related_name="object_sync"
    )
    schema_checked_at = models.DateTimeField(null=True, blank=True)
    # When a run was last asked for (Sync now, switched on): the tab says "queued" until a run starts after it.
    run_requested_at = models.DateTimeField(null=True, blank=True)
    last_run_at = models.DateTimeField(null=True, blank=True)
    last_outcome = models.CharField(max_length=15, blank=True)
    last_error = models.TextField(blank=True)
    last_duration = models.DurationField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["portal_id", "id"]
        constraints = [
            models.UniqueConstraint(fields=["portal", "object_type"], name="one_object_sync_per_type"),
        ]

    def __str__(self) -> str:
        return f"{self.portal.hub_id} {self.spec.label} → {self.hubspot_object}"

    @property
    def spec(self) -> catalog.ObjectSpec:
        return catalog.get(self.object_type)


class FieldMapping(models.Model):
    """One Kleer field (or a constant, when kleer_field is empty) → one HubSpot property."""

    object_sync = models.ForeignKey(ObjectSync, on_delete=models.CASCADE, related_name="mappings")

    class Direction(models.TextChoices):
        ONE_WAY = "one_way", _("Kleer → HubSpot only")
        TWO_WAY = "two_way", _("Two-way")

    kleer_field = models.CharField(max_length=100, blank=True, help_text="Empty = constant default.")
    hubspot_property = models.CharField(max_length=100)
    default_value = models.CharField(max_length=500, blank=True)
    direction = models.CharField(
        max_length=10,
        choices=Direction.choices,
        default=Direction.ONE_WAY,
        help_text="Two-way: HubSpot edits of this property are written back to the Kleer field.",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["object_sync_id", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["object_sync", "hubspot_property"], name="one_mapping_per_hubspot_property"
            ),
            models.CheckConstraint(
                condition=~Q(kleer_field="") | ~Q(default_value=""),
                name="constant_mapping_needs_default",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kleer_field or 'None'} → {self.hubspot_property}"


class SyncedRecord(models.Model):
    """What we last sent to HubSpot for one Kleer record: its HubSpot id and a fingerprint of the payload."""

    # No index of its own: the two below start with the portal, and every sync batch writes all of a row's indexes.
    portal = models.ForeignKey(Portal, on_delete=models.CASCADE, related_name="synced_records", db_index=False)
    object_type = models.CharField(max_length=20, choices=OBJECT_TYPE_CHOICES)
    kleer_id = models.CharField(max_length=100)
    hubspot_object = models.CharField(max_length=50)
    hubspot_id = models.CharField(max_length=50, blank=True)
    fingerprint = models.CharField(max_length=64, blank=True)
    associations_fingerprint = models.CharField(max_length=64, blank=True)
    # The value both sides agreed on at the last sync, per two-way HubSpot property (HubSpot's string form):
    # the base that tells an echo of our own write, a change on one side and a conflict apart.
    synced_values = models.JSONField(default=dict, blank=True)
    deleted_in_kleer = models.BooleanField(default=False)
    last_synced_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["portal", "object_type", "kleer_id"], name="one_synced_record_per_kleer_id"
            ),
        ]
        indexes = [models.Index(fields=["portal", "hubspot_object", "hubspot_id"])]

    def __str__(self) -> str:
        return f"{self.object_type} {self.kleer_id} → {self.hubspot_object} {self.hubspot_id}"


class SyncRun(models.Model):
    """One execution of the sync for a portal × object type, with its counts (Saleor's EventDelivery)."""

    class Status(models.TextChoices):
        RUNNING = "running", _("Running")
        SUCCEEDED = "succeeded", _("Succeeded")
        PARTIAL = "partial", _("Partial (some records failed)")
        FAILED = "failed", _("Failed")
        SKIPPED = "skipped", _("Skipped")
        ABANDONED = "abandoned", _("Abandoned (worker died)")

    class Trigger(models.TextChoices):
        SCHEDULE = "schedule", "Schedule"
        MANUAL = "manual", "Sync now"
        FULL = "full", "Full resync"
        COMMAND = "command", "Command line"
        RETRY = "retry", "Retry"

    portal = models.ForeignKey(Portal, on_delete=models.CASCADE, related_name="sync_runs")
    object_type = models.CharField(max_length=20, choices=OBJECT_TYPE_CHOICES)
    trigger = models.CharField(max_length=10, choices=Trigger.choices, default=Trigger.SCHEDULE)
    parent = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="children",
        help_text="For line items: the invoice or agreement run they were synced with.",
    )
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.RUNNING)
    # The Celery task that holds the run: its redelivery (the worker died) takes the run over at once.
    task_id = models.CharField(max_length=255, blank=True)
    started_at = models.DateTimeField(auto_now_add=True, db_index=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    read = models.PositiveIntegerField(default=0)
    unchanged = models.PositiveIntegerField(default=0)
    created = models.PositiveIntegerField(default=0)
    updated = models.PositiveIntegerField(default=0)
    failed = models.PositiveIntegerField(default=0)
    skipped = models.PositiveIntegerField(default=0)
    deleted = models.PositiveIntegerField(default=0)
    matched = models.PositiveIntegerField(
        default=0, help_text="Records linked to an existing HubSpot record instead of creating one."
    )
    hubspot_calls = models.PositiveIntegerField(default=0)
    hubspot_throttled = models.PositiveIntegerField(default=0, help_text="HubSpot answers 429 during the run.")
    hubspot_errors = models.PositiveIntegerField(
        default=0, help_text="HubSpot calls that failed (non-2xx or network), retried ones included."
    )
    # Why records were skipped, {reason key: count} (integration.sync.writer.SKIP_REASONS); adds up to `skipped`.
    skipped_reasons = models.JSONField(default=dict, blank=True)
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["-started_at"]
        constraints = [
            # The run lock: at most one running sync per portal × object type.
            models.UniqueConstraint(
                fields=["portal", "object_type"],
                condition=Q(status="running"),
                name="one_running_sync_per_object",
            ),
        ]
        indexes = [models.Index(fields=["portal", "object_type", "-started_at"])]

    def __str__(self) -> str:
        return f"{self.object_type} run {self.pk} ({self.status})"

    @property
    def object_title(self) -> str:
        """The object type's name in the active language ("invoices", "fakturor"), for sentences on the page."""
        return catalog.get(self.object_type).title.lower()

    @property
    def duration(self):  # type: ignore[no-untyped-def]
        return (self.finished_at - self.started_at) if self.finished_at else None


class RecordError(models.Model):
    """A Kleer record that could not be synced (dead letter), retried with backoff, then parked."""

    class Status(models.TextChoices):
        OPEN = "open", _("Open (will retry)")
        PARKED = "parked", _("Parked (retry by hand)")
        RESOLVED = "resolved", _("Resolved")

    portal = models.ForeignKey(Portal, on_delete=models.CASCADE, related_name="record_errors")
    object_type = models.CharField(max_length=20, choices=OBJECT_TYPE_CHOICES)
    kleer_id = models.CharField(max_length=100)
    hubspot_id = models.CharField(max_length=50, blank=True)
    direction = models.CharField(max_length=10, choices=SyncDirection.choices, default=SyncDirection.OUTBOUND)
    run = models.ForeignKey(SyncRun, null=True, blank=True, on_delete=models.SET_NULL)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    category = models.CharField(max_length=60, blank=True)
    # For an ambiguous match: the HubSpot records it could be ([{"id", "name", "reason", "value"}], the reason
    # naming the key that matched and value its HubSpot spelling); support or the customer picks one.
    candidates = models.JSONField(default=list, blank=True)
    message = models.TextField()
    # The sentence the customer reads (which record, which field, what was wrong, what to do); `message` keeps
    # the vendor's raw answer for support.
    customer_message = models.TextField(blank=True)
    payload_excerpt = models.JSONField(default=dict, blank=True)
    attempts = models.PositiveIntegerField(default=1)
    first_seen_at = models.DateTimeField(auto_now_add=True)
    last_seen_at = models.DateTimeField(auto_now=True, db_index=True)
    next_retry_at = models.DateTimeField(null=True, blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-last_seen_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["portal", "object_type", "kleer_id", "direction"],
                condition=~Q(status="resolved"),
                name="one_unresolved_error_per_record_direction",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.object_type} {self.kleer_id}: {self.message[:60]}"


class InboundEvent(models.Model):
    """A webhook event or workflow-action call we received: stored before it is answered, de-duplicated on its
    id, and ended processed, ignored or failed, always with the reason (nothing is dropped silently)."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        PROCESSING = "processing", "Processing"
        PROCESSED = "processed", "Processed"
        IGNORED = "ignored", "Ignored"
        FAILED = "failed", "Failed"

    portal = models.ForeignKey(Portal, null=True, blank=True, on_delete=models.CASCADE)
    hub_id = models.BigIntegerField("HubSpot portal id", null=True, blank=True)
    source = models.CharField(max_length=30)
    event_id = models.CharField(max_length=100)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    subscription_type = models.CharField(max_length=60, blank=True)
    hubspot_object = models.CharField(max_length=50, blank=True)
    object_id = models.CharField(max_length=50, blank=True)
    property_name = models.CharField(max_length=100, blank=True)
    change_source = models.CharField(max_length=60, blank=True)
    occurred_at = models.DateTimeField(null=True, blank=True)
    payload = models.JSONField(default=dict)
    received_at = models.DateTimeField(auto_now_add=True)
    # Set when a worker claims the event; a claim older than the task time limit is a dead worker's.
    claimed_at = models.DateTimeField(null=True, blank=True)
    processed_at = models.DateTimeField(null=True, blank=True)
    error = models.TextField("reason", blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["source", "hub_id", "event_id"], name="one_inbound_event_per_portal_id")
        ]
        indexes = [
            models.Index(fields=["portal", "hubspot_object", "object_id", "status"]),
            models.Index(fields=["status", "received_at"]),
        ]

    def __str__(self) -> str:
        return f"{self.source} {self.event_id}"


class AuditEvent(models.Model):
    """Who changed what, when; before/after values never contain secrets."""

    portal = models.ForeignKey(Portal, null=True, blank=True, on_delete=models.SET_NULL, related_name="audit_events")
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    actor_label = models.CharField(max_length=200)
    action = models.CharField(max_length=60)
    target = models.CharField(max_length=200, blank=True)
    before = models.JSONField(default=dict, blank=True)
    after = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["portal", "-created_at"])]

    def __str__(self) -> str:
        return f"{self.created_at:%Y-%m-%d %H:%M} {self.actor_label} {self.action}"


class RateLimitWindow(models.Model):
    """Moving-window log of recent call times for one rate-limit key (used only when no Redis is set)."""

    key = models.CharField(max_length=120, unique=True)
    hits = models.JSONField(default=list)

    def __str__(self) -> str:
        return self.key


class WorkflowExecution(models.Model):
    """One execution request of a custom workflow action (HubSpot → our `actionUrl`), stored before anything else
    happens: unique per portal and `callbackId`, so a redelivery is answered from here and never runs twice.

    `claim` makes the Kleer write exactly-once per record: the executions that would create a Kleer record for the
    same HubSpot record and Kleer type share a claim ("deals:123:invoices"), and only one row may hold it. The
    intent (`state` *writing*, with `reference`, a key the new Kleer record carries) is committed before Kleer is
    called, so a retry after a crash finds the record in Kleer instead of creating a second one.
    """

    class State(models.TextChoices):
        QUEUED = "queued", "Queued"
        WRITING = "writing", "Writing to Kleer"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"

    portal = models.ForeignKey(
        Portal, null=True, blank=True, on_delete=models.CASCADE, related_name="workflow_executions"
    )
    hub_id = models.BigIntegerField("HubSpot portal id")
    callback_id = models.CharField(max_length=255)
    action = models.CharField(max_length=40)
    object_type = models.CharField("enrolled object type", max_length=20)
    object_id = models.CharField("enrolled record id", max_length=50)
    workflow_id = models.CharField(max_length=50, blank=True)
    inputs = models.JSONField(default=dict, blank=True)
    state = models.CharField(max_length=10, choices=State.choices, default=State.QUEUED)
    outcome = models.CharField(max_length=20, blank=True, help_text="created, updated, exists or failed.")
    reason = models.TextField(blank=True, help_text="What the workflow history shows: the failure or what exists.")
    kleer_id = models.CharField(max_length=100, blank=True)
    reference = models.CharField(
        max_length=100, blank=True, help_text="Key the Kleer record carries (foreign-id), to find it after a crash."
    )
    intent = models.JSONField(default=dict, blank=True)
    # NULL, not "": the unique constraint on (portal, claim) must ignore executions that hold no claim.
    claim = models.CharField(max_length=120, null=True, blank=True)  # noqa: DJ001
    attempts = models.PositiveIntegerField(default=0)
    # Set while a worker runs the execution: a second delivery of the same task waits instead of running it twice
    # at once. A dead worker's lease runs out after the task time limit, before the broker redelivers its task.
    leased_until = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(
        null=True, blank=True, help_text="When HubSpot accepted the outcome through the callback-completion API."
    )
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["hub_id", "callback_id"], name="one_workflow_execution_per_callback"),
            models.UniqueConstraint(
                fields=["portal", "claim"], condition=Q(claim__isnull=False), name="one_workflow_claim_per_record"
            ),
        ]
        indexes = [models.Index(fields=["portal", "-created_at"]), models.Index(fields=["state", "created_at"])]

    def __str__(self) -> str:
        return f"{self.action} on {self.object_type} {self.object_id} ({self.state})"

    @property
    def finished(self) -> bool:
        return self.state in (self.State.SUCCEEDED, self.State.FAILED)


class MetricValue(models.Model):
    """A counter or gauge behind `/metrics`, shared by every process (used only when no Redis is set).

    `key` is the metric name and its labels (`integration/metrics.py` `metric_key`); counters are raised with
    an UPDATE … value + n, so concurrent workers never lose an increment."""

    key = models.CharField(max_length=200, unique=True)
    value = models.FloatField(default=0)

    def __str__(self) -> str:
        return f"{self.key} = {self.value:g}"

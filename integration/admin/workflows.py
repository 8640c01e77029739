"""Workflow-action executions for support: which portal ran which action on which record, with what inputs, and
what came of it (outcome, reason, Kleer id, whether HubSpot has the outcome). Read-only."""

from __future__ import annotations

from django.contrib import admin
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.text import Truncator

from integration import models
from integration.admin.common import ReadOnlyAdmin, badge, pretty_json
from integration.admin.filters import PortalIdFilter, age_filter
from integration.admin.runs import PortalColumnMixin

STATE_TONES = {"succeeded": "ok", "failed": "bad", "writing": "warn", "queued": ""}


@admin.register(models.WorkflowExecution)
class WorkflowExecutionAdmin(PortalColumnMixin, ReadOnlyAdmin):
    list_display = [
        "created_at", "portal_col", "action", "record", "state_col", "outcome", "kleer_id", "reason_short",
        "attempts", "completed_at",
    ]  # fmt: skip
    list_filter = [PortalIdFilter, "action", "state", "outcome", age_filter("created_at", "received")]
    list_select_related = ["portal"]
    search_fields = ["=callback_id", "=object_id", "=kleer_id", "=reference"]
    search_help_text = "callbackId, HubSpot record id, Kleer id or the reference sent to Kleer."
    fields = [
        "created_at", "portal_col", "hub_id", "action", "record", "workflow_id", "callback_id", "inputs_json",
        "state_col", "outcome", "reason", "kleer_id", "reference", "attempts", "finished_at", "completed_at",
    ]  # fmt: skip
    readonly_fields = ["portal_col", "record", "inputs_json", "state_col"]

    @admin.display(description="Record", ordering="object_id")
    def record(self, obj: models.WorkflowExecution) -> str:
        return f"{obj.object_type.lower()} {obj.object_id}"

    @admin.display(description="State", ordering="state")
    def state_col(self, obj: models.WorkflowExecution) -> SafeString:
        return badge(obj.get_state_display(), STATE_TONES.get(obj.state, ""))

    @admin.display(description="Reason")
    def reason_short(self, obj: models.WorkflowExecution) -> str:
        return Truncator(obj.reason).chars(120)

    @admin.display(description="Inputs")
    def inputs_json(self, obj: models.WorkflowExecution) -> SafeString:
        return pretty_json(obj.inputs) if obj.inputs else format_html("{}", "—")

"""Custom workflow actions in the fake HubSpot: the app's definitions, runs against the app, the completion API.

Modules: `definitions` (the `workflow-action` component files, validated and stored), `execution` (the signed
request, retries, reading the answer), `runs` (executions: run, settle, complete, read), `callbacks` (HubSpot's
completion endpoints), `views` (control endpoints). The names below are the ones tests and `sandbox_seed` use.
"""

from __future__ import annotations

from typing import Any


def workflow_actions_deploy(components: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Upload the app's workflow-action components (see `definitions.workflow_actions_deploy`)."""
    from sandbox.hubspot.workflows import definitions

    return definitions.workflow_actions_deploy(components)

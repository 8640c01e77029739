"""The audit log: who changed what, when, with before/after values (never secrets)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from integration.models import AuditEvent, Portal

SECRET_KEYS = {"api_key", "access_token", "refresh_token", "token", "password", "client_secret"}


@dataclass(frozen=True)
class Actor:
    """Who acts: a staff user, a customer's portal session, or the system itself."""

    label: str
    user: Any = None

    @classmethod
    def system(cls) -> Actor:
        return cls(label="system")

    @classmethod
    def staff(cls, user: Any) -> Actor:
        return cls(label=f"staff:{user.email}", user=user)

    @classmethod
    def portal_user(cls, *, hub_id: int, email: str = "", user_id: int | None = None) -> Actor:
        who = email or (f"user {user_id}" if user_id else "unknown user")
        return cls(label=f"portal {hub_id}: {who}")


def _printable(value: Any) -> Any:
    """PostgreSQL's jsonb and text refuse NUL characters; an audit event must never fail on one (the change it
    records has already happened), so they are written as the visible escape instead."""
    if isinstance(value, str):
        return value.replace("\x00", "\\u0000")
    if isinstance(value, dict):
        return {_printable(k): _printable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_printable(v) for v in value]
    return value


def _scrub(values: dict[str, Any]) -> dict[str, Any]:
    return {_printable(k): ("••••" if k in SECRET_KEYS else _printable(v)) for k, v in values.items()}


def audit_record(
    *,
    portal: Portal | None,
    actor: Actor,
    action: str,
    target: str = "",
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> AuditEvent:
    """Append one audit event; secret-looking keys are masked whatever the caller passed."""
    return AuditEvent.objects.create(
        portal=portal,
        actor=actor.user,
        actor_label=_printable(actor.label)[:200],
        action=action,
        target=_printable(target)[:200],
        before=_scrub(before or {}),
        after=_scrub(after or {}),
    )

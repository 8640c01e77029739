"""Errors the fake Kleer answers with `{"message": …}` (kleer-api.md §1.10)."""

from __future__ import annotations


class KleerError(Exception):
    """An error with a fixed HTTP status and Kleer's `error {message}` body."""

    status = 500

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        # A status given here wins over the company's configured statuses (see gateway.error_reply).
        self.explicit_status = status is not None
        if status is not None:
            self.status = status


class BusinessError(KleerError):
    """A business-rule or validation failure: HTTP 500 in Kleer (§1.10), or the company's configured status."""


class NotFound(KleerError):
    """An unknown id: 404 by default (§5.3 [I]); the gateway may turn it into a 500 per company option."""

    status = 404

    def __init__(self, entity: str, kleer_id: object) -> None:
        super().__init__(f"{entity} with id {kleer_id} not found")
        self.entity = entity
        self.kleer_id = kleer_id


class Unauthorized(KleerError):
    """Missing or unknown `X-Token` (§1.2)."""

    status = 401


class Forbidden(KleerError):
    """A token used for another company, or a read-only token on a write (§5.1 [I])."""

    status = 403

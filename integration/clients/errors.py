"""Error classes of the outbound HTTP layer (healthchecks' TransportError(permanent=...) pattern)."""

from __future__ import annotations


class ApiError(Exception):
    """A call to Kleer or HubSpot failed. `permanent` says whether retrying can help."""

    permanent = False

    def __init__(
        self,
        message: str,
        *,
        service: str,
        status: int | None = None,
        category: str = "",
        correlation_id: str = "",
        retry_after: float | None = None,
        body: object = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.service = service
        self.status = status
        self.category = category
        self.correlation_id = correlation_id
        self.retry_after = retry_after
        self.body = body

    def __str__(self) -> str:
        status = f" (HTTP {self.status})" if self.status else ""
        return f"{self.service}: {self.message}{status}"


class PermanentError(ApiError):
    """400/401-after-refresh/403/404: the same call will fail again until someone changes something."""

    permanent = True


class TransientError(ApiError):
    """Timeouts, dropped connections, 429, 423, 5xx: worth retrying later."""


class RescheduleError(TransientError):
    """The service asked us to wait longer than a worker should sleep (e.g. 477 with a long Retry-After).

    The run stops cleanly and the caller reschedules it after `retry_after` seconds.
    """


class AuthenticationError(PermanentError):
    """Credentials are wrong or revoked (Kleer 401/403, HubSpot 401 after a refresh)."""

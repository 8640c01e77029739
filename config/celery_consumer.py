"""The worker's consumer, made to survive a Redis broker that restarts while tasks run (issue 16, item 6).

On a lost connection Celery 5.7's consumer collects and closes it, and both steps detach kombu's Redis channels
from the connection's settings. Two things then end the worker ("Unrecoverable error: AttributeError") instead of
letting it reconnect: closing the task channel restores its unacknowledged messages through a client it can no
longer build, and the running task's acknowledgement, sent on that channel when the task ends, needs one too.
Where the restore did get through (the broker back within redis-py's retries), it would put the message of a
task that is still running back on the queue, and a second run of the same object would start beside it.

So, on a lost connection only, the old channels keep their connection settings (the acknowledgement reaches the
broker once it is back; while it is down, kombu logs the failure) and do not restore: the running task's message
stays in the broker's unacknowledged set until its task acknowledges it, or comes back after the visibility
timeout if the worker dies. A warm shutdown still restores what was reserved and not started, as before.
"""

from __future__ import annotations

from typing import Any

from celery.worker.consumer import Consumer


class BrokerLossConsumer(Consumer):
    """Celery's consumer; on a lost broker connection its old channels neither restore nor lose their settings."""

    def on_connection_error_after_connected(self, exc: Exception) -> None:
        transport = getattr(self.connection, "_transport", None)
        for channel in list(getattr(transport, "channels", ())):
            _keep_settings_without_restore(channel)
        super().on_connection_error_after_connected(exc)


def _keep_settings_without_restore(channel: Any) -> None:
    channel.do_restore = False
    connparams = getattr(channel, "_connparams", None)  # kombu's Redis channel only
    if connparams is None:
        return
    try:
        params = connparams()
    except AttributeError:  # already detached: nothing to keep
        return
    channel._connparams = lambda asynchronous=False: dict(params)  # the client it builds later is a plain one

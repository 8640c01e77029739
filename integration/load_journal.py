"""Which Celery messages were published and which were started, as every process of `load_bench` saw them.

`load_bench` (integration/load_bench.py) counts lost and duplicated runs per message: a message published and
never started, or started more often than it was published. Beat, the workers and the bench itself record
both events through Celery's signals into one JSON-lines file per process (`<dir>/<pid>.jsonl`, appended with
single `write`s), so the product's code is measured unchanged. Beat and the workers are started through this
module: `python -m integration.load_journal DIR ROLE <celery arguments>`, which connects the signals, then
runs the `celery` command as usual. Imports nothing from Django: it runs before Celery loads the settings.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path
from typing import Any

from celery import signals

SENT_AT_HEADER = "kh_sent_at"  # integration.queues.SENT_AT_HEADER, stamped before publishing

_state: dict[str, Any] = {"dir": None, "role": "", "fds": {}}


def _write(record: dict[str, Any]) -> None:
    """Append one line to this process's file (prefork children get their own file: their pid differs)."""
    pid = os.getpid()
    fd = _state["fds"].get(pid)
    if fd is None:
        path = Path(_state["dir"]) / f"{pid}.jsonl"
        fd = _state["fds"][pid] = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    os.write(fd, (json.dumps(record, default=str) + "\n").encode())


def _published(sender: str | None = None, body: Any = None, headers: dict | None = None, **kw: Any) -> None:
    headers = headers or {}
    args, kwargs = (body[0], body[1]) if isinstance(body, (list, tuple)) and len(body) >= 2 else ([], {})
    _write(
        {
            "event": "published",
            "id": headers.get("id"),
            "task": headers.get("task") or sender,
            "queue": kw.get("routing_key"),
            "args": args,
            "kwargs": kwargs,
            "sent_at": float(headers.get(SENT_AT_HEADER) or time.time()),
            "eta": headers.get("eta"),
            "role": _state["role"],
        }
    )


def _started(task_id: str | None = None, task: Any = None, **kw: Any) -> None:
    request = getattr(task, "request", None)
    _write(
        {
            "event": "started",
            "id": task_id,
            "task": getattr(task, "name", ""),
            "at": time.time(),
            "retries": getattr(request, "retries", 0),
            "role": _state["role"],
        }
    )


def journal_install(directory: Path | str, role: str) -> None:
    """Record every publish and every task start of this process (and of the processes it forks)."""
    _state["dir"], _state["role"] = str(directory), role
    Path(directory).mkdir(parents=True, exist_ok=True)
    signals.after_task_publish.connect(_published, weak=False)
    signals.task_prerun.connect(_started, weak=False)


def journal_read(directory: Path | str) -> list[dict[str, Any]]:
    """Every event recorded under `directory`, in no particular order."""
    events = []
    for path in sorted(Path(directory).glob("*.jsonl")):
        for line in path.read_text().splitlines():
            if line.strip():
                events.append(json.loads(line))
    return events


def main(argv: list[str]) -> None:
    """`python -m integration.load_journal DIR ROLE <celery arguments>`."""
    directory, role, *celery_args = argv
    journal_install(directory, role)
    sys.argv = ["celery", *celery_args]
    from celery.__main__ import main as celery_main

    celery_main()


if __name__ == "__main__":
    main(sys.argv[1:])

"""Real Celery worker and beat processes for tests, on Redis, against this test's database and live server.

Each test gets its own queue name, so tests running at once under xdist (one test database each) on the same
Redis database never consume each other's messages. Processes run in their own session and are killed by
process group in teardown, so a prefork pool's children never outlive the test.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import kombu.exceptions
import pytest
import redis
from celery import Celery
from django.conf import settings
from django.db import connection

BASE_DIR = Path(__file__).resolve().parents[2]
SYNC_TASK = "integration.tasks.object_sync_run"
READY_TIMEOUT = 30.0


def database_url() -> str:
    """The URL of the database this test runs against (pytest-django's test_* copy), for a subprocess."""
    db = connection.settings_dict
    user = db.get("USER") or ""
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    credentials = f"{user}{password}@" if user else ""
    return f"postgres://{credentials}{db.get('HOST') or '127.0.0.1'}:{db.get('PORT') or 5432}/{db['NAME']}"


def wait_for(predicate: Callable[[], Any], *, timeout: float, interval: float = 0.1, what: str = "") -> Any:
    """Poll until `predicate()` is truthy and return its value; AssertionError naming `what` on timeout."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:g} s waiting for {what or predicate}")
        time.sleep(interval)


@dataclass
class CeleryProcess:
    name: str
    popen: subprocess.Popen
    log_path: Path
    node: str = ""  # a worker's node name (for pings)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


@dataclass
class CeleryCluster:
    """Worker and beat subprocesses of one test, a producer on the same broker, and their logs."""

    redis_url: str
    live_server_url: str
    log_dir: Path
    queue: str = field(default_factory=lambda: f"test-{uuid.uuid4().hex[:12]}")
    processes: list[CeleryProcess] = field(default_factory=list)

    def __post_init__(self) -> None:
        # A producer of our own: the product's app is configured eager for the test process, and what the
        # worker receives from it is exactly what beat or `.delay()` would send (JSON, same task name, and the
        # product's router, which reads this test's queue names from the settings: see `routed`).
        self.producer = Celery("test-producer", broker=self.redis_url, set_as_current=False)
        self.producer.conf.update(
            task_serializer="json",
            accept_content=["json"],
            broker_connection_retry=False,
            task_routes=("integration.queues.route_task",),
        )

    @property
    def interactive(self) -> str:
        """This test's interactive queue (the product's CELERY_QUEUE_INTERACTIVE in its processes)."""
        return f"{self.queue}-interactive"

    @property
    def scheduled(self) -> str:
        return f"{self.queue}-scheduled"

    def queues(self) -> list[str]:
        return [self.queue, self.interactive, self.scheduled]

    def env(self, **extra: str) -> dict[str, str]:
        base = self.live_server_url
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "config.settings.test",
            "CELERY_TASK_ALWAYS_EAGER": "false",
            "CELERY_BROKER_URL": self.redis_url,
            "DATABASE_URL": database_url(),
            "PUBLIC_BASE_URL": base,
            "KLEER_API_BASE": f"{base}/sandbox/kleer/v1",
            "HUBSPOT_API_BASE": f"{base}/sandbox/hubspot",
            "HUBSPOT_AUTHORIZE_URL": f"{base}/sandbox/hubspot/oauth/authorize",
            # Rate-limit windows in this test's database: hub ids repeat across xdist databases.
            "TEST_REDIS_URL": "",
            "PYTHONUNBUFFERED": "1",
            "CELERY_QUEUE_INTERACTIVE": self.interactive,
            "CELERY_QUEUE_SCHEDULED": self.scheduled,
        }
        env.update(extra)
        return env

    def _spawn(self, name: str, args: list[str], env: dict[str, str]) -> CeleryProcess:
        log_path = self.log_dir / f"{name}.log"
        with log_path.open("wb") as log:
            popen = subprocess.Popen(
                [sys.executable, "-m", "celery", "-A", "config.celery_app", *args],
                cwd=BASE_DIR,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group: teardown kills the pool's children too
            )
        process = CeleryProcess(name=name, popen=popen, log_path=log_path)
        self.processes.append(process)
        return process

    def start_worker(
        self, *, name: str = "w1", concurrency: int = 1, queues: list[str] | None = None, **env: str
    ) -> CeleryProcess:
        """A worker on this test's queue (or `queues`); returns once it answers a ping. concurrency 1 = solo pool."""
        node = f"{name}-{self.queue}@localhost"
        pool = ["--pool", "solo"] if concurrency == 1 else ["--pool", "prefork", "--concurrency", str(concurrency)]
        args = ["worker", "-Q", ",".join(queues or [self.queue]), "-n", node, *pool, "--loglevel", "INFO"]
        args += ["--without-gossip", "--without-mingle", "--without-heartbeat"]
        process = self._spawn(name, args, self.env(**env))
        process.node = node
        self.wait_ready(process)
        return process

    def start_beat(self, **env: str) -> CeleryProcess:
        """Beat with the product's scheduler (integration.beat.FleetScheduler), checking every second."""
        args = ["beat", "--scheduler", "integration.beat:FleetScheduler", "--max-interval", "1"]
        args += ["--loglevel", "INFO", "--schedule", str(self.log_dir / "celerybeat-schedule")]
        return self._spawn("beat", args, self.env(**env))

    def wait_ready(self, process: CeleryProcess) -> None:
        """Return once the worker answers a ping (started, or connected to the broker again)."""
        node = process.node
        deadline = time.monotonic() + READY_TIMEOUT
        while time.monotonic() < deadline:
            if process.popen.poll() is not None:
                raise AssertionError(f"worker {node} exited with {process.popen.returncode}:\n{process.log()}")
            try:
                if self.producer.control.ping(destination=[node], timeout=0.5):
                    return
            except (redis.RedisError, kombu.exceptions.OperationalError):
                # The broker restarted under the producer's pooled connections: drop them, connect again.
                self.producer.close()
                time.sleep(0.1)
        raise AssertionError(f"worker {node} not ready after {READY_TIMEOUT:g} s:\n{process.log()}")

    def send(self, *, object_sync_id: int, trigger: str | None = None) -> str:
        """Queue object_sync_run on this test's queue, as the product's `.delay()` would."""
        kwargs: dict[str, Any] = {"object_sync_id": object_sync_id}
        if trigger is not None:
            kwargs["trigger"] = trigger
        return self.producer.send_task(SYNC_TASK, kwargs=kwargs, queue=self.queue).id

    def send_routed(self, *, object_sync_id: int, trigger: str) -> str:
        """Queue object_sync_run where the product's router puts it (the test's settings name the queues)."""
        return self.producer.send_task(SYNC_TASK, args=[object_sync_id, trigger]).id

    def kill(self, process: CeleryProcess) -> None:
        """SIGKILL the whole process group (a crash: no warm shutdown, no message restored)."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.popen.pid, signal.SIGKILL)
        process.popen.wait(timeout=10)

    def unacked_messages(self) -> list[dict[str, Any]]:
        """Messages of this test's queue that a consumer took and never acknowledged (kombu's `unacked` hash)."""
        client = redis.Redis.from_url(self.redis_url)
        found = []
        for raw in client.hvals("unacked"):
            message, _exchange, routing_key = json.loads(raw)
            if routing_key == self.queue:
                found.append(message)
        return found

    def logs(self) -> str:
        return "\n".join(f"===== {p.name} (pid {p.popen.pid}) =====\n{p.log()}" for p in self.processes)

    def stop(self) -> None:
        """Stop every process (SIGTERM to the main process: a warm shutdown that lets a prefork pool stop its own
        children; then SIGKILL to whatever is left of its group) and drop what this test left on the broker."""
        for process in self.processes:
            if process.popen.poll() is None:
                process.popen.terminate()
        for process in self.processes:
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.popen.wait(timeout=10)
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.popen.pid, signal.SIGKILL)
            process.popen.wait(timeout=10)
        self._purge()
        self.producer.close()

    def _purge(self) -> None:
        client = redis.Redis.from_url(self.redis_url)
        for queue in self.queues():
            # The queue, and the bindings of the exchange named after it that Celery declared for it.
            client.delete(queue, f"_kombu.binding.{queue}", f"_kombu.binding_permanent.{queue}")
        for tag, raw in client.hgetall("unacked").items():
            if json.loads(raw)[2] in self.queues():
                client.hdel("unacked", tag)
                client.zrem("unacked_index", tag)


def redis_url_or_skip() -> str:
    if not settings.REDIS_URL:
        pytest.skip("no Redis (TEST_REDIS_URL) configured: the real-worker tests need a Redis broker")
    if connection.vendor != "postgresql":
        pytest.skip("real-worker tests need PostgreSQL: a worker process cannot open pytest's SQLite test database")
    try:
        redis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=2).ping()
    except redis.RedisError as exc:
        pytest.skip(f"Redis at TEST_REDIS_URL does not answer: {exc}")
    return settings.REDIS_URL


@dataclass
class RedisServer:
    """A redis-server of one test's own on a free port, to stop and start without touching the shared one."""

    data_dir: Path
    port: int = 0
    popen: subprocess.Popen | None = None

    def url(self, db: int = 0) -> str:
        return f"redis://127.0.0.1:{self.port}/{db}"

    def start(self) -> None:
        """Start (again, on the same port and data directory: an append-only file there is loaded)."""
        if not self.port:
            self.port = free_port()
        self.data_dir.mkdir(parents=True, exist_ok=True)
        args = ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--dir", str(self.data_dir)]
        args += ["--appendonly", "yes", "--save", "", "--daemonize", "no", "--logfile", ""]
        log = (self.data_dir.parent / "redis-server.log").open("ab")
        self.popen = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        client = redis.Redis.from_url(self.url(), socket_connect_timeout=0.5)
        wait_for(lambda: _answers(client), timeout=10, what=f"redis-server on port {self.port}")

    def stop(self, *, keep_data: bool) -> None:
        """SHUTDOWN (the append-only file is flushed first); without `keep_data` its files are removed too."""
        client = redis.Redis.from_url(self.url(), socket_connect_timeout=0.5)
        with contextlib.suppress(redis.ConnectionError):
            client.shutdown(save=keep_data, nosave=not keep_data)
        assert self.popen is not None
        self.popen.wait(timeout=10)
        if not keep_data:
            for path in self.data_dir.rglob("*"):
                if path.is_file():
                    path.unlink()

    def kill(self) -> None:
        if self.popen is not None and self.popen.poll() is None:
            self.popen.kill()
            self.popen.wait(timeout=10)


def _answers(client: redis.Redis) -> bool:
    try:
        return bool(client.ping())
    except redis.RedisError:
        return False


def free_port() -> int:
    """A local port nothing listens on now (bound, then released)."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]

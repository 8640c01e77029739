"""A beat scheduler that holds thousands of portals' schedules without stalling.

django-celery-beat's `DatabaseScheduler` keeps every schedule a `PeriodicTask` row that ops edit in the admin,
which we keep. What it cannot do at fleet size (README "Schedules at fleet size", issue 17): each tick compares
the old and new schedule dicts entry by entry (145 ms at 50,000 rows), every saved row makes it reload the whole
table and rebuild its heap (seconds at 50,000), it reloads everything every 5 minutes anyway, and it writes
`last_run_at` back one row (two queries) at a time.

`FleetScheduler` changes only the bookkeeping around the same rows and `ModelEntry` objects:
- a heap of `(due, version, name)`; an edit pushes the row's new due time with a new version, and the old heap
  item is dropped lazily when it surfaces, so nothing is rebuilt and no tick compares schedules;
- on a change signal (`PeriodicTasks.last_update`) it reads only rows whose `date_changed` moved; when the
  signal has no such row within a few seconds (a queryset `update()` from the admin's enable/disable actions, an
  edited `IntervalSchedule`, a delete) or every `reconcile_seconds`, it compares a narrow fingerprint of every row and
  rebuilds only the entries that differ;
- `last_run_at` and `total_run_count` go back in bulk, without signals, so beat's own writes never look like
  edits;
- beat remembers each entry's last send and the `last_run_at` values the row held before it: a save carrying one
  of those back (an object read before the write-back and saved after it) is stale and cannot double a run;
- entries found overdue when beat starts (the catch-up after an outage or a restart) are spread over as long as
  they piled up for, at most one interval and `catch_up_spread_seconds`, by a stable hash of the name, so the
  fleet does not fire in one burst and stay aligned; an entry saved to be due (run soon, an ops reset) is not.
"""

from __future__ import annotations

import hashlib
import heapq
import itertools
import logging
import time
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any, NamedTuple

from celery.schedules import schedule as interval_schedule
from celery.utils.time import maybe_make_aware
from django.db import DatabaseError, InterfaceError, close_old_connections, connection, transaction
from django_celery_beat.models import ClockedSchedule, CrontabSchedule, IntervalSchedule, PeriodicTask, SolarSchedule
from django_celery_beat.schedulers import DatabaseScheduler, ModelEntry

logger = logging.getLogger(__name__)

# What makes two versions of a row schedule differently (last_run_at and the counters are beat's own state).
ROW_FIELDS = (
    "task", "args", "kwargs", "queue", "exchange", "routing_key", "priority", "headers", "expires",
    "expire_seconds", "one_off", "start_time", "enabled", "interval_id", "crontab_id", "solar_id", "clocked_id",
)  # fmt: skip
SCHEDULE_MODELS = {"interval": IntervalSchedule, "crontab": CrontabSchedule, "solar": SolarSchedule}
SCHEDULE_MODELS["clocked"] = ClockedSchedule
SYNC_SQL = f"UPDATE {PeriodicTask._meta.db_table} SET last_run_at = %s, total_run_count = %s WHERE id = %s"
# A row saved just before our last look may commit just after it: re-read this much (re-reads are cheap no-ops).
COMMIT_OVERLAP = timedelta(seconds=10)
# How many earlier last_run_at values of an entry are recognised as stale (more than one only when an entry runs
# more often than beat writes back, every 3 minutes).
STALE_VALUES_KEPT = 4


class Run(NamedTuple):
    """Beat's last send of one entry: what it wrote (or will write) to the row, and what the row held before."""

    at: datetime
    count: int
    pk: int
    before: tuple[datetime, ...]


def spread_fraction(name: str) -> float:
    """A stable fraction in [0, 1) per entry name (Python's hash() changes between processes)."""
    return int.from_bytes(hashlib.blake2b(name.encode(), digest_size=8).digest(), "big") / 2**64


class FleetScheduler(DatabaseScheduler):
    """`DatabaseScheduler` with an incremental heap, incremental reloads and bulk `last_run_at` writes."""

    #: Seconds between looks at the change marker (one indexed single-row query).
    change_check_seconds = 1.0
    #: Seconds between full fingerprint comparisons (catches what no signal announced).
    reconcile_seconds = 300.0
    #: Seconds a change signal may wait for its row before every row is compared (see `_change_unexplained`).
    unexplained_change_grace_seconds = 3.0
    #: Longest spread of the entries found overdue at start-up (each also within its interval and how late it is).
    catch_up_spread_seconds = 900.0

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._versions: dict[str, int] = {}
        self._row_keys: dict[str, tuple] = {}
        self._row_stamps: dict[str, datetime] = {}
        self._runs: dict[str, Run] = {}
        self._resumed_at: float | None = None
        self._unexplained_at: float | None = None
        self._schedule_keys: dict[tuple[str, int], tuple] = {}
        self._counter = itertools.count()
        self._since: datetime | None = None
        self._next_check = 0.0
        self._next_reconcile = 0.0
        super().__init__(*args, **kwargs)

    # --- loading -------------------------------------------------------------------------------------------
    @property
    def schedule(self) -> dict[str, ModelEntry]:
        if self._schedule is None:
            self._load_all()
        else:
            self._refresh()
        return self._schedule

    def _rows(self, **filters: Any) -> Iterable[PeriodicTask]:
        return PeriodicTask.objects.filter(**filters).select_related(*SCHEDULE_MODELS)

    def _load_all(self) -> None:
        started = time.monotonic()
        close_old_connections()
        self._last_timestamp = self.Changes.last_change()  # read first: a later change is then seen
        self._schedule = {}
        for model in self._rows():
            self._apply_row(model, push=False)
        self._schedule_keys = _schedule_keys()
        self._next_reconcile = time.monotonic() + self.reconcile_seconds
        self._resumed_at = time.time()  # whatever fell due before now was missed: the catch-up is spread
        self.populate_heap()
        self._initial_read = False
        logger.info("beat: %d schedules loaded in %.1f s", len(self._schedule), time.monotonic() - started)

    def _refresh(self) -> None:
        now = time.monotonic()
        if now < self._next_check:
            return
        self._next_check = now + self.change_check_seconds
        try:
            if now >= self._next_reconcile:
                self._reconcile()
            elif (self.schedule_changed() or self._unexplained_at is not None) and not self._apply_recent():
                self._change_unexplained(now)
        except (DatabaseError, InterfaceError):
            logger.exception("beat: could not read schedule changes; keeping the current schedule")

    def _change_unexplained(self, now: float) -> None:
        """A change signal without a fresh row: reconcile, unless the row turns up within the grace.

        No row comes with an update() (the admin's enable/disable actions), an edited schedule table or a delete.
        But a save bumps the signal in `pre_save`, committed before its row: under load, or while the row waits
        on beat's write-back, beat sees the signal first, and a whole-table comparison per such save cost CPU
        and memory at 50,000 rows. So the recent rows are looked at again for a few seconds first.
        """
        if self._unexplained_at is None:
            self._unexplained_at = now
        if now - self._unexplained_at >= self.unexplained_change_grace_seconds:
            self._reconcile()

    def _apply_recent(self) -> bool:
        """Apply rows saved since the last look; False when the change signal had no such row."""
        since = self._since
        if since is None:
            return False
        recent = PeriodicTask.objects.filter(date_changed__gt=since - COMMIT_OVERLAP)
        stamps = dict(recent.values_list("name", "date_changed"))
        changed = [name for name, stamp in stamps.items() if stamp != self._row_stamps.get(name)]
        for row in self._rows(name__in=changed):
            self._apply_row(row)
        if any(stamp > since for stamp in stamps.values()):
            self._unexplained_at = None
            return True
        return False

    def _reconcile(self) -> None:
        """Compare every row's fingerprint and rebuild only the entries that differ."""
        started = time.monotonic()
        self._next_reconcile = started + self.reconcile_seconds
        self._unexplained_at = None
        self._last_timestamp = self.Changes.last_change()
        current = {row[0]: tuple(row[1:]) for row in PeriodicTask.objects.values_list("name", *ROW_FIELDS)}
        schedule_keys = _schedule_keys()
        moved = {key for key, value in schedule_keys.items() if self._schedule_keys.get(key) != value}
        self._schedule_keys = schedule_keys
        for name in set(self._row_keys) - set(current):
            self._drop(name)
        stale = [name for name, key in current.items() if key != self._row_keys.get(name) or _uses(key, moved)]
        for start in range(0, len(stale), 1000):
            for row in self._rows(name__in=stale[start : start + 1000]):
                self._apply_row(row)
        logger.info("beat: %d of %d schedules differed, %.1f s", len(stale), len(current), time.monotonic() - started)

    def _apply_row(self, model: PeriodicTask, *, push: bool = True) -> None:
        name = model.name
        self._row_keys[name] = _row_key(model)
        self._row_stamps[name] = model.date_changed
        if self._since is None or model.date_changed > self._since:
            self._since = model.date_changed
        if not model.enabled:
            self._drop(name, keep_key=True)
            return
        stored = model.last_run_at
        try:
            entry = self.Entry(model, app=self.app)
        except ValueError:
            self._drop(name, keep_key=True)
            return
        self._keep_last_run(entry, stored)
        self._schedule[name] = entry
        if push:
            self._push(entry)

    def _keep_last_run(self, entry: ModelEntry, stored: datetime | None) -> None:
        """Keep beat's own last send when the row carries back a value it held before that send.

        Such a save comes from an object read before beat wrote its run back (the admin's POST, a shell; an
        UPDATE that waited on beat's write-back and committed the old value after it): taken as is, it makes the
        entry due again and sends it twice. A value beat never held (run soon, ops setting it from a shell) is an
        edit and is taken. An empty one after a send is stale too: the admin's disable action empties it, and
        enabling again continues from beat's last send.
        """
        run = self._runs.get(entry.name)
        if run is None or entry.last_run_at >= run.at or not (stored is None or stored in run.before):
            return
        logger.info("beat: %s saved with a last run from before its send at %s: send kept", entry.name, run.at)
        entry.last_run_at = entry.model.last_run_at = run.at
        entry.total_run_count = entry.model.total_run_count = run.count
        self._dirty.add(entry.name)  # the row now holds the older value: write ours back again

    def _drop(self, name: str, *, keep_key: bool = False) -> None:
        """Forget a disabled (`keep_key`) or deleted entry; a disabled one's last send is still written back."""
        self._schedule.pop(name, None)
        self._versions.pop(name, None)
        if not keep_key:
            self._row_keys.pop(name, None)
            self._row_stamps.pop(name, None)
            self._runs.pop(name, None)
            self._dirty.discard(name)

    def update_from_dict(self, mapping: dict) -> None:
        """Code-owned entries (CELERY_BEAT_SCHEDULE): upserted as rows, then heaped like the others."""
        super().update_from_dict(mapping)
        for name in mapping:
            entry = self._schedule.get(name)
            if entry is not None:
                self._row_keys[name] = _row_key(entry.model)
                self._row_stamps[name] = entry.model.date_changed
                self._push(entry)

    # --- dispatching ---------------------------------------------------------------------------------------
    def populate_heap(self, *args: Any, **kwargs: Any) -> None:
        self._heap = []
        self._versions = {}
        for entry in self._schedule.values():
            self._push(entry, heapify=False)
        heapq.heapify(self._heap)

    def _push(self, entry: ModelEntry, *, at: float | None = None, heapify: bool = True) -> None:
        if at is None:
            try:
                is_due, delay = entry.is_due()
            except Exception:  # one bad entry must not stop beat (upstream does the same)
                is_due, delay = self._is_due_failed(entry)
            at = self._when(entry, self._catch_up_delay(entry) if is_due else delay)
        version = next(self._counter)
        self._versions[entry.name] = version
        item = (at, version, entry.name)
        if heapify:
            heapq.heappush(self._heap, item)
        else:
            self._heap.append(item)

    def _catch_up_delay(self, entry: ModelEntry) -> float:
        """Seconds to hold back an entry that fell due before beat started dispatching (0 for any other).

        The runs missed while beat was away (an outage, a restart, the start-up load itself) would otherwise all
        go out at once and stay aligned, every interval after. Each is held to a point given by a stable hash of
        its name, spread over as long as the runs piled up for, at most one interval and
        `catch_up_spread_seconds`: a 20 s restart spreads over 20 s, an hour's outage over 15 minutes. A row
        saved at or after its due time was made due on purpose (run soon, an ops reset, an edit): never held.
        """
        resumed = self._resumed_at
        if resumed is None:
            return 0.0
        try:
            last = maybe_make_aware(entry.last_run_at).astimezone(self.app.timezone)
            due = time.time() + entry.schedule.remaining_estimate(last).total_seconds()
        except Exception:  # a schedule without an estimate (solar, clocked edge cases): not spread
            return 0.0
        changed = entry.model.date_changed
        if due >= resumed or (changed is not None and changed.timestamp() >= due):
            return 0.0
        window = min(resumed - due, self.catch_up_spread_seconds)
        if isinstance(entry.schedule, interval_schedule):
            window = min(window, entry.schedule.run_every.total_seconds())
        return max(0.0, resumed + spread_fraction(entry.name) * window - time.time())

    def tick(self, *args: Any, **kwargs: Any) -> float:
        """Send at most one due entry; return the seconds until the next may be due."""
        schedule = self.schedule
        heap = self._heap
        while heap:
            at, version, name = heap[0]
            entry = schedule.get(name)
            if entry is None or self._versions.get(name) != version:
                heapq.heappop(heap)  # superseded by an edit, disabled or deleted
                continue
            wait = at - self._when(entry, 0)
            if wait > 0:
                return min(wait, self.max_interval)
            heapq.heappop(heap)
            try:
                is_due, delay = self.is_due(entry)
            except Exception:  # as above
                is_due, delay = self._is_due_failed(entry)
            if not is_due:
                self._push(entry, at=self._when(entry, delay))
                continue
            following = self.reserve(entry)
            schedule[name] = following
            self._record_run(entry, following)
            self.apply_entry(entry, producer=self.producer)
            self._push(following, at=self._when(following, delay))
            return 0
        return self.max_interval

    def _record_run(self, sent: ModelEntry, following: ModelEntry) -> None:
        previous = self._runs.get(sent.name)
        before = (*previous.before, sent.last_run_at) if previous else (sent.last_run_at,)
        run = Run(following.last_run_at, following.total_run_count, following.model.pk, before[-STALE_VALUES_KEPT:])
        self._runs[sent.name] = run

    def sync(self) -> None:
        """Write dispatched entries' `last_run_at` and run counts in one batch, without change signals."""
        names, self._dirty = self._dirty, set()
        rows = [(run.at, run.count, run.pk) for run in (self._runs.get(name) for name in names) if run is not None]
        if not rows:
            return
        try:
            close_old_connections()
            # One prepared statement, pipelined by psycopg's executemany: thousands of rows in a fraction of a
            # second, where upstream's per-row get() + save() froze dispatch for tens of seconds at 50,000.
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.executemany(SYNC_SQL, rows)
        except (DatabaseError, InterfaceError):
            logger.exception("beat: could not write last_run_at for %d schedules; retrying later", len(rows))
            self._dirty |= names


def _row_key(model: PeriodicTask) -> tuple:
    return tuple(getattr(model, field) for field in ROW_FIELDS)


def _schedule_keys() -> dict[tuple[str, int], tuple]:
    """A fingerprint of every schedule row (small tables), so an edited interval reaches its tasks."""
    keys: dict[tuple[str, int], tuple] = {}
    for kind, model in SCHEDULE_MODELS.items():
        for row in model.objects.values_list():
            keys[(kind, row[0])] = row[1:]
    return keys


def _uses(row_key: tuple, moved: set[tuple[str, int]]) -> bool:
    if not moved:
        return False
    values = dict(zip(ROW_FIELDS, row_key, strict=True))
    return any((kind, values[f"{kind}_id"]) in moved for kind in SCHEDULE_MODELS)

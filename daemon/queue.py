"""The work queue: APScheduler 3 with its jobs in the database, so queued work survives a restart.

One job per file, its id derived from the path, added with `replace_existing`: a file can never have two jobs.
Detections run on the "default" executor (`workers` threads, one by default); the reconcile scan has its own
single thread so it never waits behind a long queue of detections.

APScheduler hands every due job to its executor at once and deletes a one-off job from the store when it does, so
with one worker a backlog waits in the executor's memory, not in the store. `Queue` counts those hand-overs so
`has` still answers "is this file queued"; across a restart, the episodes table (state pending) is what
survives, and `Daemon.start` queues every pending episode again.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import threading
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TypeVar

from apscheduler.events import EVENT_JOB_ERROR, EVENT_JOB_EXECUTED, EVENT_JOB_SUBMITTED, JobEvent
from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.jobstores.base import JobLookupError
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.base import STATE_STOPPED
from sqlalchemy import Engine
from sqlalchemy.exc import DBAPIError

from daemon import jobs
from db.transactions import Database

log = logging.getLogger(__name__)

T = TypeVar("T")

RECONCILE_JOB_ID = "reconcile"
PUSH_JOB_ID = "push"
MODEL_JOB_ID = "lone-model"
DETECT_JOB_PREFIX = "detect:"
MAINTENANCE_EXECUTOR = "maintenance"
PUSH_EXECUTOR = "push"  # its own thread: a slow media server delays neither detections nor the reconcile scan
JOBS_TABLE = "apscheduler_jobs"
STORE_RETRY_S = 5.0


def job_id(path: Path | str) -> str:
    """Stable across restarts and processes: a hash of the path (ids are limited to 191 characters)."""
    digest = hashlib.sha1(str(path).encode("utf-8", "surrogateescape")).hexdigest()
    return DETECT_JOB_PREFIX + digest


class _Scheduler(BackgroundScheduler):
    def _process_jobs(self) -> float | None:
        # APScheduler 3's loop runs one more round after shutdown() wakes it: that round would hand due jobs to
        # the stopped executors and then delete them from the store. Skip it; they run at the next start.
        if self.state == STATE_STOPPED:
            return None
        try:
            return super()._process_jobs()
        except DBAPIError as e:
            # Its loop guards reading due jobs, not updating or removing a job after handing it over: an error
            # there (database locked for longer than the busy timeout, disk full) would end the scheduler's
            # thread, and nothing queued would ever run again. A job handed over but not removed runs once more,
            # which a detection takes as up to date.
            self._logger.warning("job store: %s; trying again in %.0f s", e.orig, STORE_RETRY_S)
            return STORE_RETRY_S


def make_scheduler(engine: Engine, workers: int) -> BackgroundScheduler:
    return _Scheduler(
        jobstores={"default": SQLAlchemyJobStore(engine=engine, tablename=JOBS_TABLE)},
        executors={
            "default": ThreadPoolExecutor(max_workers=workers),
            MAINTENANCE_EXECUTOR: ThreadPoolExecutor(max_workers=1),
            PUSH_EXECUTOR: ThreadPoolExecutor(max_workers=1),
        },
        job_defaults={
            "coalesce": True,
            "max_instances": 1,
            "misfire_grace_time": None,  # queued work runs however late (e.g. after the service was down)
        },
        timezone=UTC,
    )


class Queue:
    def __init__(self, scheduler: BackgroundScheduler, db: Database | None = None) -> None:
        """`db`: the database the job store is in, to wait out a busy or full one (db/transactions.py)."""
        self._scheduler = scheduler
        self._store = db.retry if db is not None else _once
        self._lock = threading.Lock()
        # job id -> jobs handed to the executor and not finished. A counter, not a set: the "executed" event of a
        # quick job can arrive before its "submitted" event.
        self._handed: Counter[str] = Counter()
        scheduler.add_listener(self._on_event, EVENT_JOB_SUBMITTED | EVENT_JOB_EXECUTED | EVENT_JOB_ERROR)

    def _on_event(self, event: JobEvent) -> None:
        with self._lock:
            self._handed[event.job_id] += 1 if event.code == EVENT_JOB_SUBMITTED else -1
            if self._handed[event.job_id] == 0:
                del self._handed[event.job_id]

    def enqueue(self, path: Path, delay_s: float = 0.0) -> None:
        self._store(
            lambda: self._scheduler.add_job(
                jobs.detect_episode,
                trigger="date",
                run_date=datetime.now(UTC) + timedelta(seconds=delay_s),
                args=[str(path)],
                id=job_id(path),
                name=path.name,
                replace_existing=True,
            )
        )

    def remove(self, path: Path) -> None:
        def remove() -> None:
            with contextlib.suppress(JobLookupError):
                self._scheduler.remove_job(job_id(path))

        self._store(remove)

    def has(self, path: Path) -> bool:
        """Queued: waiting in the store, or handed to the executor and not finished."""
        key = job_id(path)
        with self._lock:
            if self._handed[key] > 0:
                return True
        return self._store(lambda: self._scheduler.get_job(key)) is not None

    def schedule_reconcile(self, interval_h: float, *, first_in_s: float = 0.0) -> None:
        self._scheduler.add_job(
            jobs.reconcile,
            trigger="interval",
            hours=interval_h,
            next_run_time=datetime.now(UTC) + timedelta(seconds=first_in_s),
            id=RECONCILE_JOB_ID,
            name="reconcile scan",
            executor=MAINTENANCE_EXECUTOR,
            replace_existing=True,
        )

    def schedule_push(self, interval_s: float) -> None:
        self._scheduler.add_job(
            jobs.push,
            trigger="interval",
            seconds=interval_s,
            next_run_time=datetime.now(UTC),
            id=PUSH_JOB_ID,
            name="push markers",
            executor=PUSH_EXECUTOR,
            replace_existing=True,
        )

    def schedule_model_check(self, interval_s: float) -> None:
        self._scheduler.add_job(
            jobs.check_lone_model,
            trigger="interval",
            seconds=interval_s,
            id=MODEL_JOB_ID,
            name="follow the active lone-episode model",
            executor=MAINTENANCE_EXECUTOR,
            replace_existing=True,
        )

    def unschedule_model_check(self) -> None:
        with contextlib.suppress(JobLookupError):
            self._scheduler.remove_job(MODEL_JOB_ID)

    def push_now(self) -> None:
        """After a detection: push at once instead of at the next interval (coalesced if already running)."""
        self.push_at(datetime.now(UTC))

    def push_at(self, when: datetime) -> None:
        """The next push run at `when` if that is sooner than it would be; then on at the interval."""

        def sooner() -> None:
            with contextlib.suppress(JobLookupError):
                job = self._scheduler.get_job(PUSH_JOB_ID)
                if job is not None and (job.next_run_time is None or when < job.next_run_time):
                    self._scheduler.modify_job(PUSH_JOB_ID, next_run_time=when)

        self._store(sooner)

    def unschedule_push(self) -> None:
        with contextlib.suppress(JobLookupError):
            self._scheduler.remove_job(PUSH_JOB_ID)


def _once(attempt: Callable[[], T]) -> T:
    return attempt()

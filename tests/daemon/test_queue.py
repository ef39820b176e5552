import threading
from pathlib import Path

import pytest
from apscheduler.schedulers.background import BackgroundScheduler
from sqlalchemy import Engine

from daemon import jobs
from daemon.queue import RECONCILE_JOB_ID, Queue, job_id, make_scheduler
from daemon.retry import RetryPolicy


def test_job_ids_are_deterministic_and_distinct() -> None:
    assert job_id(Path("/tv/S1/e1.mkv")) == job_id("/tv/S1/e1.mkv")
    assert job_id("/tv/S1/e1.mkv") != job_id("/tv/S1/e2.mkv")
    assert job_id("/tv/S1/e1.mkv").startswith("detect:") and len(job_id("/tv/" + "x" * 500)) < 191
    assert job_id(Path("/tv/caf\udce9.mkv"))  # undecodable bytes in a name still hash


def test_retry_backoff_doubles() -> None:
    policy = RetryPolicy(max_attempts=4, backoff_s=60)
    assert [policy.delay_s(n) for n in (1, 2, 3)] == [60, 120, 240]


class Runner:
    def __init__(self) -> None:
        self.detected: list[Path] = []
        self.active = 0
        self.max_active = 0
        self.lock = threading.Lock()
        self.all_done = threading.Event()
        self.expected = 0

    def run_detection(self, path: Path) -> None:
        with self.lock:
            self.active += 1
            self.max_active = max(self.max_active, self.active)
        threading.Event().wait(0.05)
        with self.lock:
            self.active -= 1
            self.detected.append(path)
            if len(self.detected) >= self.expected:
                self.all_done.set()

    def run_reconcile(self) -> None:
        pass


def started(scheduler: BackgroundScheduler) -> BackgroundScheduler:
    scheduler.start(paused=True)
    return scheduler


def test_one_job_per_file_and_jobs_survive_a_restart(engine: Engine) -> None:
    scheduler = started(make_scheduler(engine, workers=1))
    queue = Queue(scheduler)
    queue.enqueue(Path("/tv/a.mkv"), delay_s=60)
    queue.enqueue(Path("/tv/a.mkv"))  # again: replaces, never a second job
    queue.enqueue(Path("/tv/b.mkv"), delay_s=3600)
    queue.schedule_reconcile(24)
    queue.schedule_reconcile(24)
    scheduler.shutdown()

    scheduler = started(make_scheduler(engine, workers=1))
    stored = {job.id: job for job in scheduler.get_jobs()}
    assert sorted(stored) == sorted([job_id("/tv/a.mkv"), job_id("/tv/b.mkv"), RECONCILE_JOB_ID])
    job = stored[job_id("/tv/a.mkv")]
    assert job.func_ref == "daemon.jobs:detect_episode" and job.args == ("/tv/a.mkv",)
    assert job.max_instances == 1 and job.misfire_grace_time is None
    assert stored[RECONCILE_JOB_ID].executor == "maintenance"
    queue = Queue(scheduler)
    assert queue.has(Path("/tv/b.mkv"))
    queue.remove(Path("/tv/b.mkv"))
    queue.remove(Path("/tv/b.mkv"))  # already gone: fine
    assert not queue.has(Path("/tv/b.mkv"))
    scheduler.shutdown()


def test_jobs_run_one_at_a_time_through_the_bound_runner(engine: Engine) -> None:
    runner = Runner()
    runner.expected = 4
    jobs.bind(runner)
    scheduler = make_scheduler(engine, workers=1)
    scheduler.start()
    try:
        queue = Queue(scheduler)
        for n in range(4):
            queue.enqueue(Path(f"/tv/e{n}.mkv"))
        assert runner.all_done.wait(10)
    finally:
        scheduler.shutdown()
        jobs.unbind(runner)
    assert sorted(p.name for p in runner.detected) == [f"e{n}.mkv" for n in range(4)]
    assert runner.max_active == 1
    assert scheduler.get_jobs() == []  # done jobs leave the store


def test_a_job_with_no_daemon_bound_does_nothing() -> None:
    jobs.detect_episode("/tv/a.mkv")
    jobs.reconcile()


def test_only_one_daemon_binds() -> None:
    a, b = Runner(), Runner()
    jobs.bind(a)
    try:
        with pytest.raises(RuntimeError):
            jobs.bind(b)
    finally:
        jobs.unbind(a)

"""Push state in the database: which episodes each target still needs, one attempt each, and what comes next.

Rows live in `db.models.Push` (one per episode and target). `db.episodes.store_detection` sets them pending when a
detection is stored; this module pushes the due ones and records the outcome through `state`. HTTP never happens
inside a transaction: the daemon's SQLite transactions take the write lock up front, so each step is a short
session (read what is due; push; write back the outcome).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy import or_, select
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.sql import ColumnElement

from daemon.publish import state
from daemon.publish.base import EpisodeRef, Publisher, PushResult
from daemon.publish.errors import PublishError, TransientPublishError
from db.episodes import latest_detection
from db.models import DetectionRecord, Episode, EpisodeState, Push, PushState, utcnow
from detector.result import Intro

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PushJob:
    push_id: int
    episode_id: int
    target: str
    path: Path
    detection_id: int
    intro: Intro | None
    duration_s: float
    attempts: int


@dataclass(frozen=True)
class PushReport:
    job: PushJob
    state: str  # what the row is now: pending, done, failed
    result: PushResult | None = None
    error: str | None = None


def intro_of(record: DetectionRecord) -> Intro | None:
    if record.start_s is None or record.end_s is None:
        return None
    return Intro(record.start_s, record.end_s, record.confidence or 0.0)


class PushService:
    def __init__(
        self,
        sessions: sessionmaker[Session],
        publishers: Sequence[Publisher],
        *,
        policy: state.RetryPolicy = state.DEFAULT_POLICY,
        clock: Callable[[], datetime] = utcnow,
        on_file_changed: Callable[[Path], None] | None = None,
    ) -> None:
        """`on_file_changed(path)`: told after a publisher rewrote the media file (Matroska chapters), so the
        daemon can take the new size and mtime as its own doing rather than as a new file to detect again."""
        self._sessions = sessions
        self._on_file_changed = on_file_changed
        self._publishers = {p.name: p for p in publishers}
        self._policy = policy
        self._clock = clock
        self._last_said: dict[str, str] = {}  # per target, so a message repeated run after run is logged once

    @property
    def targets(self) -> list[str]:
        return list(self._publishers)

    def probe(self) -> None:
        """At start: one line per target that is not ready. Never fatal: pushes wait for the server."""
        for publisher in self._publishers.values():
            try:
                publisher.probe()
            except PublishError as error:
                self._say(publisher.name, str(error))
            except Exception:
                log.exception("probing target %r failed unexpectedly", publisher.name)

    def run_due(self, *, targets: Sequence[str] | None = None) -> list[PushReport]:
        """Push everything due now. A target that fails transiently is left alone for the rest of this run: its
        other pushes would only hit the same dead server, and they stay due for the next run."""
        reports = []
        down: set[str] = set()
        for job in self.due(targets=targets):
            if job.target in down:
                continue
            report = self.push_one(job)
            reports.append(report)
            if report.state == state.PENDING and report.error is not None:
                down.add(job.target)
        return reports

    def due(self, *, targets: Sequence[str] | None = None) -> list[PushJob]:
        names = [t for t in (targets or self.targets) if t in self._publishers]
        now = self._clock()
        with self._sessions() as session:
            rows = session.execute(
                select(Push, Episode)
                .join(Episode, Push.episode_id == Episode.id)
                .where(
                    Push.state == PushState.PENDING,
                    Push.target.in_(names),
                    Episode.state != EpisodeState.MISSING,
                    or_(Push.next_attempt_at.is_(None), Push.next_attempt_at <= now),
                )
                .order_by(Push.next_attempt_at.is_not(None), Push.next_attempt_at, Push.id)
            ).all()
            jobs = []
            for push, episode in rows:
                record = latest_detection(session, episode.id)
                if record is None:
                    continue  # queued by hand before any detection: nothing to push yet
                jobs.append(
                    PushJob(
                        push_id=push.id,
                        episode_id=episode.id,
                        target=push.target,
                        path=Path(episode.path),
                        detection_id=record.id,
                        intro=intro_of(record),
                        duration_s=record.duration_s,
                        attempts=push.attempts,
                    )
                )
        return jobs

    def push_one(self, job: PushJob) -> PushReport:
        publisher = self._publishers[job.target]
        episode = EpisodeRef(job.path, job.duration_s)
        try:
            result = publisher.push(episode, job.intro)
        except Exception as error:
            outcome = state.after_error(error, job.attempts, self._clock(), self._policy)
            if not isinstance(error, PublishError):
                log.exception("push of %s to %r failed unexpectedly", job.path, job.target)
            elif outcome.state == state.FAILED or isinstance(error, TransientPublishError):
                self._say(job.target, str(error))
            self._record(job, outcome)
            return PushReport(job, outcome.state, error=outcome.last_error)
        self._last_said.pop(job.target, None)
        log.info("%s: %s %s (%s)", job.target, result.action.value, job.path.name, result.detail)
        self._record(job, state.after_success(job.attempts))
        if result.file_changed and self._on_file_changed is not None:
            self._on_file_changed(job.path)
        return PushReport(job, state.DONE, result=result)

    def _record(self, job: PushJob, outcome: state.Next) -> None:
        with self._sessions.begin() as session:
            push = session.get(Push, job.push_id)
            latest = latest_detection(session, job.episode_id)
            if push is None or latest is None or latest.id != job.detection_id:
                return  # a newer detection arrived meanwhile: its pending row must stay as it is
            push.state = outcome.state
            push.attempts = outcome.attempts
            push.last_error = outcome.last_error
            push.next_attempt_at = outcome.next_attempt_at
            if outcome.state == state.DONE:
                push.detection_id = job.detection_id
                push.pushed_at = self._clock()

    def queue(
        self,
        *,
        paths: Sequence[Path] | None = None,
        targets: Sequence[str] | None = None,
        failed_only: bool = False,
    ) -> int:
        """Make pushes due now for the episodes at or under `paths` (None: every episode with a detection), on
        `targets` (None: all). `failed_only`: only rows that failed (`push --retry-failed`). Returns the count."""
        names = [t for t in (targets or self.targets) if t in self._publishers]
        queued = 0
        with self._sessions.begin() as session:
            query = select(Episode).where(Episode.state != EpisodeState.MISSING)
            if paths is not None:
                query = query.where(or_(*(_at_or_under(p) for p in paths)))
            for episode in session.scalars(query):
                if latest_detection(session, episode.id) is None:
                    continue
                existing = {p.target: p for p in episode.pushes}
                for name in names:
                    push = existing.get(name)
                    if failed_only and (push is None or push.state != PushState.FAILED):
                        continue
                    if push is None:
                        push = Push(episode_id=episode.id, target=name)
                        session.add(push)
                    reset = state.RESET
                    push.state, push.attempts = reset.state, reset.attempts
                    push.last_error, push.next_attempt_at = reset.last_error, reset.next_attempt_at
                    queued += 1
        return queued

    def _say(self, target: str, message: str) -> None:
        if self._last_said.get(target) != message:
            log.warning("%s", message)
            self._last_said[target] = message


def _at_or_under(path: Path) -> ColumnElement[bool]:
    text = str(path)
    return or_(Episode.path == text, Episode.path.startswith(text.rstrip("/") + "/", autoescape=True))

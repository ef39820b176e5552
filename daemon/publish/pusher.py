"""Pushing markers: the due pushes of each target, one attempt each, and what comes next. The one push service,
used by the running daemon (on its own thread, after each detection and every `PUSH_INTERVAL_S` for retries that
come due) and by `intro-daemon push`.

Rows live in `db.models.Push` (one per episode and target); `db.episodes.store_detection` sets them pending when
a detection is stored. HTTP never happens inside a transaction: the daemon's SQLite transactions take the write
lock up front, so each step is a short session (read what is due; push; write back the outcome).
"""

from __future__ import annotations

import dataclasses
import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Protocol

from sqlalchemy.orm import Session, sessionmaker

from daemon.config import Config
from daemon.publish import state
from daemon.publish.base import EpisodeRef, Publisher, PushAction, PushResult
from daemon.publish.errors import PublishError, TransientPublishError
from daemon.redact import redact
from daemon.retry import RetryPolicy
from db import pushes
from db.models import utcnow
from db.results import segments_of
from detector.result import Segment

log = logging.getLogger(__name__)

PUSH_INTERVAL_S = 60.0  # retries are due at their own times; this is how late at most they are noticed


@dataclass(frozen=True)
class PushJob:
    push_id: int
    episode_id: int
    target: str
    path: Path
    detection_id: int
    segments: tuple[Segment, ...]  # everything the detection found, in time order; each target takes its kinds
    duration_s: float
    attempts: int


@dataclass(frozen=True)
class _Rest:
    """A target left alone after transient failures: a server that is down, starting, overloaded or hanging."""

    failures: int  # in a row
    until: datetime


@dataclass(frozen=True)
class PushReport:
    job: PushJob
    state: str  # what the row is now: pending, done, failed; after `undo`: undone (row gone) or kept
    result: PushResult | None = None
    error: str | None = None


class Pusher(Protocol):
    """What the running daemon needs of a push service (tests pass a fake)."""

    @property
    def targets(self) -> list[str]:
        """The targets that get a push row per detection."""
        ...

    def probe(self) -> None: ...

    def run_due(self, *, stopping: threading.Event | None = None) -> Sequence[object]: ...

    def resume_at(self) -> datetime | None:
        """When a target that is resting after a failure may be tried again (the earliest); None: none rests."""
        ...


# Builds the pusher for a config (None: no targets), given the daemon's sessions and what to call after a
# publisher rewrote a media file. Raises ConfigError for bad target options.
PusherFactory = Callable[[Config, sessionmaker[Session], Callable[[Path], None]], Pusher | None]


class PushService:
    def __init__(
        self,
        sessions: sessionmaker[Session],
        publishers: Sequence[Publisher],
        *,
        policy: state.PushPolicy = state.DEFAULT_POLICY,
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
        # Per target, not per push: a server that answered 503 or Retry-After is not asked again before its time
        # by the next push in the queue, and when it is back every push waiting for it goes at once.
        self._resting: dict[str, _Rest] = {}

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

    def run_due(
        self, *, targets: Sequence[str] | None = None, stopping: threading.Event | None = None
    ) -> list[PushReport]:
        """Push everything due now, except to targets resting after a transient failure: their pushes stay due
        for the run after `resume_at`. `stopping`: checked between pushes (a run may hold a thousand)."""
        self._reapply(targets)
        reports = []
        for job in self.due(targets=targets):
            if stopping is not None and stopping.is_set():
                break
            if self._rests(job.target):
                continue
            reports.append(self.push_one(job))
        return reports

    def _reapply(self, targets: Sequence[str] | None) -> None:
        """Targets whose server may delete our markers behind our back (a publisher with `reapply_s`: Plex's
        re-analysis) get every push done longer ago than that made due again; pushing what is there changes
        nothing."""
        now = self._clock()
        for name in self._names(targets):
            reapply_s = getattr(self._publishers[name], "reapply_s", None)
            if reapply_s:
                with self._sessions.begin() as session:
                    pushes.queue_done_before(session, name, now - timedelta(seconds=reapply_s))

    def resume_at(self) -> datetime | None:
        return min((rest.until for rest in self._resting.values()), default=None)

    def _rests(self, target: str) -> bool:
        rest = self._resting.get(target)
        return rest is not None and rest.until > self._clock()

    def due(self, *, targets: Sequence[str] | None = None) -> list[PushJob]:
        with self._sessions() as session:
            return [
                PushJob(
                    push_id=d.push.id,
                    episode_id=d.episode.id,
                    target=d.push.target,
                    path=Path(d.episode.path),
                    detection_id=d.detection.id,
                    segments=segments_of(d.detection),  # the intro and the others, read in the session
                    duration_s=d.detection.duration_s,
                    attempts=d.push.attempts,
                )
                for d in pushes.due(session, self._names(targets), self._clock())
            ]

    def push_one(self, job: PushJob) -> PushReport:
        publisher = self._publishers[job.target]
        episode = EpisodeRef(job.path, job.duration_s)
        try:
            # Only the kinds this target takes (its `kinds` option): a kind left out is one it must not show.
            result = publisher.push(episode, [s for s in job.segments if s.kind in publisher.kinds])
        except Exception as error:
            failures = self._resting[job.target].failures + 1 if job.target in self._resting else 1
            outcome = state.after_error(error, job.attempts, self._clock(), self._policy, target_failures=failures)
            if isinstance(error, TransientPublishError) and outcome.next_attempt_at is not None:
                self._resting[job.target] = _Rest(failures, outcome.next_attempt_at)
            # Stored, and shown by status, show and push: an exception's message may quote a server's answer.
            outcome = dataclasses.replace(outcome, last_error=redact(outcome.last_error or ""))
            if not isinstance(error, PublishError):
                log.exception("push of %s to %r failed unexpectedly", job.path, job.target)
            elif outcome.state == state.FAILED or isinstance(error, TransientPublishError):
                self._say(job.target, str(error))
            self._record(job, outcome)
            return PushReport(job, outcome.state, error=outcome.last_error)
        self._last_said.pop(job.target, None)
        if self._resting.pop(job.target, None) is not None:
            log.info("%s: answering again", job.target)
        log.info("%s: %s %s (%s)", job.target, result.action.value, job.path.name, result.detail)
        self._record(job, state.after_success(job.attempts))
        if result.file_changed and self._on_file_changed is not None:
            self._on_file_changed(job.path)
        return PushReport(job, state.DONE, result=result)

    def _record(self, job: PushJob, outcome: state.Next) -> None:
        with self._sessions.begin() as session:
            pushes.record_attempt(
                session,
                job.push_id,
                job.detection_id,
                state=outcome.state,
                attempts=outcome.attempts,
                last_error=outcome.last_error,
                next_attempt_at=outcome.next_attempt_at,
                now=self._clock(),
            )

    def undo(self, *, targets: Sequence[str], paths: Sequence[Path] | None = None) -> list[PushReport]:
        """Take our markers off `targets` for the episodes at or under `paths` (None: all): each publisher is given
        the empty set, which removes ours where its route can. Removed (or already gone): the push row goes, so the
        marker is not written again until a new detection or `push PATH`. Otherwise the row stays as it was."""
        texts = None if paths is None else [str(p) for p in paths]
        with self._sessions() as session:
            rows = pushes.of_episodes(session, self._names(targets), paths=texts)
        reports = []
        for row in rows:
            job = PushJob(row.push_id, 0, row.target, Path(row.path), 0, (), row.duration_s, 0)
            try:
                result = self._publishers[row.target].push(EpisodeRef(job.path, row.duration_s), ())
            except Exception as error:
                message = redact(str(error) or type(error).__name__)
                reports.append(PushReport(job, "kept", error=message))
                continue
            if result.action in (PushAction.REMOVED, PushAction.UNCHANGED):
                with self._sessions.begin() as session:
                    pushes.forget(session, row.push_id)
                if result.file_changed and self._on_file_changed is not None:
                    self._on_file_changed(job.path)
                reports.append(PushReport(job, "undone", result=result))
            else:
                reports.append(PushReport(job, "kept", result=result))
        return reports

    def queue(
        self,
        *,
        paths: Sequence[Path] | None = None,
        targets: Sequence[str] | None = None,
        failed_only: bool = False,
    ) -> int:
        """Make pushes due now for the episodes at or under `paths` (None: every episode with a detection), on
        `targets` (None: all). `failed_only`: only rows that failed (`push --retry-failed`). Returns the count."""
        texts = None if paths is None else [str(p) for p in paths]
        with self._sessions.begin() as session:
            return pushes.queue_again(session, self._names(targets), paths=texts, failed_only=failed_only)

    def _names(self, targets: Sequence[str] | None) -> list[str]:
        return [t for t in (targets or self.targets) if t in self._publishers]

    def _say(self, target: str, message: str) -> None:
        if self._last_said.get(target) != message:
            log.warning("%s", message)
            self._last_said[target] = message


def make_pusher(
    config: Config, sessions: sessionmaker[Session], on_file_changed: Callable[[Path], None]
) -> PushService | None:
    """The daemon's `PusherFactory`: a push service over the config's publishers, None without targets."""
    from daemon.publish.config import build_publishers

    publishers = build_publishers(config)
    if not publishers:
        return None
    policy = dataclasses.replace(
        state.DEFAULT_POLICY,
        transient=RetryPolicy(None, backoff_s=config.push.retry_backoff_s, cap_s=config.push.retry_cap_s),
    )
    return PushService(sessions, publishers, policy=policy, on_file_changed=on_file_changed)

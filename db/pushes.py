"""Push rows (`db.models.Push`, one per episode and target): which are due, an attempt's outcome, queueing again.

Each function is one short transaction's worth of SQL on a caller's session; HTTP never happens inside one.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from db.episodes import at_or_under, latest_detection, reset_push
from db.models import DetectionRecord, Episode, EpisodeState, Push, PushState


@dataclass(frozen=True)
class Due:
    push: Push
    episode: Episode
    detection: DetectionRecord  # the latest: what the target should have


def due(session: Session, targets: Sequence[str], now: datetime) -> list[Due]:
    """Pending pushes to `targets` whose time has come, of episodes that are not missing and have a result;
    the ones never tried first, then by time due."""
    rows = session.execute(
        select(Push, Episode)
        .join(Episode, Push.episode_id == Episode.id)
        .where(
            Push.state == PushState.PENDING,
            Push.target.in_(targets),
            Episode.state != EpisodeState.MISSING,
            or_(Push.next_attempt_at.is_(None), Push.next_attempt_at <= now),
        )
        .order_by(Push.next_attempt_at.is_not(None), Push.next_attempt_at, Push.id)
    ).all()
    found = []
    for push, episode in rows:
        record = latest_detection(session, episode.id)
        if record is not None:  # queued by hand before any detection: nothing to push yet
            found.append(Due(push, episode, record))
    return found


def record_attempt(
    session: Session,
    push_id: int,
    detection_id: int,
    *,
    state: str,
    attempts: int,
    last_error: str | None,
    next_attempt_at: datetime | None,
    now: datetime,
) -> None:
    """Write an attempt's outcome for the push of detection `detection_id`; nothing when a newer detection
    arrived meanwhile (its pending row must stay as it is)."""
    push = session.get(Push, push_id)
    if push is None:
        return
    latest = latest_detection(session, push.episode_id)
    if latest is None or latest.id != detection_id:
        return
    push.state = state
    push.attempts = attempts
    push.last_error = last_error
    push.next_attempt_at = next_attempt_at
    if state == PushState.DONE:
        push.detection_id = detection_id
        push.pushed_at = now


def queue_again(
    session: Session, targets: Sequence[str], *, paths: Sequence[str] | None = None, failed_only: bool = False
) -> int:
    """Make pushes to `targets` due now for the episodes at or under `paths` (None: every episode) that have a
    result and are not missing. `failed_only`: only rows that failed. Returns how many."""
    query = select(Episode).where(Episode.state != EpisodeState.MISSING)
    if paths is not None:
        query = query.where(or_(*(at_or_under(p) for p in paths)))
    queued = 0
    for episode in session.scalars(query):
        if latest_detection(session, episode.id) is None:
            continue
        existing = {p.target: p for p in episode.pushes}
        for name in targets:
            push = existing.get(name)
            if failed_only and (push is None or push.state != PushState.FAILED):
                continue
            if push is None:
                push = Push(episode_id=episode.id, target=name)
                session.add(push)
            reset_push(push)
            queued += 1
    return queued


@dataclass(frozen=True)
class Pushed:
    push_id: int
    target: str
    path: str
    duration_s: float


def of_episodes(session: Session, targets: Sequence[str], *, paths: Sequence[str] | None = None) -> list[Pushed]:
    """Every push row to `targets` of the episodes at or under `paths` (None: all), whatever its state."""
    query = select(Push, Episode).join(Episode, Push.episode_id == Episode.id).where(Push.target.in_(targets))
    if paths is not None:
        query = query.where(or_(*(at_or_under(p) for p in paths)))
    return [
        Pushed(push.id, push.target, episode.path, episode.duration_s or 0.0)
        for push, episode in session.execute(query.order_by(Episode.path, Push.target))
    ]


def forget(session: Session, push_id: int) -> None:
    """The target no longer has our marker (`push --undo`): nothing is pushed there until a new detection or
    `push PATH` queues it again."""
    push = session.get(Push, push_id)
    if push is not None:
        session.delete(push)


def queue_done_before(session: Session, target: str, cutoff: datetime) -> int:
    """Make the pushes to `target` done before `cutoff` due again (a server that may have lost them)."""
    result = session.execute(
        update(Push)
        .where(Push.target == target, Push.state == PushState.DONE, Push.pushed_at < cutoff)
        .values(state=PushState.PENDING, attempts=0, last_error=None, next_attempt_at=None)
    )
    return int(getattr(result, "rowcount", 0) or 0)

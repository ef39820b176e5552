"""Episode state changes, each one short transaction's worth of SQL on a caller's session.

States: pending -> processing (claimed by exactly one process) -> done | failed | pending (retry);
any -> missing when the file goes; missing/done/failed -> pending when the file (re)appears changed.
The claim is one UPDATE ... WHERE state IN (...), so two processes can never both win it.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.orm import Session
from sqlalchemy.sql import ColumnElement

from db.models import DetectionRecord, Episode, EpisodeState, Fingerprint, Push, PushState, utcnow
from db.results import copy_segments
from detector.result import lone_model_decided, without_lone_model


@dataclass(frozen=True)
class Seen:
    """A file as found on disk."""

    path: str
    season_key: str
    size: int
    mtime_ns: int


def get(session: Session, path: str) -> Episode | None:
    return session.scalars(select(Episode).where(Episode.path == path)).one_or_none()


def note_seen(session: Session, seen: Seen) -> Episode:
    """Record a file found on disk. New, changed or returning-changed files become pending; an unchanged file keeps
    its state (a missing one comes back as done when its result still matches, else pending)."""
    episode = get(session, seen.path)
    if episode is None:
        episode = Episode(
            path=seen.path,
            season_key=seen.season_key,
            size=seen.size,
            mtime_ns=seen.mtime_ns,
            state=EpisodeState.PENDING,
            attempts=0,
        )
        session.add(episode)
        session.flush()
        return episode
    changed = (episode.size, episode.mtime_ns) != (seen.size, seen.mtime_ns)
    episode.season_key = seen.season_key
    if changed:
        episode.size, episode.mtime_ns = seen.size, seen.mtime_ns
        if episode.state != EpisodeState.PROCESSING:  # the claimant sees the change when it stores
            _reset(episode)
    elif episode.state == EpisodeState.MISSING:
        if has_result(session, episode, model_version=None):
            episode.state = EpisodeState.DONE
        else:
            _reset(episode)
    return episode


def _reset(episode: Episode) -> None:
    episode.state = EpisodeState.PENDING
    episode.attempts = 0
    episode.last_error = None


def has_result(session: Session, episode: Episode, model_version: str | None) -> bool:
    """A detection exists for the episode's current size and mtime, made by `model_version` (unless None), or by
    a version that differs from it only in the lone model when that one did not decide it (its season's
    repetition did): a newly adapted lone model leaves those results as they are."""
    query = select(DetectionRecord.model_version, DetectionRecord.signals).where(
        DetectionRecord.episode_id == episode.id,
        DetectionRecord.file_size == episode.size,
        DetectionRecord.file_mtime_ns == episode.mtime_ns,
    )
    if model_version is None:
        return session.execute(query.limit(1)).first() is not None
    season_part = without_lone_model(model_version)
    return any(
        version == model_version
        or (without_lone_model(version) == season_part and not lone_model_decided(signals.split(",")))
        for version, signals in session.execute(query)
    )


def is_up_to_date(session: Session, episode: Episode, model_version: str) -> bool:
    return episode.state == EpisodeState.DONE and has_result(session, episode, model_version)


def latest_detection(session: Session, episode_id: int) -> DetectionRecord | None:
    return session.scalars(
        select(DetectionRecord).where(DetectionRecord.episode_id == episode_id).order_by(DetectionRecord.id.desc())
    ).first()


def fingerprinted_at(session: Session, episode_id: int) -> datetime | None:
    """When the episode's stored fingerprints were written; None: none stored."""
    return session.scalar(select(Fingerprint.created_at).where(Fingerprint.episode_id == episode_id))


def claim(session: Session, episode_id: int, owner: str, from_states: Collection[str]) -> bool:
    """Atomically move the episode to processing for `owner`; False when it was not in `from_states`."""
    result = session.execute(
        update(Episode)
        .where(Episode.id == episode_id, Episode.state.in_(list(from_states)))
        .values(state=EpisodeState.PROCESSING, claimed_by=owner, claimed_at=utcnow(), updated_at=utcnow())
    )
    return bool(getattr(result, "rowcount", 0))


def _owned(session: Session, episode_id: int, owner: str) -> Episode | None:
    return session.scalars(
        select(Episode).where(
            Episode.id == episode_id, Episode.state == EpisodeState.PROCESSING, Episode.claimed_by == owner
        )
    ).one_or_none()


def finish(
    session: Session,
    episode_id: int,
    owner: str,
    state: EpisodeState,
    *,
    error: str | None = None,
    count_attempt: bool = True,
) -> Episode | None:
    """End `owner`'s claim with `state` (pending = retry later). None when the claim was lost meanwhile."""
    episode = _owned(session, episode_id, owner)
    if episode is None:
        return None
    episode.state = state
    episode.last_error = error
    episode.claimed_by = None
    episode.claimed_at = None
    if count_attempt:
        episode.attempts += 1
        episode.processed_at = utcnow()
    return episode


def store_detection(
    session: Session, episode_id: int, owner: str, record: DetectionRecord, targets: Sequence[str]
) -> Episode | None:
    """Store a result for the claimed episode and mark it done; each target's push goes back to pending.
    A result with the same key (size, mtime, model version) is replaced. None when the claim was lost."""
    episode = finish(session, episode_id, owner, EpisodeState.DONE)
    if episode is None:
        return None
    session.execute(
        delete(DetectionRecord).where(
            DetectionRecord.episode_id == episode_id,
            DetectionRecord.file_size == record.file_size,
            DetectionRecord.file_mtime_ns == record.file_mtime_ns,
            DetectionRecord.model_version == record.model_version,
        )
    )
    record.episode_id = episode_id
    session.add(record)
    episode.duration_s = record.duration_s
    episode.attempts = 0
    _queue_pushes(session, episode_id, targets)
    return episode


def replace_result(
    session: Session, episode_id: int, previous_id: int, record: DetectionRecord, targets: Sequence[str]
) -> bool:
    """A result decided again (revisit) replaces `previous_id`, if that is still the episode's latest result and
    the episode is still done for the same file; `targets`' pushes go back to pending. False: something changed
    meanwhile (a new detection, a changed file), and the new decision is dropped."""
    episode = session.get(Episode, episode_id)
    latest = latest_detection(session, episode_id)
    if episode is None or episode.state != EpisodeState.DONE or latest is None or latest.id != previous_id:
        return False
    if (episode.size, episode.mtime_ns) != (record.file_size, record.file_mtime_ns):
        return False
    # In place: the pushes that name this result keep naming it, and it keeps the time the detection took.
    for column in ("model_version", "start_s", "end_s", "confidence", "duration_s", "signals", "scores"):
        setattr(latest, column, getattr(record, column))
    latest.computed_by = record.computed_by
    latest.others = copy_segments(record)  # the old rows go (delete-orphan); `record`'s stay with it, unsaved
    _queue_pushes(session, episode_id, targets)
    return True


def _queue_pushes(session: Session, episode_id: int, targets: Sequence[str]) -> None:
    existing = {p.target: p for p in session.scalars(select(Push).where(Push.episode_id == episode_id))}
    for target in targets:
        push = existing.get(target)
        if push is None:
            session.add(Push(episode_id=episode_id, target=target, state=PushState.PENDING, attempts=0))
        else:
            reset_push(push)


def reset_push(push: Push) -> None:
    """Due now, its attempts counted from zero: after a new detection, `push PATH` or `push --retry-failed`."""
    push.state, push.attempts, push.last_error, push.next_attempt_at = PushState.PENDING, 0, None, None


def mark_missing(session: Session, path: str) -> Episode | None:
    episode = get(session, path)
    if episode is not None and episode.state != EpisodeState.MISSING:
        episode.state = EpisodeState.MISSING
        episode.claimed_by = None
        episode.claimed_at = None
    return episode


def mark_missing_under(session: Session, folder: str) -> list[str]:
    """Every episode below `folder` (a deleted folder) becomes missing; returns their paths."""
    episodes = session.scalars(select(Episode).where(_under(folder), Episode.state != EpisodeState.MISSING)).all()
    for episode in episodes:
        episode.state = EpisodeState.MISSING
        episode.claimed_by = None
        episode.claimed_at = None
    return [e.path for e in episodes]


def rename(session: Session, src: str, dest: str, dest_season_key: str) -> Episode | None:
    """A moved file keeps its results. A row already at `dest` (an older file there) gives way."""
    episode = get(session, src)
    if episode is None:
        return None
    stale = get(session, dest)
    if stale is not None:
        session.delete(stale)
        session.flush()
    episode.path = dest
    episode.season_key = dest_season_key
    return episode


def rename_folder(session: Session, src: str, dest: str) -> list[tuple[str, str]]:
    """A moved folder: every episode below `src` moves with it. Returns (old, new) paths."""
    moved = []
    for episode in session.scalars(select(Episode).where(_under(src))).all():
        old_path = episode.path
        new_path = dest + old_path[len(src) :]
        rename(session, old_path, new_path, dest + episode.season_key[len(src) :])
        moved.append((old_path, new_path))
    return moved


def _under(folder: str) -> ColumnElement[bool]:
    """Episodes below `folder`, compared per path component (/tv/a holds /tv/a/x, not /tv/ab/x)."""
    prefix = folder.rstrip("/") + "/"
    # substr instead of LIKE: paths may contain % and _, and SQLite's LIKE ignores case
    return func.substr(Episode.path, 1, len(prefix)) == prefix


def at_or_under(path: str) -> ColumnElement[bool]:
    """The episode at `path` (a file), or every episode below it (a folder)."""
    return or_(Episode.path == path, _under(path))


def episodes_at_or_under(session: Session, path: str) -> list[Episode]:
    return list(session.scalars(select(Episode).where(at_or_under(path))))


def release_stale_claims(session: Session, is_stale: Callable[[str], bool]) -> list[str]:
    """Claims held by processes that are gone (killed mid-detection) go back to pending; returns their paths."""
    released = []
    for episode in session.scalars(select(Episode).where(Episode.state == EpisodeState.PROCESSING)).all():
        if episode.claimed_by is None or is_stale(episode.claimed_by):
            episode.state = EpisodeState.PENDING
            episode.claimed_by = None
            episode.claimed_at = None
            released.append(episode.path)
    return released


def requeue_done(session: Session, episode_ids: Collection[int]) -> int:
    """Put these episodes back in the queue, those that are done (their results stay until new ones replace them);
    how many were."""
    result = session.execute(
        update(Episode)
        .where(Episode.id.in_(list(episode_ids)), Episode.state == EpisodeState.DONE)
        .values(state=EpisodeState.PENDING, attempts=0, last_error=None)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def pending_paths(session: Session) -> list[str]:
    return list(session.scalars(select(Episode.path).where(Episode.state == EpisodeState.PENDING)))


def adopt_rewrite(session: Session, path: str, size: int, mtime_ns: int) -> bool:
    """The daemon itself rewrote the file (a publisher wrote chapters into it): take its new size and mtime as
    current, for the episode and its latest result, so the change is not taken for a new file to detect again."""
    episode = get(session, path)
    if episode is None:
        return False
    detection = latest_detection(session, episode.id)
    if detection is not None and (detection.file_size, detection.file_mtime_ns) == (episode.size, episode.mtime_ns):
        detection.file_size, detection.file_mtime_ns = size, mtime_ns
    episode.size, episode.mtime_ns = size, mtime_ns
    return True

"""`intro-daemon status` and `intro-daemon show PATH`: read-only views of the database.

Never prints a secret: targets appear by their name from the pushes table, the database URL without its password.
"""

from __future__ import annotations

import argparse
import statistics
import sys
from collections import Counter, defaultdict
from datetime import UTC, datetime

from sqlalchemy import Column, Engine, Float, MetaData, Table, Unicode, func, inspect, select
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from daemon.commands import load, quiet_library_logs
from daemon.config import Config, ConfigError
from daemon.display import minutes, span_marker, sparkline
from daemon.queue import DETECT_JOB_PREFIX, JOBS_TABLE, RECONCILE_JOB_ID
from daemon.worker import decode_scores
from db import episodes
from db.migrate import current_revision, head_revision
from db.models import DetectionRecord, Episode, EpisodeState, Push
from db.session import make_engine, make_sessions, sqlite_file

SCORE_WIDTH = 100
# The columns of APScheduler's job table that status reads (the job store owns the table and creates it).
_JOBS = Table(JOBS_TABLE, MetaData(), Column("id", Unicode(191), primary_key=True), Column("next_run_time", Float))


class Unavailable(Exception):
    """No database to read (yet), or one at another schema version."""


def status(args: argparse.Namespace) -> int:
    quiet_library_logs()
    try:
        config = load(args)
        engine = _open(config)
    except (ConfigError, Unavailable) as e:
        print(f"intro-daemon: {e}", file=sys.stderr)
        return 2
    try:
        with make_sessions(engine).begin() as session:
            print("\n".join(_status_lines(session, engine, config, args.errors)))
    finally:
        engine.dispose()
    return 0


def show(args: argparse.Namespace) -> int:
    quiet_library_logs()
    try:
        config = load(args)
        engine = _open(config)
    except (ConfigError, Unavailable) as e:
        print(f"intro-daemon: {e}", file=sys.stderr)
        return 2
    path = args.path.expanduser().resolve()
    try:
        with make_sessions(engine).begin() as session:
            episode = episodes.get(session, str(path))
            if episode is None:
                print(f"intro-daemon: {path} is not in the database", file=sys.stderr)
                return 1
            print("\n".join(_show_lines(session, episode)))
    finally:
        engine.dispose()
    return 0


def _open(config: Config) -> Engine:
    url = config.state.database_url
    db_file = sqlite_file(url)
    if db_file is not None and not db_file.exists():
        raise Unavailable(f"no database at {db_file}: the daemon has not run yet (or pass --config)")
    engine = make_engine(url, read_only=True)
    revision, head = current_revision(engine), head_revision()
    if revision != head:
        engine.dispose()
        raise Unavailable(f"database schema is {revision}, this version needs {head}: start the daemon to upgrade")
    return engine


# --- status


def _status_lines(session: Session, engine: Engine, config: Config, n_errors: int) -> list[str]:
    url = make_url(config.state.database_url).render_as_string(hide_password=True)
    rows = session.execute(select(Episode.state, func.count()).group_by(Episode.state)).all()
    counts: Counter[str] = Counter({state: n for state, n in rows})
    total = sum(counts.values())
    by_state = ", ".join(f"{counts[s]} {s.value}" for s in EpisodeState if counts[s])
    lines = [f"database   {url}", f"episodes   {total}" + (f": {by_state}" if total else "")]
    lines.append(f"queue      {_queue_text(engine, counts[EpisodeState.PENDING])}")
    lines.extend(_target_lines(session))
    lines.extend(_error_lines(session, n_errors))
    lines.extend(_season_lines(session))
    return lines


def _queue_text(engine: Engine, pending: int) -> str:
    """Pending episodes are the queue (waiting for a worker); the job store adds retries set for later."""
    text = f"{pending} episode(s) waiting for detection"
    if not inspect(engine).has_table(JOBS_TABLE):
        return text + " (the daemon has not run yet)"
    with engine.connect() as connection:
        rows = connection.execute(select(_JOBS.c.id, _JOBS.c.next_run_time).order_by(_JOBS.c.next_run_time)).all()
    now = datetime.now(UTC).timestamp()
    later = [r for r in rows if r.id.startswith(DETECT_JOB_PREFIX) and (r.next_run_time or 0) > now]
    if later:
        text += f", {len(later)} of them retried later (next {_when(later[0].next_run_time)})"
    reconcile = [r for r in rows if r.id == RECONCILE_JOB_ID]
    if reconcile:
        text += f"; reconcile scan {_when(reconcile[0].next_run_time)}"
    return text


def _when(timestamp: float | None) -> str:
    if timestamp is None:
        return "paused"
    at = datetime.fromtimestamp(timestamp, UTC)
    if at <= datetime.now(UTC):
        return "due now"
    return f"at {at:%Y-%m-%d %H:%M} UTC"


def _target_lines(session: Session) -> list[str]:
    rows = session.execute(select(Push.target, Push.state, func.count()).group_by(Push.target, Push.state)).all()
    per_target: dict[str, list[str]] = defaultdict(list)
    for target, state, n in rows:
        per_target[target].append(f"{n} {state}")
    return [f"target     {name}: {', '.join(states)}" for name, states in sorted(per_target.items())]


def _error_lines(session: Session, n: int) -> list[str]:
    failed = session.scalars(
        select(Episode).where(Episode.last_error.is_not(None)).order_by(Episode.updated_at.desc()).limit(max(0, n))
    ).all()
    push_failed = session.scalars(
        select(Push).where(Push.last_error.is_not(None)).order_by(Push.updated_at.desc()).limit(max(0, n))
    ).all()
    if not failed and not push_failed:
        return []
    lines = ["recent errors"]
    lines += [f"  {e.updated_at:%Y-%m-%d %H:%M} {e.state:<8} {e.path}: {e.last_error}" for e in failed]
    lines += [f"  {p.updated_at:%Y-%m-%d %H:%M} push {p.target}: {p.episode.path}: {p.last_error}" for p in push_failed]
    return lines


def _season_lines(session: Session) -> list[str]:
    latest = select(func.max(DetectionRecord.id)).group_by(DetectionRecord.episode_id)
    detections = {
        d.episode_id: d for d in session.scalars(select(DetectionRecord).where(DetectionRecord.id.in_(latest)))
    }
    seasons: dict[str, list[Episode]] = defaultdict(list)
    for episode in session.scalars(select(Episode).order_by(Episode.season_key, Episode.path)):
        seasons[episode.season_key].append(episode)
    if not seasons:
        return []
    lines = ["seasons"]
    for key, members in seasons.items():
        states = Counter(e.state for e in members)
        intros = [
            (d.start_s, d.end_s)
            for e in members
            if e.state == EpisodeState.DONE
            and (d := detections.get(e.id)) is not None
            and d.start_s is not None
            and d.end_s is not None
        ]
        text = f"  {key}: {len(members)} episodes, {states[EpisodeState.DONE]} done"
        for state in (EpisodeState.PENDING, EpisodeState.PROCESSING, EpisodeState.FAILED, EpisodeState.MISSING):
            if states[state]:
                text += f", {states[state]} {state.value}"
        if intros:
            length = statistics.median(end - start for start, end in intros)
            start = statistics.median(start for start, _ in intros)
            text += f"; {len(intros)} intros, typically {minutes(length)} long at {minutes(start)}"
        lines.append(text)
    return lines


# --- show


def _show_lines(session: Session, episode: Episode) -> list[str]:
    lines = [
        episode.path,
        f"  state      {episode.state} (attempts {episode.attempts}, updated {episode.updated_at:%Y-%m-%d %H:%M} UTC)",
        f"  file       {episode.size / 1e6:.1f} MB, modified "
        f"{datetime.fromtimestamp(episode.mtime_ns / 1e9, UTC):%Y-%m-%d %H:%M:%S} UTC",
        f"  season     {episode.season_key}",
    ]
    if episode.last_error:
        lines.append(f"  error      {episode.last_error}")
    detection = episodes.latest_detection(session, episode.id)
    if detection is None:
        lines.append("  detection  none yet")
        return lines
    current = (detection.file_size, detection.file_mtime_ns) == (episode.size, episode.mtime_ns)
    lines.append(
        f"  detection  #{detection.id}, model {detection.model_version}, {detection.created_at:%Y-%m-%d %H:%M} UTC, "
        f"took {detection.elapsed_s:.1f} s" + ("" if current else " (for an older version of the file)")
    )
    lines.append(f"  duration   {minutes(detection.duration_s)}")
    if detection.start_s is not None and detection.end_s is not None:
        lines.append(
            f"  intro      {minutes(detection.start_s)} - {minutes(detection.end_s)} "
            f"({detection.end_s - detection.start_s:.0f} s), confidence {detection.confidence or 0:.2f}, "
            f"from {detection.signals or 'unknown'}"
        )
    else:
        lines.append(f"  intro      none found (signals: {detection.signals or 'unknown'})")
    lines.extend(_score_lines(detection))
    for push in sorted(episode.pushes, key=lambda p: p.target):
        pushed = f", has detection #{push.detection_id}" if push.detection_id else ""
        error = f": {push.last_error}" if push.last_error else ""
        lines.append(f"  push       {push.target}: {push.state} (attempts {push.attempts}{pushed}){error}")
    return lines


def _score_lines(detection: DetectionRecord) -> list[str]:
    scores = decode_scores(detection.scores).tolist()
    if not scores:
        return ["  scores     none stored"]
    per_char = -(-len(scores) // SCORE_WIDTH)
    lines = [
        f"  scores     per second, 0:00 - {minutes(len(scores))}, one character = {per_char} s, height = probability",
        "  |" + sparkline(scores, SCORE_WIDTH),
    ]
    if detection.start_s is not None and detection.end_s is not None:
        lines.append("  |" + span_marker(len(scores), detection.start_s, detection.end_s, SCORE_WIDTH) + " intro")
    return lines

"""`intro-daemon status`: counts, the queue, recent errors and a line per season, read-only.

Never prints a secret: targets appear by their name from the pushes table, the database URL without its password.
"""

from __future__ import annotations

import argparse
import statistics
from collections import Counter
from datetime import UTC, datetime

from sqlalchemy import Engine
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from daemon.adapted import SHIPPED, AdaptedModelError, AdaptedModels
from daemon.commands.common import read_only
from daemon.commands.output import WITH_KIND, clock
from daemon.config import ClusterConfig, Config
from daemon.queue import DETECT_JOB_PREFIX, JOBS_TABLE, RECONCILE_JOB_ID
from db import summary
from db.models import DetectionRecord, EpisodeState


def register(sub: argparse._SubParsersAction, parent: argparse.ArgumentParser) -> None:
    status = sub.add_parser("status", parents=[parent], help="counts, queue, recent errors, seasons")
    status.add_argument("--errors", type=int, default=10, metavar="N", help="how many recent errors to list")
    status.set_defaults(func=main)


def _status(args: argparse.Namespace, config: Config, engine: Engine, session: Session) -> int:
    print("\n".join(_status_lines(session, engine, config, args.errors)))
    return 0


main = read_only(_status)


def _status_lines(session: Session, engine: Engine, config: Config, n_errors: int) -> list[str]:
    url = make_url(config.state.database_url).render_as_string(hide_password=True)
    counts = summary.episode_counts(session)
    total = sum(counts.values())
    by_state = ", ".join(f"{counts[s]} {s.value}" for s in EpisodeState if counts[s])
    lines = [f"database   {url}", f"episodes   {total}" + (f": {by_state}" if total else "")]
    lines.append(f"queue      {_queue_text(engine, counts[EpisodeState.PENDING])}")
    lines.append(f"lone model {_lone_model_text(config)}")
    if config.cluster is not None:
        lines.extend(_cluster_lines(session, config.cluster))
    lines.extend(_target_lines(session))
    lines.extend(_error_lines(session, n_errors))
    lines.extend(_season_lines(session))
    return lines


def _lone_model_text(config: Config) -> str:
    """Which network decides an episode without siblings: the shipped one, or one `intro-daemon adapt` fitted."""
    if config.worker.lone_weights is not None:
        return f"{config.worker.lone_weights} ([worker] lone_weights)"
    try:
        name = AdaptedModels(config.state.dir).active_name()
    except AdaptedModelError as e:
        return f"shipped, since: {e}"
    if name == SHIPPED:
        return "shipped (`intro-daemon adapt` fits one to this library)"
    return f"{name}, fitted to this library (`intro-daemon adapt --list`)"


def _queue_text(engine: Engine, pending: int) -> str:
    """Pending episodes are the queue (waiting for a worker); the job store adds retries set for later."""
    text = f"{pending} episode(s) waiting for detection"
    jobs = summary.scheduled_jobs(engine, JOBS_TABLE)
    if jobs is None:
        return text + " (the daemon has not run yet)"
    now = datetime.now(UTC).timestamp()
    later = [(job, at) for job, at in jobs if job.startswith(DETECT_JOB_PREFIX) and (at or 0) > now]
    if later:
        text += f", {len(later)} of them retried later (next {_when(later[0][1])})"
    reconcile = [at for job, at in jobs if job == RECONCILE_JOB_ID]
    if reconcile:
        text += f"; reconcile scan {_when(reconcile[0])}"
    return text


def _cluster_lines(session: Session, cluster: ClusterConfig) -> list[str]:
    """The scheduler as it answers now (a short wait at most), and the detections each worker computed."""
    from daemon.cluster.client import cluster_state

    state = cluster_state(cluster, timeout_s=min(cluster.connect_timeout_s, 3.0))
    lines = [f"cluster    {cluster.address}: {state}"]
    done = summary.detections_by_worker(session)
    if done:
        per_worker = ", ".join(f"{by or 'this machine'} {n}" for by, n in sorted(done.items()))
        lines.append(f"           detections done by: {per_worker}")
    return lines


def _when(timestamp: float | None) -> str:
    if timestamp is None:
        return "paused"
    at = datetime.fromtimestamp(timestamp, UTC)
    if at <= datetime.now(UTC):
        return "due now"
    return f"at {at:%Y-%m-%d %H:%M} UTC"


def _target_lines(session: Session) -> list[str]:
    return [
        f"target     {name}: {', '.join(f'{n} {state}' for state, n in states)}"
        for name, states in summary.push_counts(session).items()
    ]


def _error_lines(session: Session, n: int) -> list[str]:
    failed = summary.recent_episode_errors(session, n)
    push_failed = summary.recent_push_errors(session, n)
    if not failed and not push_failed:
        return []
    lines = ["recent errors"]
    lines += [f"  {e.updated_at:%Y-%m-%d %H:%M} {e.state:<8} {e.path}: {e.last_error}" for e in failed]
    lines += [f"  {p.updated_at:%Y-%m-%d %H:%M} push {p.target}: {p.episode.path}: {p.last_error}" for p in push_failed]
    return lines


def _season_lines(session: Session) -> list[str]:
    detections = summary.latest_detections(session)
    seasons = summary.episodes_by_season(session)
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
        copied = sum(1 for e in members if (d := detections.get(e.id)) is not None and "copies" in d.signals.split(","))
        if intros:
            length = statistics.median(end - start for start, end in intros)
            start = statistics.median(start for start, _ in intros)
            text += f"; {len(intros)} intros, typically {clock(length)} long at {clock(start)}"
        text += _other_kinds_text([d for e in members if e.state == EpisodeState.DONE and (d := detections.get(e.id))])
        if copied:
            text += f"; {copied} with copies of the same episode (left out of each other's season context)"
        lines.append(text)
    return lines


def _other_kinds_text(done: list[DetectionRecord]) -> str:
    """How many of the season's done episodes have a recap, credits (how many of them final), a preview."""
    having = Counter(kind for d in done for kind in {s.kind for s in d.others})
    final = sum(1 for d in done if any(s.kind == "credits" and s.final for s in d.others))
    parts = []
    for kind in WITH_KIND:
        if having[kind]:
            parts.append(f"{having[kind]} with {WITH_KIND[kind]}" + (f" ({final} final)" if kind == "credits" else ""))
    return "; " + ", ".join(parts) if parts else ""

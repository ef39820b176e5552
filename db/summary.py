"""Read-only queries behind `intro-daemon status` and `show`: counts, recent errors, the latest results."""

from __future__ import annotations

from collections import Counter, defaultdict

from sqlalchemy import Column, Engine, Float, MetaData, Table, Unicode, func, inspect, select
from sqlalchemy.orm import Session, selectinload

from db.models import DetectionRecord, Episode, Push


def episode_counts(session: Session) -> Counter[str]:
    """Episodes per state."""
    rows = session.execute(select(Episode.state, func.count()).group_by(Episode.state)).all()
    return Counter({state: n for state, n in rows})


def push_counts(session: Session) -> dict[str, list[tuple[str, int]]]:
    """Per target (sorted by name): (push state, count) pairs."""
    rows = session.execute(select(Push.target, Push.state, func.count()).group_by(Push.target, Push.state)).all()
    per_target: dict[str, list[tuple[str, int]]] = defaultdict(list)
    for target, state, n in rows:
        per_target[target].append((state, n))
    return dict(sorted(per_target.items()))


def detections_by_worker(session: Session) -> Counter[str]:
    """Detections per cluster worker that computed them ("" for the daemon itself)."""
    rows = session.execute(select(DetectionRecord.computed_by, func.count()).group_by(DetectionRecord.computed_by))
    return Counter({by: n for by, n in rows})


def recent_episode_errors(session: Session, n: int) -> list[Episode]:
    query = select(Episode).where(Episode.last_error.is_not(None)).order_by(Episode.updated_at.desc())
    return list(session.scalars(query.limit(max(0, n))))


def recent_push_errors(session: Session, n: int) -> list[Push]:
    query = select(Push).where(Push.last_error.is_not(None)).order_by(Push.updated_at.desc())
    return list(session.scalars(query.limit(max(0, n))))


def latest_detections(session: Session) -> dict[int, DetectionRecord]:
    """Each episode's latest detection, by episode id, its other segments loaded (one query for them all, not one
    per detection)."""
    latest = select(func.max(DetectionRecord.id)).group_by(DetectionRecord.episode_id)
    query = select(DetectionRecord).where(DetectionRecord.id.in_(latest)).options(selectinload(DetectionRecord.others))
    return {d.episode_id: d for d in session.scalars(query)}


def episodes_by_season(session: Session) -> dict[str, list[Episode]]:
    """Every episode, grouped by season key (sorted), each season's by path."""
    seasons: dict[str, list[Episode]] = defaultdict(list)
    for episode in session.scalars(select(Episode).order_by(Episode.season_key, Episode.path)):
        seasons[episode.season_key].append(episode)
    return dict(seasons)


def scheduled_jobs(engine: Engine, table: str) -> list[tuple[str, float | None]] | None:
    """(job id, next run time as a POSIX timestamp) from APScheduler's job table `table`, soonest first;
    None when the table does not exist (the daemon has not run yet). The job store owns and creates the table:
    only the two columns read here are declared."""
    if not inspect(engine).has_table(table):
        return None
    jobs = Table(table, MetaData(), Column("id", Unicode(191), primary_key=True), Column("next_run_time", Float))
    with engine.connect() as connection:
        rows = connection.execute(select(jobs.c.id, jobs.c.next_run_time).order_by(jobs.c.next_run_time)).all()
    return [(row.id, row.next_run_time) for row in rows]

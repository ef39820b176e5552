"""A throwaway SQLite database with the daemon's schema, and the real path by which results land in it."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from sqlalchemy.orm import Session, sessionmaker

from db import episodes
from db.models import Base, DetectionRecord
from db.results import segment_record
from db.session import make_engine, make_sessions
from detector.result import Intro, Segment


def make_db(folder: Path) -> sessionmaker[Session]:
    engine = make_engine(f"sqlite:///{folder / 'test.db'}")
    Base.metadata.create_all(engine)
    return make_sessions(engine)


def store_result(
    sessions: sessionmaker[Session],
    path: Path,
    intro: Intro | None,
    targets: Sequence[str],
    *,
    duration_s: float = 1500.0,
    mtime_ns: int = 1,
    others: Sequence[Segment] = (),
) -> int:
    """What the worker does after a detection: the episode is claimed, its result stored (the intro in the
    detection's columns, `others`, the recap, credits and preview, as its segment rows), its pushes queued.
    A new `mtime_ns` stands for a changed file, hence a new detection. Returns the detection's id."""
    with sessions.begin() as session:
        seen = episodes.Seen(str(path), str(path.parent), size=1000, mtime_ns=mtime_ns)
        episode = episodes.note_seen(session, seen)
        assert episodes.claim(session, episode.id, "test:1", ["pending", "done", "failed"])
        record = DetectionRecord(
            file_size=1000,
            file_mtime_ns=mtime_ns,
            model_version="test",
            start_s=intro.start_s if intro else None,
            end_s=intro.end_s if intro else None,
            confidence=intro.confidence if intro else None,
            duration_s=duration_s,
            elapsed_s=1.0,
        )
        record.others = [segment_record(s) for s in others]
        episodes.store_detection(session, episode.id, "test:1", record, targets)
        session.flush()
        return record.id

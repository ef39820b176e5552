"""Revisit: the episodes of a season arriving one at a time, in any order, end with the results of a scan of the
whole season, each file decoded once. The real detector, the daemon's worker and its database store."""

from __future__ import annotations

import itertools
import shutil
from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

import detector.inference as inference
from daemon.config import LibraryConfig
from daemon.fingerprints import DatabaseStore
from daemon.library.filter import LibraryFilter
from daemon.worker import Outcome, Worker
from db.migrate import upgrade
from db.models import DetectionRecord, Episode, StoredAnalysis
from db.session import make_engine, make_sessions
from db.transactions import Database
from detector import Detector

pytestmark = pytest.mark.slow


def worker_on(folder: Path, weights: Path | None) -> tuple[Worker, sessionmaker[Session]]:
    engine = make_engine(f"sqlite:///{folder / 'state.db'}")
    upgrade(engine)
    sessions = make_sessions(engine)
    detector = Detector.load(weights, threads=1, store=DatabaseStore(sessions))
    library = LibraryFilter(LibraryConfig(folders=(folder / "lib",)))
    worker = Worker(
        Database(sessions), detector.detect, detector.model_version, library, owner="test:1", revisit=detector.revisit
    )
    return worker, sessions


def results(sessions: sessionmaker[Session]) -> dict[str, tuple[float | None, float | None, float | None]]:
    with sessions() as session:
        rows = session.execute(select(Episode.path, DetectionRecord).join(DetectionRecord)).all()
        assert len(rows) == len({path for path, _ in rows})  # one result per episode
        return {Path(path).name: (d.start_s, d.end_s, d.confidence) for path, d in rows}


def test_a_season_arriving_in_any_order_ends_as_a_whole_season_scan(
    tmp_path: Path, season_media: list[Path], detector_weights: Path | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    decoded: Counter[str] = Counter()
    extract = inference.extract

    def counting(path: Path, *args: object, **kwargs: object) -> object:
        decoded[Path(path).name] += 1
        return extract(path, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(inference, "extract", counting)

    whole = tmp_path / "whole"
    (whole / "lib" / "S1").mkdir(parents=True)
    for src in season_media:
        shutil.copy(src, whole / "lib" / "S1" / src.name)
    worker, sessions = worker_on(whole, detector_weights)
    for src in season_media:
        assert worker.process(whole / "lib" / "S1" / src.name).outcome == Outcome.DONE
    expected = results(sessions)
    assert set(expected) == {src.name for src in season_media}

    for n, order in enumerate(list(itertools.permutations(season_media))[::2]):
        decoded.clear()
        run = tmp_path / f"order{n}"
        (run / "lib" / "S1").mkdir(parents=True)
        worker, sessions = worker_on(run, detector_weights)
        for src in order:  # each episode lands, is detected, and the earlier ones are decided again
            shutil.copy(src, run / "lib" / "S1" / src.name)
            assert worker.process(run / "lib" / "S1" / src.name).outcome == Outcome.DONE
        assert results(sessions) == expected, [src.name for src in order]
        assert decoded == Counter({src.name: 1 for src in season_media}), decoded
        with sessions() as session:
            kept = session.scalars(select(StoredAnalysis)).all()
            revisited = session.scalars(select(DetectionRecord.signals)).all()
        assert len(kept) == len(season_media)  # a season under SETTLED_SIBLINGS + 1 stays revisitable
        assert sum("revisited" in signals for signals in revisited) == len(season_media) - 1

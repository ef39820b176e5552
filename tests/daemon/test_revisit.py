"""Revisit: the episodes of a season arriving one at a time, in any order, end with the results of a scan of the
whole season, each file decoded once; a settled episode gets its preview when the next one arrives. The real
detector, the daemon's worker and its database store."""

from __future__ import annotations

import itertools
import shutil
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

import detector.inference as inference
from corpus.procedural import make_season
from daemon.config import LibraryConfig
from daemon.fingerprints import DatabaseStore
from daemon.library.filter import LibraryFilter
from daemon.worker import Outcome, Worker
from db.migrate import upgrade
from db.models import DetectionRecord, Episode, StoredAnalysis
from db.results import segments_of
from db.session import make_engine, make_sessions
from db.transactions import Database
from detector import Detector
from tests.clips import PREVIEW_SEASON

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


def counting(decode: Callable[..., Any], decoded: Counter[str]) -> Callable[..., Any]:
    """`decode`, counting the files it opens (by name) in `decoded`."""

    def counted(path: Path, *args: object, **kwargs: object) -> Any:
        decoded[Path(path).name] += 1
        return decode(path, *args, **kwargs)

    return counted


def scanned_whole(folder: Path, media: list[Path], weights: Path | None) -> sessionmaker[Session]:
    """The season copied in whole, then each episode detected: a first scan's results."""
    (folder / "lib" / "S1").mkdir(parents=True)
    for src in media:
        shutil.copy(src, folder / "lib" / "S1" / src.name)
    worker, sessions = worker_on(folder, weights)
    for src in media:
        assert worker.process(folder / "lib" / "S1" / src.name).outcome == Outcome.DONE
    return sessions


def results(sessions: sessionmaker[Session]) -> dict[str, tuple[float | None, float | None, float | None]]:
    with sessions() as session:
        rows = session.execute(select(Episode.path, DetectionRecord).join(DetectionRecord)).all()
        assert len(rows) == len({path for path, _ in rows})  # one result per episode
        return {Path(path).name: (d.start_s, d.end_s, d.confidence) for path, d in rows}


def test_a_season_arriving_in_any_order_ends_as_a_whole_season_scan(
    tmp_path: Path, season_media: list[Path], detector_weights: Path | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    decoded: Counter[str] = Counter()
    monkeypatch.setattr(inference, "extract", counting(inference.extract, decoded))

    expected = results(scanned_whole(tmp_path / "whole", season_media, detector_weights))
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


def segments(sessions: sessionmaker[Session]) -> dict[str, list[tuple[str, float, float, bool]]]:
    """Per episode, what the targets get: each segment's kind, ends and finality (confidences differ: an episode
    settled with fewer siblings than a whole-season scan keeps its intro's, see SETTLED_SIBLINGS)."""
    with sessions() as session:
        rows = session.execute(select(Episode.path, DetectionRecord).join(DetectionRecord)).all()
        return {Path(path).name: [(s.kind, s.start_s, s.end_s, s.final) for s in segments_of(d)] for path, d in rows}


def test_a_weekly_show_s_settled_episode_gets_its_preview_when_the_next_arrives(
    tmp_path: Path, detector_weights: Path | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = tmp_path / "source"
    truths = {Path(t.path).name: t for t in make_season(source, episodes=5, seed=4, profile=PREVIEW_SEASON)}
    media = sorted(source.rglob("*.mkv"))
    expected = segments(scanned_whole(tmp_path / "whole", media, detector_weights))

    weekly = tmp_path / "weekly"
    (weekly / "lib" / "S1").mkdir(parents=True)
    worker, sessions = worker_on(weekly, detector_weights)
    for src in media[:4]:  # E04 is decided with three siblings: settled, nothing but fingerprints kept
        shutil.copy(src, weekly / "lib" / "S1" / src.name)
        assert worker.process(weekly / "lib" / "S1" / src.name).outcome == Outcome.DONE
    e04 = media[3].name
    assert "preview" not in [s[0] for s in segments(sessions)[e04]]  # its next episode is not there yet
    with sessions() as session:
        assert session.scalar(select(StoredAnalysis).join(Episode).where(Episode.path.endswith(e04))) is None

    decoded: Counter[str] = Counter()
    for name in ("extract", "extract_sound", "decode_pictures"):
        monkeypatch.setattr(inference, name, counting(getattr(inference, name), decoded))
    shutil.copy(media[4], weekly / "lib" / "S1" / media[4].name)  # a week later
    assert worker.process(weekly / "lib" / "S1" / media[4].name).outcome == Outcome.DONE
    assert set(decoded) == {media[4].name}  # E04 decided again from what is stored

    got = segments(sessions)
    assert got == expected  # as a scan of the whole season
    (preview,) = [s for s in got[e04] if s[0] == "preview"]
    (truth,) = [s for s in truths[e04].segments if s.kind == "preview"]
    assert abs(preview[1] - truth.start_s) <= 2.0 and abs(preview[2] - truth.end_s) <= 2.0

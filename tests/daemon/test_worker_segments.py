"""The worker stores every segment of a detection (recap, intro, credits, preview); a revisit replaces them, and
sends the markers again only when a segment moved."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from daemon.config import LibraryConfig
from daemon.fingerprints import DatabaseStore
from daemon.library.filter import LibraryFilter, season_key, stat_file
from daemon.worker import RESCAN_STATES, Outcome, Worker
from db import episodes
from db.models import DetectionRecord, EpisodeState, Fingerprint, Push, PushState
from db.results import segments_of
from db.transactions import Database
from detector.fingerprint import Fingerprints
from detector.result import Detection, Intro, Segment

RECAP = Segment("recap", 0.0, 8.0, 0.8, ("repetition",))
CREDITS = Segment("credits", 100.0, 115.0, 0.7, ("black-card",), final=True)
PREVIEW = Segment("preview", 115.0, 120.0, 0.6, ("repetition",))


def found(path: Path, others: tuple[Segment, ...] = (RECAP, CREDITS, PREVIEW)) -> Detection:
    return Detection(path, 120.0, Intro(10.0, 40.0, 0.9), "fake-1", (0.5,) * 60, ("network",), "", others)


class Season:
    """Detects every episode with all its segments; a revisit answers `revisited` for e1 (None: nothing new)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.revisited: Detection | None = None

    def detect(self, path: Path, siblings: Sequence[Path] = ()) -> Detection:
        return found(path)

    def revisit(self, path: Path, siblings: Sequence[Path], settled: Detection | None) -> Detection | None:
        return self.revisited if path.name == "e1.mkv" else None


@pytest.fixture
def season(tmp_path: Path) -> Season:
    folder = tmp_path / "lib" / "Show" / "S01"
    folder.mkdir(parents=True)
    for name in ("e1.mkv", "e2.mkv"):
        (folder / name).write_bytes(b"video " + name.encode())
    return Season(folder)


def worker_for(sessions: sessionmaker[Session], season: Season) -> Worker:
    library = LibraryFilter(LibraryConfig(folders=(season.folder.parent.parent,)))
    return Worker(
        Database(sessions), season.detect, "fake-1", library, owner="host:1", targets=["home"], revisit=season.revisit
    )


def stored(sessions: sessionmaker[Session], path: Path) -> tuple[int, tuple[Segment, ...], str]:
    """The episode's latest detection id, its segments, and the state of its push to "home"."""
    with sessions() as s:
        episode = episodes.get(s, str(path))
        assert episode is not None
        detection = episodes.latest_detection(s, episode.id)
        assert detection is not None
        push = s.scalars(select(Push).where(Push.episode_id == episode.id)).one()
        return detection.id, segments_of(detection), push.state


def pushed(sessions: sessionmaker[Session], path: Path) -> None:
    """As if the push to "home" had gone through."""
    with sessions.begin() as s:
        episode = episodes.get(s, str(path))
        assert episode is not None
        push = s.scalars(select(Push).where(Push.episode_id == episode.id)).one()
        push.state = PushState.DONE


def test_every_segment_is_stored_and_said(sessions: sessionmaker[Session], season: Season) -> None:
    e1 = season.folder / "e1.mkv"
    result = worker_for(sessions, season).process(e1)
    assert result.outcome == Outcome.DONE
    assert result.detail == (
        "intro 10.0-40.0 s (confidence 0.90), recap 0.0-8.0 s, final credits 100.0-115.0 s, preview 115.0-120.0 s"
    )
    assert result.found == ("recap", "intro", "credits", "preview")  # what rescan counts
    _, segments, push = stored(sessions, e1)
    assert segments == found(e1).segments and push == PushState.PENDING
    assert [s.kind for s in segments] == ["recap", "intro", "credits", "preview"]


def test_a_revisit_replaces_the_segments_and_pushes_only_when_one_moved(
    sessions: sessionmaker[Session], season: Season
) -> None:
    e1, e2 = season.folder / "e1.mkv", season.folder / "e2.mkv"
    worker = worker_for(sessions, season)
    assert worker.process(e1).outcome == Outcome.DONE
    first_id, _, _ = stored(sessions, e1)
    pushed(sessions, e1)

    surer = Segment("credits", 100.0, 115.0, 0.95, ("black-card", "text"), final=True)  # same ends, surer
    season.revisited = found(e1, (RECAP, surer, PREVIEW))
    assert worker.process(e2).outcome == Outcome.DONE  # e1 is decided again with e2
    detection_id, segments, push = stored(sessions, e1)
    assert detection_id == first_id and segments[2] == surer  # replaced in place
    assert push == PushState.DONE  # the markers would be the same: not sent again

    season.revisited = found(e1, (RECAP, Segment("credits", 98.0, 120.0, 0.9, final=False)))  # moved, no preview
    assert worker.process(e2, RESCAN_STATES, force=True).outcome == Outcome.DONE  # e2 again, e1 revisited
    detection_id, segments, push = stored(sessions, e1)
    assert detection_id == first_id and [s.kind for s in segments] == ["recap", "intro", "credits"]
    assert (segments[2].start_s, segments[2].final) == (98.0, False)
    assert push == PushState.PENDING  # the targets' markers change
    with sessions() as s:
        assert len(s.scalars(select(DetectionRecord).where(DetectionRecord.id == first_id)).one().others) == 2


def test_a_detection_with_an_intro_among_the_others_fails_the_episode_and_frees_it(
    sessions: sessionmaker[Session], season: Season
) -> None:
    def detect(path: Path, siblings: Sequence[Path] = ()) -> Detection:
        return found(path, (RECAP, Segment("intro", 10.0, 40.0, 0.9)))

    season.detect = detect  # type: ignore[method-assign]
    e1 = season.folder / "e1.mkv"
    worker = worker_for(sessions, season)
    result = worker.process(e1)
    assert "an intro in Detection.others" in result.detail, result
    assert not worker.busy()
    with sessions() as s:
        episode = episodes.get(s, str(e1))
        assert episode is not None and episode.state in (EpisodeState.PENDING, EpisodeState.FAILED), episode.state


class Weekly:
    """A numbered season whose episodes arrive one at a time. Each detection stores its own fingerprints, as the
    cascade does; with `first_scan`, every sibling's before its own, as a first scan's analysis of the siblings
    does. A settled result handed to `revisit` comes back with a preview (what the next episode gives)."""

    def __init__(self, folder: Path, sessions: sessionmaker[Session], first_scan: bool = False) -> None:
        self.folder = folder
        self.store = DatabaseStore(sessions)
        self.first_scan = first_scan
        self.requoted: list[str] = []

    def arrive(self, number: int) -> Path:
        path = self.folder / f"Show S01E{number:02d}.mkv"
        path.write_bytes(b"video %d" % number)
        return path

    def detect(self, path: Path, siblings: Sequence[Path] = ()) -> Detection:
        for p in [*siblings, path] if self.first_scan else [path]:
            if self.store.get(p) is None:  # decoded once
                self.store.put(p, Fingerprints(np.ones(10, np.uint32), np.zeros(1, np.uint64)))
        return found(path, (CREDITS,))

    def revisit(self, path: Path, siblings: Sequence[Path], settled: Detection | None) -> Detection | None:
        if settled is None:
            return None
        self.requoted.append(path.name[-10:-4])
        return replace(settled, others=(*settled.others, PREVIEW))


def test_a_settled_episode_gets_its_preview_when_the_next_one_arrives(
    sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    folder = tmp_path / "lib" / "Show" / "Season 01"
    folder.mkdir(parents=True)
    weekly = Weekly(folder, sessions)
    library = LibraryFilter(LibraryConfig(folders=(tmp_path / "lib",)))
    worker = Worker(
        Database(sessions), weekly.detect, "fake-1", library, owner="h:1", targets=["home"], revisit=weekly.revisit
    )
    e1 = weekly.arrive(1)
    assert worker.process(e1).outcome == Outcome.DONE and weekly.requoted == []
    pushed(sessions, e1)
    assert worker.process(weekly.arrive(2)).outcome == Outcome.DONE
    assert weekly.requoted == ["S01E01"]  # its next episode: its preview may quote it
    _, segments, push = stored(sessions, e1)
    assert [s.kind for s in segments] == ["intro", "credits", "preview"] and push == PushState.PENDING
    weekly.requoted.clear()
    assert worker.process(weekly.arrive(4)).outcome == Outcome.DONE
    assert weekly.requoted == ["S01E02"]  # not E01: E02 comes between
    weekly.requoted.clear()
    assert worker.process(weekly.arrive(3)).outcome == Outcome.DONE  # late: E02's next, and earlier than E04
    assert sorted(weekly.requoted) == ["S01E02", "S01E04"]


def test_a_first_scan_decides_nothing_twice(sessions: sessionmaker[Session], tmp_path: Path) -> None:
    folder = tmp_path / "lib" / "Show" / "Season 01"
    folder.mkdir(parents=True)
    weekly = Weekly(folder, sessions, first_scan=True)
    season = [weekly.arrive(n) for n in (1, 2, 3)]
    with sessions.begin() as s:  # the whole season is known before its first detection, as in a rescan
        for path in season:
            stat = stat_file(path)
            assert stat is not None
            episodes.note_seen(s, episodes.Seen(str(path), season_key(path), stat.size, stat.mtime_ns))
    library = LibraryFilter(LibraryConfig(folders=(tmp_path / "lib",)))
    worker = Worker(Database(sessions), weekly.detect, "fake-1", library, owner="h:1", revisit=weekly.revisit)
    assert [worker.process(p).outcome for p in season] == [Outcome.DONE] * 3
    with sessions() as s:
        assert s.scalar(select(func.count()).select_from(Fingerprint)) == 3  # they were stored, before each result
    assert weekly.requoted == []

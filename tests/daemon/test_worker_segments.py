"""The worker stores every segment of a detection (recap, intro, credits, preview); a revisit replaces them, and
sends the markers again only when a segment moved."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from daemon.config import LibraryConfig
from daemon.library.filter import LibraryFilter
from daemon.worker import RESCAN_STATES, Outcome, Worker
from db import episodes
from db.models import DetectionRecord, EpisodeState, Push, PushState
from db.results import segments_of
from db.transactions import Database
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

    def revisit(self, path: Path, siblings: Sequence[Path]) -> Detection | None:
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

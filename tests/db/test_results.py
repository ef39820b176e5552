"""A Detection with every kind of segment, stored and read back: replaced on a revisit and on a new result for the
same file, gone with its detection."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session, sessionmaker

from db import episodes
from db.episodes import Seen
from db.models import DetectionRecord, EpisodeState, SegmentRecord
from db.results import detection_record, segment_record, segments_of
from detector.result import Detection, Intro, Segment

OWNER = "host:1"
PATH = "/tv/S1/e1.mkv"

RECAP = Segment("recap", 0.0, 42.5, 0.8, ("repetition",))
CREDITS = Segment("credits", 2510.0, 2570.0, 0.7, ("black-card", "text"), final=True)
PREVIEW = Segment("preview", 2570.0, 2600.0, 0.6, ("repetition",))


def whole(start_s: float = 60.0, others: tuple[Segment, ...] = (RECAP, CREDITS, PREVIEW)) -> Detection:
    return Detection(
        Path(PATH), 2600.0, Intro(start_s, start_s + 50, 0.9), "m1", (0.1, 0.9), ("network", "repetition"), "", others
    )


def stored(sessions: sessionmaker[Session], detection: Detection) -> int:
    """Claims the episode and stores `detection` as the worker does; the detection row's id."""
    with sessions.begin() as s:
        episode = episodes.note_seen(s, Seen(PATH, "/tv/S1", 100, 1))
        assert episodes.claim(s, episode.id, OWNER, {EpisodeState.PENDING, EpisodeState.DONE})
        record = detection_record(detection, 100, 1, elapsed_s=2.0)
        assert episodes.store_detection(s, episode.id, OWNER, record, ["home"]) is not None
        s.flush()
        return record.id


def segment_rows(sessions: sessionmaker[Session]) -> list[tuple[int, str]]:
    with sessions() as s:
        return [(r.detection_id, r.kind) for r in s.scalars(select(SegmentRecord).order_by(SegmentRecord.start_s))]


def test_every_segment_is_stored_and_read_back_in_time_order(sessions: sessionmaker[Session]) -> None:
    detection = whole()
    detection_id = stored(sessions, detection)
    assert segment_rows(sessions) == [(detection_id, "recap"), (detection_id, "credits"), (detection_id, "preview")]
    with sessions() as s:
        record = s.get_one(DetectionRecord, detection_id)
        assert (record.start_s, record.end_s, record.confidence) == (60.0, 110.0, 0.9)  # the intro: as before
        assert record.signals == "network,repetition"
        assert [r.signals for r in record.others] == ["repetition", "black-card,text", "repetition"]
        assert segments_of(record) == detection.segments
    assert [s.kind for s in detection.segments] == ["recap", "intro", "credits", "preview"]
    assert detection.segments[2].final and not detection.segments[3].final


def test_a_detection_without_an_intro_or_other_segments(sessions: sessionmaker[Session]) -> None:
    nothing = Detection(Path(PATH), 2600.0, None, "m1")
    detection_id = stored(sessions, nothing)
    with sessions() as s:
        assert segments_of(s.get_one(DetectionRecord, detection_id)) == ()
    credits_only = Detection(Path(PATH), 2600.0, None, "m2", others=(CREDITS,))
    detection_id = stored(sessions, credits_only)
    with sessions() as s:
        assert segments_of(s.get_one(DetectionRecord, detection_id)) == (CREDITS,)


def test_a_revisit_replaces_the_segments_in_place(sessions: sessionmaker[Session]) -> None:
    detection_id = stored(sessions, whole())
    later = Segment("credits", 2500.0, 2600.0, 0.95, ("black-card",), final=True)
    revisited = whole(start_s=61.0, others=(later,))
    with sessions.begin() as s:
        episode = episodes.get(s, PATH)
        assert episode is not None
        record = detection_record(revisited, 100, 1, elapsed_s=0.1)
        assert episodes.replace_result(s, episode.id, detection_id, record, ["home"])
    assert segment_rows(sessions) == [(detection_id, "credits")]  # the same detection row, its old segments gone
    with sessions() as s:
        (row,) = s.scalars(select(DetectionRecord)).all()
        assert row.id == detection_id and row.start_s == 61.0 and row.elapsed_s == 2.0  # kept: the detection's time
        assert segments_of(row) == revisited.segments


def test_a_new_result_for_the_same_file_and_model_replaces_the_segments(sessions: sessionmaker[Session]) -> None:
    stored(sessions, whole())
    detection_id = stored(sessions, whole(others=(PREVIEW,)))  # --force: the same key, deleted by one DELETE
    assert segment_rows(sessions) == [(detection_id, "preview")]


def test_deleting_a_detection_or_its_episode_deletes_its_segments(sessions: sessionmaker[Session]) -> None:
    detection_id = stored(sessions, whole())
    with sessions.begin() as s:
        s.delete(s.get_one(DetectionRecord, detection_id))  # the ORM's cascade
    assert segment_rows(sessions) == []
    stored(sessions, whole(start_s=70.0))
    with sessions.begin() as s:
        episode = episodes.get(s, PATH)
        assert episode is not None
        s.delete(episode)
    with sessions() as s:
        assert s.scalar(select(func.count()).select_from(SegmentRecord)) == 0


def test_the_database_cascades_too(sessions: sessionmaker[Session]) -> None:
    """Rows deleted by SQL, not through the ORM (store_detection's DELETE; another tool): the foreign key's
    ON DELETE CASCADE takes their segments."""
    detection_id = stored(sessions, whole())
    with sessions.begin() as s:
        s.execute(delete(DetectionRecord).where(DetectionRecord.id == detection_id))
    assert segment_rows(sessions) == []


def test_an_intro_among_the_others_is_refused_before_it_reaches_the_table() -> None:
    with pytest.raises(ValueError, match=r"the intro is Detection\.intro"):
        segment_record(Segment("intro", 10.0, 40.0, 0.9))

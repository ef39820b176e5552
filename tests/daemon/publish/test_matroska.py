"""Matroska chapters written with the real mkvpropedit into a real MKV, read back with PyAV to the millisecond."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import av
import pytest

from daemon.publish import matroska
from daemon.publish.base import EpisodeRef, PushAction
from daemon.publish.credentials import Secret
from daemon.publish.errors import ForeignFileError, PermanentPublishError
from daemon.publish.jellyfin import JellyfinApi, JellyfinOptions
from daemon.publish.matroska import (
    Chapter,
    MatroskaOptions,
    MatroskaPublisher,
    SegmentScans,
    chapters_xml,
    wanted_chapters,
)
from daemon.publish.options import ServerOptions
from detector.result import Segment
from tests.clips import write_clip
from tests.daemon.publish.segments import intro
from tests.fakeservers.jellyfin import FakeJellyfin

pytestmark = pytest.mark.skipif(
    shutil.which("mkvpropedit") is None,
    reason="mkvpropedit (mkvtoolnix) is not installed; scripts/test.sh installs it with apt-get when run as root",
)
DURATION_S = 6.0


@pytest.fixture(scope="module")
def master(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_clip(tmp_path_factory.mktemp("mkv") / "master.mkv", DURATION_S, fps=10, size=(64, 48))


@pytest.fixture
def episode(master: Path, tmp_path: Path) -> EpisodeRef:
    path = tmp_path / "Show S01E01.mkv"
    shutil.copyfile(master, path)
    return EpisodeRef(path, DURATION_S)


def chapters(path: Path) -> list[tuple[int, int, str]]:
    """(start ms, end ms, title), as PyAV (FFmpeg) reads them."""
    with av.open(str(path)) as container:
        found = container.chapters()
    return [
        (round(c["start"] * c["time_base"] * 1000), round(c["end"] * c["time_base"] * 1000), c["metadata"]["title"])
        for c in found
    ]


def test_opening_and_episode_chapters_with_a_cold_open(episode: EpisodeRef) -> None:
    publisher = MatroskaPublisher("mkv", MatroskaOptions())
    result = publisher.push(episode, intro(1.234, 3.5, 0.9))
    assert result.action is PushAction.CREATED and result.file_changed
    assert chapters(episode.path) == [(0, 1234, "Cold Open"), (1234, 3500, "Opening"), (3500, 6000, "Episode")]


def test_an_intro_at_the_start_needs_no_cold_open(episode: EpisodeRef) -> None:
    MatroskaPublisher("mkv", MatroskaOptions()).push(episode, intro(0.0, 2.001, 0.9))
    assert chapters(episode.path) == [(0, 2001, "Opening"), (2001, 6000, "Episode")]


def test_repush_leaves_the_file_alone_and_a_new_detection_replaces(episode: EpisodeRef) -> None:
    publisher = MatroskaPublisher("mkv", MatroskaOptions())
    publisher.push(episode, intro(1.0, 3.0, 0.9))
    os.utime(episode.path, ns=(10**9, 10**9))
    unchanged = publisher.push(episode, intro(1.0, 3.0, 0.9))
    assert unchanged.action is PushAction.UNCHANGED and not unchanged.file_changed
    assert episode.path.stat().st_mtime_ns == 10**9  # untouched: servers would otherwise re-probe it
    assert publisher.push(episode, intro(0.5, 2.75, 0.9)).action is PushAction.REPLACED
    assert chapters(episode.path) == [(0, 500, "Cold Open"), (500, 2750, "Opening"), (2750, 6000, "Episode")]


def test_no_intro_removes_our_chapters(episode: EpisodeRef) -> None:
    publisher = MatroskaPublisher("mkv", MatroskaOptions())
    assert publisher.push(episode, ()).action is PushAction.UNCHANGED
    publisher.push(episode, intro(1.0, 3.0, 0.9))
    assert publisher.push(episode, ()).action is PushAction.REMOVED
    assert chapters(episode.path) == []


def test_chapters_we_did_not_write_are_kept_unless_asked(episode: EpisodeRef, tmp_path: Path) -> None:
    own = tmp_path / "own.xml"
    own.write_text(chapters_xml(wanted_chapters(intro(2.0, 4.0), DURATION_S), DURATION_S).replace("Opening", "Act 1"))
    subprocess.run(["mkvpropedit", str(episode.path), "--chapters", str(own)], check=True, capture_output=True)
    before = chapters(episode.path)
    with pytest.raises(ForeignFileError, match="has its own chapters"):
        MatroskaPublisher("mkv", MatroskaOptions()).push(episode, intro(1.0, 3.0, 0.9))
    assert MatroskaPublisher("mkv", MatroskaOptions()).push(episode, ()).action is PushAction.UNCHANGED
    assert chapters(episode.path) == before
    forced = MatroskaPublisher("mkv", MatroskaOptions(overwrite_chapters=True)).push(episode, intro(1.0, 3.0, 0.9))
    assert forced.action is PushAction.REPLACED
    assert [c[2] for c in chapters(episode.path)] == ["Cold Open", "Opening", "Episode"]


def write_chapters(path: Path, tmp_path: Path, *titled: tuple[int, str]) -> None:
    xml = tmp_path / "chapters.xml"
    xml.write_text(chapters_xml([Chapter(ms, title) for ms, title in titled], DURATION_S))
    subprocess.run(["mkvpropedit", str(path), "--chapters", str(xml)], check=True, capture_output=True)


def test_chapters_an_earlier_version_wrote_are_replaced(episode: EpisodeRef, tmp_path: Path) -> None:
    write_chapters(episode.path, tmp_path, (0, "Prologue"), (1000, "Intro"), (3000, "Episode"))
    publisher = MatroskaPublisher("mkv", MatroskaOptions())
    assert publisher.push(episode, intro(1.0, 3.0, 0.9)).action is PushAction.REPLACED
    assert chapters(episode.path) == [(0, 1000, "Cold Open"), (1000, 3000, "Opening"), (3000, 6000, "Episode")]
    write_chapters(episode.path, tmp_path, (0, "Intro"), (2000, "Episode"))
    assert publisher.push(episode, ()).action is PushAction.REMOVED
    assert chapters(episode.path) == []


@pytest.mark.parametrize(
    "titled",
    [
        [(0, "Prologue"), (1000, "Opening"), (3000, "Episode")],  # an anime release's own: old and new names mixed
        [(0, "Opening"), (1000, "Cold Open")],  # our names, not in our order
        [(500, "Opening"), (3000, "Episode")],  # not from 0
        [(0, "Cold Open"), (1000, "Opening"), (2000, "Episode"), (3000, "Episode")],
    ],
)
def test_sets_we_would_not_have_written_are_foreign(
    episode: EpisodeRef, tmp_path: Path, titled: list[tuple[int, str]]
) -> None:
    write_chapters(episode.path, tmp_path, *titled)
    with pytest.raises(ForeignFileError):
        MatroskaPublisher("mkv", MatroskaOptions()).push(episode, intro(1.0, 3.0, 0.9))


def test_only_matroska_files(tmp_path: Path) -> None:
    mp4 = EpisodeRef(tmp_path / "Show S01E01.mp4", DURATION_S)
    result = MatroskaPublisher("mkv", MatroskaOptions()).push(mp4, intro(1.0, 3.0, 0.9))
    assert result.action is PushAction.SKIPPED


def test_a_missing_mkvpropedit_says_what_to_install(episode: EpisodeRef) -> None:
    publisher = MatroskaPublisher("mkv", MatroskaOptions(mkvpropedit="/nonexistent/mkvpropedit"))
    with pytest.raises(PermanentPublishError, match="apt install mkvtoolnix"):
        publisher.probe()
    with pytest.raises(PermanentPublishError, match="not found"):
        publisher.push(episode, intro(1.0, 3.0, 0.9))


@pytest.fixture
def jellyfin(episode: EpisodeRef) -> Iterator[FakeJellyfin]:
    server = FakeJellyfin("key-123", {str(episode.path): "c0ffee"}, plugin=None).start()
    yield server
    server.stop()


def jellyfin_api(jellyfin: FakeJellyfin) -> JellyfinApi:
    return JellyfinApi("jf", JellyfinOptions(ServerOptions(jellyfin.url, Secret("key-123")), write_segments=False))


def scans_started(jellyfin: FakeJellyfin) -> int:
    return len(jellyfin.calls("POST", rf"/ScheduledTasks/Running/{jellyfin.task_id}"))


def wait_for(condition: Callable[[], bool], timeout_s: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


def test_jellyfin_rereads_each_item_and_one_segment_scan_serves_the_batch(
    episode: EpisodeRef, jellyfin: FakeJellyfin
) -> None:
    api = jellyfin_api(jellyfin)
    scans = SegmentScans(api, delay_s=2.0, max_wait_s=60.0)
    publisher = MatroskaPublisher("mkv", MatroskaOptions(refresh_jellyfin="jf"), jellyfin=api, scans=scans)
    actions = [publisher.push(episode, found).action for found in (intro(1.0, 3.0), intro(0.5, 3.0))]
    actions.append(publisher.push(episode, intro(0.5, 3.0, 0.9)).action)
    assert actions == [PushAction.CREATED, PushAction.REPLACED, PushAction.UNCHANGED]
    refreshes = jellyfin.calls("POST", r"/Items/c0ffee/Refresh")
    assert len(refreshes) == 3  # the item only: no library refresh, no scan yet
    assert all(r.arg("metadataRefreshMode") == "FullRefresh" and r.arg("imageRefreshMode") == "None" for r in refreshes)
    assert all(r.arg("replaceAllImages") == "false" for r in refreshes)
    assert not jellyfin.calls("POST", r"/Library/Refresh") and scans_started(jellyfin) == 0
    assert wait_for(lambda: scans_started(jellyfin) == 1)  # 2 s after the last refresh
    time.sleep(0.3)
    assert scans_started(jellyfin) == 1 and scans.runs == 1


def test_a_long_batch_still_gets_a_scan_every_max_wait(jellyfin: FakeJellyfin) -> None:
    scans = SegmentScans(jellyfin_api(jellyfin), delay_s=1.0, max_wait_s=1.5)
    started = time.monotonic()
    while time.monotonic() - started < 3.5:  # a refresh every 0.2 s: the delay alone would never come
        scans.want()
        time.sleep(0.2)
    assert scans_started(jellyfin) >= 1
    scans.flush()


def test_a_pending_scan_runs_at_exit_and_a_failed_one_is_logged(
    episode: EpisodeRef, jellyfin: FakeJellyfin, caplog: pytest.LogCaptureFixture
) -> None:
    api = jellyfin_api(jellyfin)
    publisher = MatroskaPublisher("mkv", MatroskaOptions(refresh_jellyfin="jf"), jellyfin=api)  # default delay
    assert publisher.push(episode, intro(1.0, 3.0, 0.9)).action is PushAction.CREATED
    assert scans_started(jellyfin) == 0
    matroska._flush_scans()  # what `intro-daemon push` runs at exit
    assert scans_started(jellyfin) == 1
    matroska._flush_scans()
    assert scans_started(jellyfin) == 1  # nothing pending any more
    jellyfin.fail_next(500, path=r"/ScheduledTasks/Running/.*")
    publisher.push(episode, intro(0.5, 3.0, 0.9))
    matroska._flush_scans()
    assert "next scheduled scan" in caplog.text


# Every kind: a chapter each, named as the skip tools act on them, the story between them


SHORT = (
    Segment("recap", 0.0, 1.0, 0.8),
    Segment("intro", 1.5, 3.0, 0.9),
    Segment("credits", 4.0, 5.0, 0.85, final=True),
    Segment("preview", 5.0, 6.0, 0.7),
)


def test_every_kind_is_a_chapter_with_the_story_between(episode: EpisodeRef) -> None:
    publisher = MatroskaPublisher("mkv", MatroskaOptions())
    assert publisher.push(episode, SHORT).action is PushAction.CREATED
    assert chapters(episode.path) == [
        (0, 1000, "Recap"),
        (1000, 1500, "Cold Open"),
        (1500, 3000, "Opening"),
        (3000, 4000, "Episode"),
        (4000, 5000, "Ending"),
        (5000, 6000, "Preview"),
    ]
    os.utime(episode.path, ns=(10**9, 10**9))
    again = publisher.push(episode, SHORT)
    assert again.action is PushAction.UNCHANGED and episode.path.stat().st_mtime_ns == 10**9

    without_credits = tuple(s for s in SHORT if s.kind != "credits")
    assert publisher.push(episode, without_credits).action is PushAction.REPLACED
    assert [c[2] for c in chapters(episode.path)] == ["Recap", "Cold Open", "Opening", "Episode", "Preview"]
    assert chapters(episode.path)[3] == (3000, 5000, "Episode")
    assert publisher.push(episode, ()).action is PushAction.REMOVED and chapters(episode.path) == []


def test_a_target_takes_only_its_kinds_into_chapters(episode: EpisodeRef) -> None:
    MatroskaPublisher("mkv", MatroskaOptions(kinds=("intro", "preview"))).push(episode, SHORT)
    assert [(c[0], c[2]) for c in chapters(episode.path)] == [
        (0, "Cold Open"),
        (1500, "Opening"),
        (3000, "Episode"),
        (5000, "Preview"),
    ]


@pytest.mark.parametrize(
    ("segments", "titles"),
    [
        (SHORT, ["Recap", "Cold Open", "Opening", "Episode", "Ending", "Preview"]),
        ((Segment("recap", 0.5, 1.0, 1), Segment("intro", 1.0, 2.0, 1)), ["Cold Open", "Recap", "Opening", "Episode"]),
        ((Segment("credits", 4.0, 5.0, 1),), ["Episode", "Ending", "Episode"]),  # no intro: no cold open either
        ((Segment("recap", 0.0, 2.0, 1), Segment("intro", 1.0, 3.0, 1)), ["Recap", "Opening", "Episode"]),  # overlap
    ],
)
def test_the_chapters_we_lay_out_are_recognised_as_ours(segments: tuple[Segment, ...], titles: list[str]) -> None:
    laid_out = wanted_chapters(segments, DURATION_S)
    assert [c.title for c in laid_out] == titles
    assert matroska.looks_ours(laid_out)


@pytest.mark.parametrize(
    "titles",
    [
        ["Episode"],  # no segment at all: never one of ours
        ["Opening", "Ending", "Cold Open"],  # a cold open after the opening
        ["Episode", "Opening", "Episode"],  # the story before the opening is a cold open
        ["Cold Open", "Opening", "Episode", "Opening"],  # two openings
        ["Recap", "Opening", "Part A", "Ending"],  # a release's own names
        ["Prologue", "Opening", "Ending"],  # old and new mixed
    ],
)
def test_layouts_we_never_write_are_foreign(titles: list[str]) -> None:
    assert not matroska.looks_ours([Chapter(1000 * n, t) for n, t in enumerate(titles)])

"""Matroska chapters written with the real mkvpropedit into a real MKV, read back with PyAV to the millisecond."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import av
import pytest

from daemon.publish.base import EpisodeRef, PushAction
from daemon.publish.credentials import Secret
from daemon.publish.errors import ForeignFileError, PermanentPublishError
from daemon.publish.jellyfin import JellyfinApi, JellyfinOptions
from daemon.publish.matroska import MatroskaOptions, MatroskaPublisher, chapters_xml, wanted_chapters
from daemon.publish.options import ServerOptions
from detector.result import Intro
from tests.clips import write_clip
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


def test_intro_and_episode_chapters_with_a_prologue(episode: EpisodeRef) -> None:
    publisher = MatroskaPublisher("mkv", MatroskaOptions())
    result = publisher.push(episode, Intro(1.234, 3.5, 0.9))
    assert result.action is PushAction.CREATED and result.file_changed
    assert chapters(episode.path) == [(0, 1234, "Prologue"), (1234, 3500, "Intro"), (3500, 6000, "Episode")]


def test_an_intro_at_the_start_needs_no_prologue(episode: EpisodeRef) -> None:
    MatroskaPublisher("mkv", MatroskaOptions()).push(episode, Intro(0.0, 2.001, 0.9))
    assert chapters(episode.path) == [(0, 2001, "Intro"), (2001, 6000, "Episode")]


def test_repush_leaves_the_file_alone_and_a_new_detection_replaces(episode: EpisodeRef) -> None:
    publisher = MatroskaPublisher("mkv", MatroskaOptions())
    publisher.push(episode, Intro(1.0, 3.0, 0.9))
    os.utime(episode.path, ns=(10**9, 10**9))
    unchanged = publisher.push(episode, Intro(1.0, 3.0, 0.9))
    assert unchanged.action is PushAction.UNCHANGED and not unchanged.file_changed
    assert episode.path.stat().st_mtime_ns == 10**9  # untouched: servers would otherwise re-probe it
    assert publisher.push(episode, Intro(0.5, 2.75, 0.9)).action is PushAction.REPLACED
    assert chapters(episode.path) == [(0, 500, "Prologue"), (500, 2750, "Intro"), (2750, 6000, "Episode")]


def test_no_intro_removes_our_chapters(episode: EpisodeRef) -> None:
    publisher = MatroskaPublisher("mkv", MatroskaOptions())
    assert publisher.push(episode, None).action is PushAction.UNCHANGED
    publisher.push(episode, Intro(1.0, 3.0, 0.9))
    assert publisher.push(episode, None).action is PushAction.REMOVED
    assert chapters(episode.path) == []


def test_chapters_we_did_not_write_are_kept_unless_asked(episode: EpisodeRef, tmp_path: Path) -> None:
    own = tmp_path / "own.xml"
    own.write_text(chapters_xml(wanted_chapters(Intro(2.0, 4.0, 1), DURATION_S), DURATION_S).replace("Intro", "Act 1"))
    subprocess.run(["mkvpropedit", str(episode.path), "--chapters", str(own)], check=True, capture_output=True)
    before = chapters(episode.path)
    with pytest.raises(ForeignFileError, match="has its own chapters"):
        MatroskaPublisher("mkv", MatroskaOptions()).push(episode, Intro(1.0, 3.0, 0.9))
    assert MatroskaPublisher("mkv", MatroskaOptions()).push(episode, None).action is PushAction.UNCHANGED
    assert chapters(episode.path) == before
    forced = MatroskaPublisher("mkv", MatroskaOptions(overwrite_chapters=True)).push(episode, Intro(1.0, 3.0, 0.9))
    assert forced.action is PushAction.REPLACED
    assert [c[2] for c in chapters(episode.path)] == ["Prologue", "Intro", "Episode"]


def test_only_matroska_files(tmp_path: Path) -> None:
    mp4 = EpisodeRef(tmp_path / "Show S01E01.mp4", DURATION_S)
    result = MatroskaPublisher("mkv", MatroskaOptions()).push(mp4, Intro(1.0, 3.0, 0.9))
    assert result.action is PushAction.SKIPPED


def test_a_missing_mkvpropedit_says_what_to_install(episode: EpisodeRef) -> None:
    publisher = MatroskaPublisher("mkv", MatroskaOptions(mkvpropedit="/nonexistent/mkvpropedit"))
    with pytest.raises(PermanentPublishError, match="apt install mkvtoolnix"):
        publisher.probe()
    with pytest.raises(PermanentPublishError, match="not found"):
        publisher.push(episode, Intro(1.0, 3.0, 0.9))


@pytest.fixture
def jellyfin(episode: EpisodeRef) -> Iterator[FakeJellyfin]:
    server = FakeJellyfin("key-123", {str(episode.path): "c0ffee"}, plugin=None).start()
    yield server
    server.stop()


def test_jellyfin_is_asked_to_reread_the_file_and_scan_segments(episode: EpisodeRef, jellyfin: FakeJellyfin) -> None:
    api = JellyfinApi("jf", JellyfinOptions(ServerOptions(jellyfin.url, Secret("key-123")), write_segments=False))
    publisher = MatroskaPublisher("mkv", MatroskaOptions(refresh_jellyfin="jf"), jellyfin=api)
    result = publisher.push(episode, Intro(1.0, 3.0, 0.9))
    assert result.action is PushAction.CREATED and "Jellyfin" in result.detail
    [refresh] = jellyfin.calls("POST", r"/Items/c0ffee/Refresh")
    assert refresh.arg("metadataRefreshMode") == "FullRefresh" and refresh.arg("imageRefreshMode") == "None"
    assert refresh.arg("replaceAllImages") == "false"
    assert len(jellyfin.calls("POST", rf"/ScheduledTasks/Running/{jellyfin.task_id}")) == 1

import os
import stat
from pathlib import Path

import pytest

from daemon.config import ConfigError, TargetConfig
from daemon.publish import kodi
from daemon.publish.base import EpisodeRef, PushAction
from daemon.publish.config import parse_options
from daemon.publish.errors import ForeignFileError
from daemon.publish.kodi import KodiOptions, KodiPublisher
from tests.daemon.publish.segments import EVERY_KIND, WITHOUT_CREDITS, intro


@pytest.fixture
def episode(tmp_path: Path) -> EpisodeRef:
    video = tmp_path / "Show S01E01.mkv"
    video.write_bytes(b"\x1a\x45\xdf\xa3")
    video.chmod(0o644)
    return EpisodeRef(video, 1500.0)


def read_back(episode: EpisodeRef) -> list[kodi.EdlEntry]:
    return kodi.parse((episode.path.parent / "Show S01E01.edl").read_text())


def test_writes_our_edl_next_to_the_video_to_the_millisecond(episode: EpisodeRef) -> None:
    result = KodiPublisher("kodi", KodiOptions()).push(episode, intro(12.3456, 74.5004, 0.9))
    assert result.action is PushAction.CREATED
    edl = episode.path.with_suffix(".edl")
    text = edl.read_text()
    assert text.startswith("## intro-daemon")
    [entry] = read_back(episode)
    assert entry == kodi.EdlEntry(12.346, 74.5, 3)  # seconds to 3 decimals; action 3 by default
    assert stat.S_IMODE(edl.stat().st_mode) == 0o644  # readable like the video, not 0600 like a temp file
    assert sorted(p.name for p in episode.path.parent.iterdir()) == ["Show S01E01.edl", "Show S01E01.mkv"]


def test_action_is_configurable(episode: EpisodeRef) -> None:
    KodiPublisher("kodi", KodiOptions(action=2)).push(episode, intro(0.0, 30.0, 0.9))
    assert read_back(episode) == [kodi.EdlEntry(0.0, 30.0, 2)]


def test_repush_is_unchanged_and_a_new_detection_replaces(episode: EpisodeRef) -> None:
    publisher = KodiPublisher("kodi", KodiOptions())
    publisher.push(episode, intro(10.0, 40.0, 0.9))
    edl = episode.path.with_suffix(".edl")
    os.utime(edl, ns=(1, 1))
    assert publisher.push(episode, intro(10.0, 40.0, 0.9)).action is PushAction.UNCHANGED
    assert edl.stat().st_mtime_ns == 1  # not rewritten
    assert publisher.push(episode, intro(11.5, 41.25, 0.9)).action is PushAction.REPLACED
    assert read_back(episode) == [kodi.EdlEntry(11.5, 41.25, 3)]  # replaced, not appended


def test_no_intro_removes_our_edl(episode: EpisodeRef) -> None:
    publisher = KodiPublisher("kodi", KodiOptions())
    assert publisher.push(episode, ()).action is PushAction.UNCHANGED
    publisher.push(episode, intro(10.0, 40.0, 0.9))
    assert publisher.push(episode, ()).action is PushAction.REMOVED
    assert not episode.path.with_suffix(".edl").exists()


def test_an_edl_we_did_not_write_is_never_touched(episode: EpisodeRef) -> None:
    edl = episode.path.with_suffix(".edl")
    foreign = "FILE PROCESSING COMPLETE\n120.0\t300.0\t0\n"
    edl.write_text(foreign)
    publisher = KodiPublisher("kodi", KodiOptions())
    with pytest.raises(ForeignFileError, match="not written by intro-daemon"):
        publisher.push(episode, intro(10.0, 40.0, 0.9))
    with pytest.raises(ForeignFileError):
        publisher.push(episode, ())
    assert edl.read_text() == foreign


def test_times_are_written_so_that_kodi_reads_the_exact_millisecond(episode: EpisodeRef) -> None:
    # Kodi 20.1 reads seconds as static_cast<int64_t>(atof(field) * 1000): "1.001" would be 1000 ms.
    assert int(float("1.001") * 1000) == 1000
    assert kodi.seconds_field(1.001) == "1.0015" and kodi.kodi_ms("1.0015") == 1001
    assert kodi.seconds_field(12.3456) == "12.346" and kodi.seconds_field(60.0) == "60.000"
    for ms in range(0, 7_200_000, 13):  # every 13th millisecond of two hours
        assert kodi.kodi_ms(kodi.seconds_field(ms / 1000)) == ms
    KodiPublisher("kodi", KodiOptions()).push(episode, intro(1.001, 6.001, 0.9))
    assert read_back(episode) == [kodi.EdlEntry(1.001, 6.001, 3)]  # 5000 ms: not under Kodi's 5 s first-break rule


def test_a_comskip_file_or_a_videoredo_project_next_to_the_video_gets_no_edl(episode: EpisodeRef) -> None:
    publisher = KodiPublisher("kodi", KodiOptions())
    publisher.push(episode, intro(10.0, 40.0, 0.9))
    edl = episode.path.with_suffix(".edl")
    comskip = episode.path.with_suffix(".txt")
    comskip.write_text("FILE PROCESSING COMPLETE 53999 FRAMES AT 2997\n-------------\n1 1799\n")
    with pytest.raises(ForeignFileError, match="would hide the commercial breaks of the Comskip file"):
        publisher.push(episode, intro(10.0, 40.0, 0.9))
    assert not edl.exists()  # ours went: Kodi reads Comskip's breaks again
    assert comskip.read_text().startswith("FILE PROCESSING COMPLETE")
    comskip.write_text("Release notes, not Comskip\n")  # any other .txt is no edit list
    assert publisher.push(episode, intro(10.0, 40.0, 0.9)).action is PushAction.CREATED
    project = episode.path.with_suffix(".Vprj")
    project.write_text("<Version>2\n<Cut>0:100000000\n")
    with pytest.raises(ForeignFileError, match="reads the VideoReDo project"):
        publisher.push(episode, intro(10.0, 40.0, 0.9))
    assert not edl.exists()


# Every kind: one line per segment, its action by kind


def test_every_kind_is_a_line_with_its_kinds_action(episode: EpisodeRef) -> None:
    publisher = KodiPublisher("kodi", KodiOptions())
    assert publisher.push(episode, EVERY_KIND).action is PushAction.CREATED
    assert read_back(episode) == [
        kodi.EdlEntry(0.0, 42.0, 3),  # recap: skipped by itself (a break at 0: playback starts after it)
        kodi.EdlEntry(60.5, 120.25, 3),  # intro: skipped by itself
        kodi.EdlEntry(1380.0, 1460.0, 2),  # credits: a scene marker at their end, one "next" press away
        kodi.EdlEntry(1460.0, 1500.0, 3),  # preview: skipped by itself
    ]
    edl = episode.path.with_suffix(".edl")
    os.utime(edl, ns=(1, 1))
    assert publisher.push(episode, EVERY_KIND).action is PushAction.UNCHANGED
    assert edl.stat().st_mtime_ns == 1  # not rewritten

    assert publisher.push(episode, WITHOUT_CREDITS).action is PushAction.REPLACED
    assert [e.start_s for e in read_back(episode)] == [0.0, 60.5, 1460.0]  # only the credits' line went
    assert publisher.push(episode, ()).action is PushAction.REMOVED and not edl.exists()


def test_touching_edits_are_one_edit_when_their_actions_match_else_the_later_starts_1_ms_on(
    episode: EpisodeRef,
) -> None:
    # Kodi would not skip a preview right after the credits (it waits for audio sync after the first skip; see
    # test_kodi_player), and CEdl::AddEdit refuses an edit whose start lies inside another, bounds included.
    KodiPublisher("kodi", KodiOptions(credits_action=3)).push(episode, EVERY_KIND)
    assert read_back(episode)[2:] == [kodi.EdlEntry(1380.0, 1500.0, 3)]  # one skip over the credits and the preview
    KodiPublisher("kodi", KodiOptions(credits_action=1)).push(episode, EVERY_KIND)
    assert read_back(episode)[2:] == [kodi.EdlEntry(1380.0, 1460.0, 1), kodi.EdlEntry(1460.001, 1500.0, 3)]


def test_a_target_takes_only_its_kinds(episode: EpisodeRef) -> None:
    KodiPublisher("kodi", KodiOptions(action=2, kinds=("intro", "credits"))).push(episode, EVERY_KIND)
    assert read_back(episode) == [kodi.EdlEntry(60.5, 120.25, 2), kodi.EdlEntry(1380.0, 1460.0, 2)]


def test_an_edl_of_an_earlier_version_is_ours_and_rewritten(episode: EpisodeRef) -> None:
    edl = episode.path.with_suffix(".edl")
    edl.write_text(
        "## intro-daemon: intro; replaced when the intro is detected again, removed if it goes away\n"
        "60.500\t120.250\t3\n"
    )
    assert KodiPublisher("kodi", KodiOptions()).push(episode, EVERY_KIND).action is PushAction.REPLACED
    assert len(read_back(episode)) == 4


def test_actions_per_kind_from_the_config() -> None:
    target = TargetConfig(name="k", kind="kodi", options={"recap_action": 0, "credits_action": 3, "kinds": ["credits"]})
    assert parse_options(target, environ={}) == KodiOptions(recap_action=0, credits_action=3, kinds=("credits",))
    with pytest.raises(ConfigError, match=r"targets\.k\.preview_action: must be an integer from 0 to 3, got 4"):
        parse_options(TargetConfig(name="k", kind="kodi", options={"preview_action": 4}), environ={})

"""Which streams the detector reads: the picture (not the cover), the track with the sound, the time origin."""

import shutil
from pathlib import Path

import av
import pytest

from detector import streams
from tests.clips import attach_cover, write_clip, write_tracks


def chosen_audio(path: Path, languages: tuple[str, ...] = ()) -> str:
    with av.open(str(path)) as container:
        track = streams.audio_stream(container, path, languages)
        assert track is not None
        return f"{streams.language_of(track)}:{track.index}"


def test_a_silent_default_track_is_passed_over_for_the_one_with_sound(tmp_path: Path) -> None:
    path = write_tracks(tmp_path / "dub.mkv", 8, [("eng", False), ("jpn", True)])
    assert chosen_audio(path) == "jpn:2"
    assert chosen_audio(path, ("eng",)) == "jpn:2"  # the preferred language is silent here: the sound wins
    levels = streams.loudness(path, [1, 2])
    assert levels[1] < streams.SILENT_RMS < levels[2]


def test_the_preferred_language_wins_over_the_default_flag(tmp_path: Path) -> None:
    path = write_tracks(tmp_path / "dual.mkv", 8, [("eng", True), ("jpn", True)])
    assert chosen_audio(path) == "eng:1"  # the default
    assert chosen_audio(path, ("JPN", "eng")) == "jpn:2"  # case does not matter; the order of the list does
    assert chosen_audio(path, ("ger",)) == "eng:1"


def test_one_track_is_taken_without_listening(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write_tracks(tmp_path / "one.mkv", 4, [("eng", False)])
    monkeypatch.setattr(streams, "loudness", lambda *_: pytest.fail("listened to a single track"))
    assert chosen_audio(path) == "eng:1"


@pytest.mark.skipif(shutil.which("mkvpropedit") is None, reason="needs mkvpropedit (Debian: mkvtoolnix)")
def test_cover_art_is_not_the_picture(tmp_path: Path) -> None:
    path = attach_cover(write_clip(tmp_path / "e.mkv", 3, fps=5), tmp_path)
    with av.open(str(path)) as container:
        covers = [s for s in container.streams.video if s.disposition & av.stream.Disposition.attached_pic]
        assert len(covers) == 1  # FFmpeg shows the attachment as a video stream
        picture = streams.video_stream(container)
        assert picture is not None and picture.codec_context.name == "h264"


def test_the_origin_is_where_the_timestamps_start(tmp_path: Path) -> None:
    late = write_tracks(tmp_path / "late.mkv", 4, [("eng", True)], start_s=36_000.0)
    early = write_tracks(tmp_path / "early.mkv", 4, [("eng", True)])
    for path, origin_s in ((late, 36_000.0), (early, 0.0)):
        with av.open(str(path)) as container:
            assert streams.origin_s(container) == pytest.approx(origin_s, abs=0.1)

"""`intro-daemon show PATH`: one episode's state, result and its segments, scores and pushes."""

from pathlib import Path

import pytest

from daemon.cli import main
from daemon.commands.rescan import rescan
from daemon.config import load_config
from tests.conftest import FakeDetector
from tests.daemon.commands.libraries import WithSegments, library_of, loader, status_config, write_config


def test_show_draws_the_scores(tmp_path: Path, fake_detector: FakeDetector, capsys: pytest.CaptureFixture[str]) -> None:
    path, lib = status_config(tmp_path, fake_detector)
    capsys.readouterr()
    assert main(["show", "--config", str(path), str(lib / "Show" / "S1" / "e1.mkv")]) == 0
    out = capsys.readouterr().out
    assert "state      done (attempts 0" in out
    assert "intro      0:10 - 0:40 (30 s), confidence 0.90, from network" in out
    assert "scores     per second, 0:00 - 1:00, one character = 1 s" in out
    assert "  |" + "▁" * 10 + "█" * 30 + "▁" * 20 + "\n" in out
    assert "  |" + " " * 10 + "^" * 30 + " intro\n" in out
    assert "push       home: pending (attempts 0)" in out
    assert main(["show", "--config", str(path), str(lib / "Show" / "S2" / "e1.mkv")]) == 1
    assert "is not in the database" in capsys.readouterr().err


def _shown(tmp_path: Path, detector: FakeDetector, content: bytes, capsys: pytest.CaptureFixture[str]) -> str:
    """`show`'s output for the one episode of a library whose file holds `content` (FakeDetector's answer key)."""
    lib = library_of(tmp_path / "lib", {"Show/S1/e1.mkv": content})
    path = write_config(tmp_path, lib, "")
    rescan(load_config(path), (lib / "Show" / "S1",), force=False, detector_loader=loader(detector), targets=())
    capsys.readouterr()
    assert main(["show", "--config", str(path), str(lib / "Show" / "S1" / "e1.mkv")]) == 0
    return capsys.readouterr().out


def test_show_says_when_the_sound_decided_and_the_pictures_were_decoded_only_at_the_ends(
    tmp_path: Path, fake_detector: FakeDetector, capsys: pytest.CaptureFixture[str]
) -> None:
    out = _shown(tmp_path, fake_detector, b"SOUND", capsys)
    assert "from repetition,sound,cuts" in out
    assert "pictures   decoded only around the intro's ends (shot cuts)" in out
    assert "one character = 1 s, height = share of the siblings repeating it" in out


def test_show_lists_every_segment_in_time_order(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    lib = library_of(tmp_path / "lib", {"Show/S1/e1.mkv": b"one", "Show/S1/e2.mkv": b"BARE"})
    path = write_config(tmp_path, lib)
    rescan(load_config(path), (lib,), force=False, detector_loader=loader(WithSegments()), targets=())
    capsys.readouterr()
    assert main(["show", "--config", str(path), str(lib / "Show" / "S1" / "e1.mkv")]) == 0
    out = capsys.readouterr().out
    assert (
        "  duration   2:00\n"
        "  recap      0:00 - 0:08 (8 s), confidence 0.80, from repetition\n"
        "  intro      0:10 - 0:40 (30 s), confidence 0.90, from network\n"
        "  credits    1:40 - 1:55 (15 s), confidence 0.70, from black-card,text, final: nothing but credits follows\n"
        "  preview    1:55 - 2:00 (5 s), confidence 0.60, from repetition\n"
    ) in out
    # Under the scores (the first minute): the recap and the intro; the credits and the preview come later.
    assert "  |" + "^" * 8 + " recap\n" in out and "  |" + " " * 10 + "^" * 30 + " intro\n" in out
    assert "^ credits" not in out and "^ preview" not in out
    assert main(["show", "--config", str(path), str(lib / "Show" / "S1" / "e2.mkv")]) == 0
    out = capsys.readouterr().out
    assert (
        "  intro      none found (signals: network)\n"
        "  credits    1:40 - 1:50 (10 s), confidence 0.60, from unknown, not final: the story goes on after them\n"
    ) in out
    assert "^" not in out


def test_show_says_why_an_interval_too_long_for_an_intro_is_not_marked(
    tmp_path: Path, fake_detector: FakeDetector, capsys: pytest.CaptureFixture[str]
) -> None:
    out = _shown(tmp_path, fake_detector, b"TOOLONG", capsys)
    assert "intro      none found (signals: network,too-long)" in out
    assert "too long   what was found is longer than an intro can be (3:00; 2:00 for the network alone)" in out


def test_show_says_when_the_shipped_lone_model_decided_instead_of_the_fitted_one(
    tmp_path: Path, fake_detector: FakeDetector, capsys: pytest.CaptureFixture[str]
) -> None:
    out = _shown(tmp_path, fake_detector, b"OUTSIDE", capsys)
    assert "intro      0:10 - 0:40 (30 s), confidence 0.90, from network,outside-library" in out
    assert "lone model the shipped one: this episode does not look like the library `intro-daemon adapt`" in out

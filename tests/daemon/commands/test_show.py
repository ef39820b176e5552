"""`intro-daemon show PATH`: one episode's state, result, scores and pushes."""

from pathlib import Path

import pytest

from daemon.cli import main
from daemon.commands.rescan import rescan
from daemon.config import load_config
from tests.conftest import FakeDetector
from tests.daemon.commands.libraries import library_of, loader, status_config, write_config


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


def test_show_says_when_the_sound_decided_and_the_pictures_were_decoded_only_at_the_ends(
    tmp_path: Path, fake_detector: FakeDetector, capsys: pytest.CaptureFixture[str]
) -> None:
    lib = library_of(tmp_path / "lib", {"Show/S1/e1.mkv": b"SOUND"})
    path = write_config(tmp_path, lib, "")
    rescan(load_config(path), (lib / "Show" / "S1",), force=False, detector_loader=loader(fake_detector), targets=())
    capsys.readouterr()
    assert main(["show", "--config", str(path), str(lib / "Show" / "S1" / "e1.mkv")]) == 0
    out = capsys.readouterr().out
    assert "from repetition,sound,cuts" in out
    assert "pictures   decoded only around the intro's ends (shot cuts)" in out
    assert "one character = 1 s, height = share of the siblings repeating it" in out

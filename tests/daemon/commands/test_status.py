"""`intro-daemon status`: counts, errors, seasons, never a secret; no database yet."""

from pathlib import Path

import pytest

from daemon.cli import main
from tests.conftest import FakeDetector
from tests.daemon.commands.libraries import WithSegments, library_of, loader, status_config, write_config


def test_status_counts_errors_seasons_and_no_secrets(
    tmp_path: Path, fake_detector: FakeDetector, capsys: pytest.CaptureFixture[str]
) -> None:
    path, lib = status_config(tmp_path, fake_detector)
    capsys.readouterr()
    assert main(["status", "--config", str(path)]) == 0
    out = capsys.readouterr().out
    assert "sup3rsecret" not in out
    assert "episodes   2: 1 done, 1 failed" in out
    assert "queue      0 episode(s) waiting for detection (the daemon has not run yet)" in out
    assert "lone model shipped (`intro-daemon adapt` fits one to this library)" in out
    assert "target     home: 1 pending" in out
    assert f"failed   {lib}/Show/S1/e2.mkv: unusable media: no video stream" in out
    assert f"{lib}/Show/S1: 2 episodes, 1 done, 1 failed; 1 intros, typically 0:30 long at 0:10" in out


def test_status_and_show_say_when_copies_of_an_episode_were_left_out(
    tmp_path: Path, fake_detector: FakeDetector, capsys: pytest.CaptureFixture[str]
) -> None:
    from daemon.commands.rescan import rescan
    from daemon.config import load_config

    lib = library_of(
        tmp_path / "lib", {"Show/S1/e1.mkv": b"COPY 1", "Show/S1/e1 proper.mkv": b"COPY 1", "Show/S1/e2.mkv": b"2"}
    )
    path = write_config(tmp_path, lib)
    rescan(load_config(path), (lib,), force=False, detector_loader=loader(fake_detector), targets=[])
    capsys.readouterr()
    assert main(["status", "--config", str(path)]) == 0
    assert "; 2 with copies of the same episode (left out of each other's season context)" in capsys.readouterr().out
    assert main(["show", "--config", str(path), str(lib / "Show" / "S1" / "e1 proper.mkv")]) == 0
    assert "copies     other copies of this episode are in its season" in capsys.readouterr().out
    assert main(["show", "--config", str(path), str(lib / "Show" / "S1" / "e2.mkv")]) == 0
    assert "copies" not in capsys.readouterr().out


def test_show_says_when_only_the_start_of_a_long_recording_was_analysed(
    tmp_path: Path, fake_detector: FakeDetector, capsys: pytest.CaptureFixture[str]
) -> None:
    from daemon.commands.rescan import rescan
    from daemon.config import load_config

    lib = library_of(tmp_path / "lib", {"Show/S1/e1.mkv": b"LONG 1", "Show/S1/e2.mkv": b"2"})
    path = write_config(tmp_path, lib)
    rescan(load_config(path), (lib,), force=False, detector_loader=loader(fake_detector), targets=[])
    capsys.readouterr()
    assert main(["show", "--config", str(path), str(lib / "Show" / "S1" / "e1.mkv")]) == 0
    assert "analysed   the first 30:00 only, not the whole first half" in capsys.readouterr().out
    assert main(["show", "--config", str(path), str(lib / "Show" / "S1" / "e2.mkv")]) == 0
    assert "analysed" not in capsys.readouterr().out


def test_status_without_a_database(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write_config(tmp_path, tmp_path)
    assert main(["status", "--config", str(path)]) == 2
    assert "no database at" in capsys.readouterr().err


def test_status_counts_the_episodes_with_each_other_kind(
    tmp_path: Path, fake_detector: FakeDetector, capsys: pytest.CaptureFixture[str]
) -> None:
    from daemon.commands.rescan import rescan
    from daemon.config import load_config

    lib = library_of(
        tmp_path / "lib",
        {"Show/S1/e1.mkv": b"1", "Show/S1/e2.mkv": b"2", "Show/S1/e3.mkv": b"BARE", "Show/S2/e1.mkv": b"1"},
    )
    path = write_config(tmp_path, lib)
    rescan(load_config(path), (lib / "Show" / "S1",), force=False, detector_loader=loader(WithSegments()), targets=[])
    rescan(load_config(path), (lib / "Show" / "S2",), force=False, detector_loader=loader(fake_detector), targets=[])
    capsys.readouterr()
    assert main(["status", "--config", str(path)]) == 0
    out = capsys.readouterr().out
    assert (
        f"{lib}/Show/S1: 3 episodes, 3 done; 2 intros, typically 0:30 long at 0:10; "
        "2 with a recap, 3 with credits (2 final), 2 with a preview\n"
    ) in out
    assert f"{lib}/Show/S2: 1 episodes, 1 done; 1 intros, typically 0:30 long at 0:10\n" in out  # nothing else found

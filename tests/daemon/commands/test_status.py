"""`intro-daemon status`: counts, errors, seasons, never a secret; no database yet."""

from pathlib import Path

import pytest

from daemon.cli import main
from tests.conftest import FakeDetector
from tests.daemon.commands.libraries import status_config, write_config


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
    assert "target     home: 1 pending" in out
    assert f"failed   {lib}/Show/S1/e2.mkv: unusable media: no video stream" in out
    assert f"{lib}/Show/S1: 2 episodes, 1 done, 1 failed; 1 intros, typically 0:30 long at 0:10" in out


def test_status_without_a_database(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write_config(tmp_path, tmp_path)
    assert main(["status", "--config", str(path)]) == 2
    assert "no database at" in capsys.readouterr().err

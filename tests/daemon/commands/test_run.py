"""`intro-daemon run` (and `rescan`): errors at start name the problem and exit 2."""

from pathlib import Path

import pytest

from daemon.cli import main
from tests.daemon.commands.libraries import write_config


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["run"], "library.folders: empty; pass --library DIR"),
        (["run", "--library", "/nonexistent/tv"], "library.folders: /nonexistent/tv is not a folder"),
        (["rescan", "/nonexistent/tv"], "rescan: /nonexistent/tv does not exist"),
    ],
)
def test_start_errors_name_the_problem(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("STATE_DIRECTORY", str(tmp_path))
    assert main(argv) == 2
    assert message in capsys.readouterr().err


def test_a_bad_config_stops_run_with_the_key(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "c.toml"
    path.write_text("[worker]\nworkers = 0\n")
    assert main(["run", "--config", str(path), "--library", str(tmp_path)]) == 2
    assert "worker.workers: must be an integer >= 1, got 0" in capsys.readouterr().err


def test_missing_weights_stop_run_with_a_message(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = write_config(tmp_path, tmp_path, f'[worker]\nweights = "{tmp_path / "nope.pt"}"\n')
    assert main(["run", "--config", str(config)]) == 2
    assert f"cannot load the detector ({tmp_path / 'nope.pt'}): " in capsys.readouterr().err
    assert main(["rescan", "--config", str(config)]) == 2
    assert f"cannot load the detector ({tmp_path / 'nope.pt'}): " in capsys.readouterr().err

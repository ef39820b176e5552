"""The service's commands: rescan (progress, summary, no repeated work), status, show, and `run`'s start errors."""

import shutil
import threading
from pathlib import Path

import pytest

from daemon.cli import main
from daemon.commands.rescan import rescan
from daemon.config import load_config
from daemon.detect import LoadedDetector
from daemon.library.filter import LibraryFilter
from daemon.publish.config import push_targets
from daemon.worker import RESCAN_STATES, Worker
from db import episodes
from db.migrate import upgrade
from db.models import EpisodeState
from db.session import make_engine, make_sessions
from tests.conftest import FakeDetector


def library_of(root: Path, files: dict[str, bytes]) -> Path:
    for rel, data in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_bytes(data)
    return root


def twenty(root: Path) -> Path:
    """20 episodes over 4 seasons of 2 shows."""
    return library_of(
        root,
        {
            f"Show {s // 2}/Season {s % 2 + 1}/e{e:02d}.mkv": b"episode %d %d" % (s, e)
            for s in range(4)
            for e in range(5)
        },
    )


def write_config(tmp_path: Path, lib: Path, extra: str = "") -> Path:
    path = tmp_path / "config.toml"
    path.write_text(f'[library]\nfolders = ["{lib}"]\n[state]\ndir = "{tmp_path / "state"}"\n{extra}')
    return path


def loader(fake: FakeDetector):  # type: ignore[no-untyped-def]
    return lambda _worker_config, _store: LoadedDetector(fake.detect, fake.model_version)


def test_rescan_shows_progress_then_does_no_work_the_second_time(
    tmp_path: Path, fake_detector: FakeDetector, capsys: pytest.CaptureFixture[str]
) -> None:
    lib = twenty(tmp_path / "lib")
    config = load_config(write_config(tmp_path, lib))
    assert rescan(config, config.library.folders, force=False, detector_loader=loader(fake_detector)) == 0
    out, err = capsys.readouterr()
    progress = err.splitlines()
    assert len(progress) == 20 and progress[-1].startswith("[########################] 20/20 100% ETA 0:00:00")
    assert "10/20  50% ETA" in progress[9]
    assert "rescan: 20 episodes in 0:00:00: 20 done (20 with an intro)" in out
    assert len(fake_detector.calls) == 20
    # a season's siblings are the other episodes of its folder
    assert all(len(siblings) == 4 for _, siblings, _ in fake_detector.calls)

    assert rescan(config, config.library.folders, force=False, detector_loader=loader(fake_detector)) == 0
    out, err = capsys.readouterr()
    assert out.startswith("nothing to do") and err == "" and len(fake_detector.calls) == 20

    (lib / "Show 0" / "Season 1" / "e00.mkv").write_bytes(b"a new version of the file")
    shutil.copy(lib / "Show 0" / "Season 1" / "e01.mkv", lib / "Show 0" / "Season 1" / "e05.mkv")
    assert rescan(config, (lib / "Show 0",), force=False, detector_loader=loader(fake_detector)) == 0
    assert "rescan: 2 episodes" in capsys.readouterr().out and len(fake_detector.calls) == 22

    assert rescan(config, (lib / "Show 1" / "Season 2",), force=True, detector_loader=loader(fake_detector)) == 0
    assert "rescan: 5 episodes" in capsys.readouterr().out and len(fake_detector.calls) == 27

    fake_detector.model_version = "fake-2"  # a new model: everything is out of date
    assert rescan(config, config.library.folders, force=False, detector_loader=loader(fake_detector)) == 0
    assert "rescan: 21 episodes" in capsys.readouterr().out


def test_rescan_reports_failures_and_skips_what_the_service_holds(
    tmp_path: Path, fake_detector: FakeDetector, capsys: pytest.CaptureFixture[str]
) -> None:
    lib = library_of(
        tmp_path / "lib", {"S1/a.mkv": b"a", "S1/bad.mkv": b"CORRUPT", "S1/empty.mkv": b"", "S1/held.mkv": b"h"}
    )
    config = load_config(write_config(tmp_path, lib))
    engine = make_engine(config.state.database_url)
    upgrade(engine)
    sessions = make_sessions(engine)
    service_fake = FakeDetector()
    service_fake.gate = threading.Event()
    service = Worker(sessions, service_fake.detect, "fake-1", LibraryFilter(config.library), owner="host:service")
    thread = threading.Thread(target=service.process, args=(lib / "S1" / "held.mkv", RESCAN_STATES))
    thread.start()
    assert service_fake.entered.wait(5)
    try:
        assert rescan(config, config.library.folders, force=False, detector_loader=loader(fake_detector)) == 0
    finally:
        service_fake.gate.set()
        thread.join()
    out, err = capsys.readouterr()
    assert "3 episodes" in out and "1 done, 2 failed" in out
    assert f"failed: {lib}/S1/bad.mkv: unusable media: no video stream" in out
    assert f"failed: {lib}/S1/empty.mkv: empty file (0 bytes)" in out
    assert "held.mkv" not in err  # the service's claim: not even listed
    assert [c[0].name for c in fake_detector.calls] == ["a.mkv", "bad.mkv"]
    with sessions() as s:
        assert episodes.get(s, str(lib / "S1" / "held.mkv")).state == EpisodeState.DONE  # type: ignore[union-attr]
    engine.dispose()


def status_config(tmp_path: Path, fake: FakeDetector) -> tuple[Path, Path]:
    lib = library_of(tmp_path / "lib", {"Show/S1/e1.mkv": b"one", "Show/S1/e2.mkv": b"CORRUPT", "Show/S2/e1.mkv": b"x"})
    path = write_config(
        tmp_path,
        lib,
        '[[targets]]\nname = "home"\nkind = "jellyfin"\nurl = "http://127.0.0.1:1"\napi_key = "sup3rsecret"\n',
    )
    config = load_config(path)
    targets = push_targets(config)  # the real publishers' names: "home"
    rescan(config, (lib / "Show" / "S1",), force=False, detector_loader=loader(fake), targets=targets)
    return path, lib


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


def test_status_without_a_database(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write_config(tmp_path, tmp_path)
    assert main(["status", "--config", str(path)]) == 2
    assert "no database at" in capsys.readouterr().err


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


def test_rescan_with_the_real_detector(
    tmp_path: Path,
    detector_weights: Path | None,
    season_media: list[Path],
    capsys: pytest.CaptureFixture[str],
) -> None:
    """20 real episodes (the generated season's files copied under 20 names in 4 season folders)."""
    lib = tmp_path / "lib"
    for n in range(20):
        dest = lib / f"Show {n // 10}" / f"Season {n % 2 + 1}" / f"e{n:02d}.mkv"
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(season_media[n % len(season_media)], dest)
    extra = f'[worker]\nweights = "{detector_weights}"\n' if detector_weights else ""
    config = write_config(tmp_path, lib, extra)
    assert main(["rescan", "--config", str(config)]) == 0
    out, err = capsys.readouterr()
    assert "20/20 100%" in err and "ETA" in err
    assert "rescan: 20 episodes" in out and "20 done" in out
    assert main(["rescan", "--config", str(config)]) == 0
    assert capsys.readouterr().out.startswith("nothing to do")


def test_help_starts_without_torch_and_train_keeps_its_own_options():
    import subprocess
    import sys

    code = (
        "import sys, contextlib, io\n"
        "from daemon.cli import main\n"
        "with contextlib.suppress(SystemExit), contextlib.redirect_stdout(io.StringIO()):\n"
        "    main(['--help'])\n"
        "print('torch' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
    with pytest.raises(SystemExit, match=r"no truth\.json"):
        main(["train", "--corpus", "/nonexistent/corpus", "--epochs", "1"])
    with pytest.raises(SystemExit) as refused:
        main(["status", "--no-such-option"])
    assert refused.value.code == 2

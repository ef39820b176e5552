"""`intro-daemon rescan`: progress, summary, no repeated work, failures, what the service holds."""

import shutil
import threading
from pathlib import Path

import pytest

from daemon.cli import main
from daemon.commands.rescan import rescan
from daemon.config import load_config
from daemon.library.filter import LibraryFilter
from daemon.worker import RESCAN_STATES, Worker
from db import episodes
from db.migrate import upgrade
from db.models import EpisodeState
from db.session import make_engine, make_sessions
from db.transactions import Database
from tests.conftest import FakeDetector
from tests.daemon.commands.libraries import WithSegments, library_of, loader, twenty, write_config


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


def test_rescan_counts_the_episodes_with_each_kind_of_segment(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    lib = library_of(tmp_path / "lib", {"S1/e1.mkv": b"1", "S1/e2.mkv": b"2", "S1/e3.mkv": b"BARE"})
    config = load_config(write_config(tmp_path, lib))
    assert rescan(config, config.library.folders, force=False, detector_loader=loader(WithSegments())) == 0
    out = capsys.readouterr().out
    assert "3 done (2 with an intro, 2 with a recap, 3 with credits, 2 with a preview)" in out


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
    service = Worker(
        Database(sessions), service_fake.detect, "fake-1", LibraryFilter(config.library), owner="host:service"
    )
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

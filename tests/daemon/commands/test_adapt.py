"""`intro-daemon adapt`: a library's results decided by repetition fit a new lone-episode model, kept, listed, used
by the detector, and rolled back; a library with nothing to learn from, and a cluster, are refused."""

from collections.abc import Sequence
from pathlib import Path

import pytest
import torch

from daemon.adapted import AdaptedModels
from daemon.cli import main
from daemon.commands.rescan import rescan
from daemon.config import load_config
from db import summary
from db.session import make_engine, make_sessions
from detector.checkpoint import Checkpoint
from detector.inference import Detector
from detector.intervals import find_intro
from detector.result import Detection, Intro
from detector.weights import MODELS
from tests.clips import write_clip
from tests.conftest import FakeDetector
from tests.daemon.commands.libraries import loader, write_config

TEN_TO_TWENTY = Intro(10.0, 20.0, 0.9)


class BySeason(FakeDetector):
    """Every episode's intro at 10-20 s, found by its season's repetition (or, for names starting "alone", by the
    network alone). `intro`: another answer for every episode."""

    def __init__(self, intro: Intro | None = TEN_TO_TWENTY) -> None:
        super().__init__()
        self.intro = intro

    def detect(self, path: Path, siblings: Sequence[Path] = ()) -> Detection:
        signals = ("network",) if path.name.startswith("alone") else ("network", "repetition", "edges")
        scores = tuple(0.9 if 10 <= s < 20 else 0.05 for s in range(40))
        return Detection(path, 40.0, self.intro, self.model_version, scores, signals)


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    """40 s whose every second's picture is its own grey: what is at 10-20 s can be learnt."""
    return write_clip(tmp_path_factory.mktemp("clip") / "clip.mkv", 40.0).read_bytes()


def _library(root: Path, clip: bytes, prefix: str = "e") -> Path:
    for show in range(3):
        season = root / f"Show {show}" / "Season 1"
        season.mkdir(parents=True)
        for n in range(3):
            (season / f"{prefix}{n}.mkv").write_bytes(clip)
    return root


def test_adapt_fits_keeps_and_rolls_back_a_version(
    tmp_path: Path, clip: bytes, capsys: pytest.CaptureFixture[str]
) -> None:
    lib = _library(tmp_path / "lib", clip)
    config_path = write_config(tmp_path, lib)
    config = load_config(config_path)
    shipped = BySeason()
    shipped.model_version = Detector.load(threads=1).model_version  # as if the shipped models had decided
    assert rescan(config, config.library.folders, force=False, detector_loader=loader(shipped)) == 0
    capsys.readouterr()

    assert main(["adapt", "--config", str(config_path), "--epochs", "3", "--threads", "1"]) == 0
    out = capsys.readouterr().out
    assert "9 of 9 results decided by their season's repetition label 3 show(s)" in out
    assert "embedded 9 of 9" in out and "epoch 3/3" in out
    assert "active lone-episode model: adapt-" in out and "a running service loads the model" in out
    assert "0 episode(s) decided without their season queued again" in out  # all were decided by their season
    # Nor does `rescan` redo them: another lone model changes nothing its season decided.
    assert main(["rescan", "--config", str(config_path)]) == 0
    assert "nothing to do" in capsys.readouterr().out
    with make_sessions(make_engine(config.state.database_url)).begin() as session:
        assert {d.model_version for d in summary.latest_detections(session).values()} == {shipped.model_version}

    assert main(["adapt", "--config", str(config_path), "--list"]) == 0
    listed = capsys.readouterr().out.splitlines()
    assert listed[0].startswith("  shipped") and listed[1].startswith("* adapt-")
    assert "9 episodes (9 with an intro) of 3 shows, labelled by their seasons' repetition" in listed[1]
    name = listed[1].split()[1]
    weights = config.state.dir / "models" / f"{name}.pt"
    detector = Detector.load(lone_weights=weights, threads=1)
    assert f"+adapt-{name.removeprefix('adapt-')}" in detector.model_version

    assert main(["status", "--config", str(config_path)]) == 0
    assert f"lone model {name}, fitted to this library" in capsys.readouterr().out
    # `rescan` detects with it: the real detector, loaded as the service loads it, stamps its version.
    assert main(["rescan", "--config", str(config_path), "--force", str(lib / "Show 0")]) == 0
    with make_sessions(make_engine(config.state.database_url)).begin() as session:
        versions = {d.model_version for d in summary.latest_detections(session).values()}
    assert len(versions) == 2 and any(f"+{name}/" in v for v in versions), versions

    assert main(["adapt", "--config", str(config_path), "--rollback"]) == 0
    assert "active lone-episode model: shipped" in capsys.readouterr().out
    assert main(["adapt", "--config", str(config_path), "--use", name]) == 0
    assert main(["adapt", "--config", str(config_path), "--use", "adapt-19990101-000000"]) == 2
    assert "no adapted model 'adapt-19990101-000000'" in capsys.readouterr().err


def test_adapt_refuses_a_library_with_nothing_to_learn_from_and_a_cluster(
    tmp_path: Path, clip: bytes, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["adapt", "--config", str(write_config(tmp_path, tmp_path / "none"))]) == 2
    assert "no database" in capsys.readouterr().err  # the daemon has not run yet

    lib = _library(tmp_path / "lib", clip, prefix="alone")
    config_path = write_config(tmp_path, lib)
    config = load_config(config_path)
    assert rescan(config, config.library.folders, force=False, detector_loader=loader(BySeason())) == 0
    capsys.readouterr()
    assert main(["adapt", "--config", str(config_path)]) == 2
    out, err = capsys.readouterr()
    assert "0 of 9 results decided by their season's repetition" in out and "detect complete seasons first" in err

    # Making a version active queues again what the lone network decided (here: all nine), nothing else.
    store = AdaptedModels(config.state.dir)
    weights = store.dir / ".adapt-20261207-100000.pt.tmp"
    store.dir.mkdir(parents=True)
    weights.write_bytes(b"weights")
    store.add(weights, "")
    assert main(["adapt", "--config", str(config_path), "--use", "adapt-20261207-100000"]) == 0
    assert "9 episode(s) decided without their season queued again" in capsys.readouterr().out
    with make_sessions(make_engine(config.state.database_url)).begin() as session:
        assert summary.episode_counts(session) == {"pending": 9}
        assert len(summary.latest_detections(session)) == 9  # their results stay until new ones replace them

    clustered = write_config(tmp_path, lib, '[cluster]\naddress = "tcp://nas:8786"\n')
    assert main(["adapt", "--config", str(clustered), "--rollback"]) == 2
    assert "whose workers load the shipped models" in capsys.readouterr().err


def _shipped_answer(path: Path) -> Intro | None:
    """What the shipped lone network and its interval parameters mark on `path`, before cuts or any other step."""
    seed = Checkpoint.load(MODELS["seed"])
    embedding = Detector.load(MODELS["seed"], cascade=False, segments=False, threads=1).analyse(path).embedding
    with torch.inference_mode():
        scores = torch.sigmoid(seed.network().classify(embedding.unsqueeze(0))[0]).numpy()
    return find_intro(scores, seed.intervals)


def test_adapt_keeps_nothing_that_does_no_better_on_the_shows_it_was_not_fitted_on(
    tmp_path: Path, clip: bytes, capsys: pytest.CaptureFixture[str]
) -> None:
    lib = _library(tmp_path / "lib", clip)
    # The seasons' answers are what the shipped model marks already: learning them cannot do better.
    same = BySeason(_shipped_answer(lib / "Show 0" / "Season 1" / "e0.mkv"))
    config_path = write_config(tmp_path, lib)
    config = load_config(config_path)
    assert rescan(config, config.library.folders, force=False, detector_loader=loader(same)) == 0
    capsys.readouterr()
    assert main(["adapt", "--config", str(config_path), "--epochs", "2", "--threads", "1"]) == 0
    out = capsys.readouterr().out
    assert "9 of 9 results decided by their season's repetition" in out
    assert "not better than the shipped model on the shows it was not fitted on" in out and "nothing kept" in out
    assert not (config.state.dir / "models").exists()
    assert main(["adapt", "--config", str(config_path), "--list"]) == 0
    assert capsys.readouterr().out.splitlines()[0].startswith("* shipped")

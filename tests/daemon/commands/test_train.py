"""`train`'s options and what they run: re-measuring the season rule, continuing from earlier weights."""

import argparse
import shutil
from pathlib import Path

import pytest
import torch

import detector.training.command as training
from detector.checkpoint import Checkpoint
from detector.decode import FrameMode
from detector.intervals import IntervalParams
from detector.model import IntroNet, ModelDims
from detector.season_rule import SeasonRuleParams
from detector.training.dataset import Example
from detector.weights import MODELS
from tests.detector.training.examples import three_shows


@pytest.fixture(scope="module")
def examples() -> list[Example]:
    return three_shows()


def test_retune_rule_rewrites_only_the_rule_parameters(
    examples: list[Example], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    torch.manual_seed(0)
    model = IntroNet(ModelDims(n_extra=5))
    out = tmp_path / "season.pt"
    Checkpoint("season-test", model.dims, IntervalParams(), FrameMode.ALL, model.state_dict(), {"trained": "x"}).save(
        out
    )
    monkeypatch.setattr(training, "load_corpus", lambda root, cache, mode: examples)
    (tmp_path / "truth.json").write_text("[]")
    args = argparse.Namespace(out=out, corpus=[tmp_path], cache=tmp_path, threads=None, retune_rule=True)
    assert training.run(args) == 0
    retuned = Checkpoint.load(out)
    assert retuned.season_rule.refine and retuned.version == "season-test"
    assert retuned.season_rule.support_threshold == SeasonRuleParams().support_threshold
    assert "rule_retuned" in retuned.card and "re-measured" in out.with_suffix(".md").read_text()
    for a, b in zip(model.state_dict().values(), retuned.state_dict.values(), strict=True):
        assert torch.allclose(a.float(), b.float(), atol=1e-2)  # the network itself untouched (stored as fp16)


def continue_args(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, examples: list[Example], start: IntroNet, version: str, *extra: str
) -> argparse.Namespace:
    """`train --init` arguments that continue from `start` (saved as `version`) on `examples`, written to o.pt."""

    ckpt = tmp_path / "start.pt"
    Checkpoint(version, start.dims, IntervalParams(), FrameMode.ALL, start.state_dict(), {}).save(ckpt)
    monkeypatch.setattr(training, "load_corpus", lambda root, cache, mode: examples)
    parser = argparse.ArgumentParser()
    training.add_arguments(parser)
    (tmp_path / "truth.json").write_text("[]")
    return parser.parse_args(["--corpus", str(tmp_path), "--init", str(ckpt), "--out", str(tmp_path / "o.pt"), *extra])


def test_continuing_a_season_model_as_a_seed_model_is_refused(
    examples: list[Example], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    args = continue_args(tmp_path, monkeypatch, examples, IntroNet(ModelDims(n_extra=5)), "season-x")
    with pytest.raises(SystemExit, match="season model; pass --season-context"):
        training.run(args)


def test_a_continued_model_is_versioned_by_its_round(
    examples: list[Example], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    args = continue_args(
        tmp_path, monkeypatch, examples, IntroNet(ModelDims()), "seed-20260101-s0", "--epochs", "1", "--tune-shows", "1"
    )
    assert training.run(args) == 0
    second = Checkpoint.load(args.out)
    assert second.version.startswith("seed-") and second.version.endswith("-s0-r2")
    assert second.card["earlier_rounds"][0]["version"] == "seed-20260101-s0"


def test_measure_only_puts_the_held_out_figures_by_intro_position_in_the_card(season_media: list[Path], tmp_path: Path):
    root = season_media[0].parents[2]  # a generated season with its truth.json
    out = tmp_path / "seed.pt"
    shutil.copy(MODELS["seed"], out)
    parser = argparse.ArgumentParser()
    training.add_arguments(parser)
    args = parser.parse_args(["--corpus", str(root), "--out", str(out), "--measure-only", "--held-out", str(root)])
    assert training.run(args) == 0
    measured = Checkpoint.load(out)
    lines = measured.card["held_out"][str(root)]["lines"]
    assert any(line.startswith("both ends within +-2 s") for line in lines)
    assert any(line.startswith("  intro ") for line in lines)
    card = out.with_suffix(".md").read_text()
    assert f"## Held out: {root}, every episode alone" in card and "  intro " in card
    assert measured.version == Checkpoint.load(MODELS["seed"]).version  # measured, not trained

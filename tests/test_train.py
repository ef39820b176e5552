import argparse
from pathlib import Path

import numpy as np
import pytest
import torch

from detector.audio import FRAMES_PER_SECOND, N_MELS, SAMPLE_RATE, WINDOW_S
from detector.dataset import Example, siblings_of
from detector.decode import FRAME_HEIGHT, FRAME_WIDTH
from detector.features import second_labels
from detector.fingerprint import fingerprint
from detector.intervals import IntervalParams
from detector.model import IntroNet, ModelDims
from detector.train import (
    TrainConfig,
    _augment,
    _make_optimizer,
    _tune_figures,
    predict,
    shift_bins,
    split_by_show,
    train,
    train_epoch,
    tune_intervals,
)


def example(show: str, episode: int, n_seconds: int = 20, intro: tuple[float, float] | None = (3.0, 9.0)) -> Example:
    rng = np.random.default_rng(episode)
    audio = (0.1 * rng.standard_normal(n_seconds * SAMPLE_RATE)).astype(np.float32)
    frames = rng.integers(0, 256, (n_seconds, FRAME_HEIGHT, FRAME_WIDTH, 3), dtype=np.uint8)
    return Example(
        path=Path(f"/corpus/{show}/Season 01/e{episode}.mkv"),
        show=show,
        season=Path(f"/corpus/{show}/Season 01"),
        truth=intro,
        mel=torch.randn(N_MELS, (n_seconds + WINDOW_S) * FRAMES_PER_SECOND).half(),
        frames=torch.from_numpy(frames),
        labels=torch.from_numpy(second_labels(n_seconds, *(intro or (None, None)))),
        fingerprints=fingerprint(audio, frames),
    )


@pytest.fixture(scope="module")
def examples() -> list[Example]:
    return [example(show, i) for show in ("a", "b", "c") for i in range(2)]


def test_split_keeps_shows_apart(examples: list[Example]):
    fit, tune = split_by_show(examples, tune_shows=1, seed=0)
    assert {e.show for e in fit}.isdisjoint({e.show for e in tune})
    assert len(fit) + len(tune) == len(examples) and len({e.show for e in tune}) == 1


@pytest.mark.parametrize("optimizer", ["adam", "sgd", "lbfgs"])
def test_every_optimizer_of_the_seed_trains_a_step(examples: list[Example], optimizer: str):
    torch.manual_seed(0)
    model = IntroNet(ModelDims(n_extra=5))
    cfg = TrainConfig(optimizer=optimizer, lr=0.1 if optimizer == "lbfgs" else 1e-3, batch_episodes=2)
    before = [p.detach().clone() for p in model.parameters()]
    loss = train_epoch(model, _make_optimizer(model, cfg), examples[:2], cfg, torch.Generator(), siblings_of(examples))
    assert np.isfinite(loss) and loss > 0
    assert any(not torch.equal(a, b) for a, b in zip(before, model.parameters(), strict=True))


def test_unknown_optimizer_is_refused():
    with pytest.raises(ValueError, match="adam, sgd or lbfgs"):
        _make_optimizer(IntroNet(ModelDims()), TrainConfig(optimizer="rmsprop"))


def test_training_is_reproducible_from_its_seed(examples: list[Example]):
    cfg = TrainConfig(epochs=1, tune_shows=1, batch_episodes=2)
    first, params_a, _ = train(examples, cfg, ModelDims())
    second, params_b, card = train(examples, cfg, ModelDims())
    assert params_a == params_b
    for a, b in zip(first.state_dict().values(), second.state_dict().values(), strict=True):
        assert torch.equal(a, b)
    assert card["fit_episodes"] == 4 and card["tune_episodes"] == 2


def test_interval_tuning_returns_parameters_from_the_grid(examples: list[Example]):
    model = IntroNet(ModelDims())
    scores = predict(model, examples, siblings_of(examples))
    params, report = tune_intervals(examples, scores)
    assert isinstance(params, IntervalParams) and not params.refine
    assert report.episodes == len(examples)


def test_splice_puts_the_donor_intro_in_place_of_the_host_intro():
    from detector.train import splice

    def example(n: int, truth: tuple[float, float] | None, value: int, show: str) -> Example:
        labels = torch.zeros(n)
        if truth:
            labels[int(truth[0]) : int(truth[1])] = 1
        return Example(
            path=Path(f"/{show}.mkv"),
            show=show,
            season=Path("/"),
            truth=truth,
            mel=torch.full((4, (n + WINDOW_S) * FRAMES_PER_SECOND), float(value)),
            frames=torch.full((n, 2, 2, 3), value, dtype=torch.uint8),
            labels=labels,
            fingerprints=None,  # type: ignore[arg-type]
        )

    host, donor = example(100, (10.0, 30.0), 1, "a"), example(80, (40.0, 52.0), 2, "b")
    out = splice(host, donor, torch.Generator().manual_seed(0))
    assert out.frames.shape[0] == 100 - 20 + 12 and out.truth == (10.0, 22.0)
    assert out.mel.shape[1] == (out.frames.shape[0] + WINDOW_S) * FRAMES_PER_SECOND
    assert out.labels.sum() == 12 and bool((out.frames[10:22] == 2).all()) and bool((out.frames[22:] == 1).all())
    lone = splice(example(60, None, 1, "a"), donor, torch.Generator().manual_seed(1))
    assert lone.frames.shape[0] == 72 and lone.labels.sum() == 12 and lone.truth is not None


def test_retune_rule_rewrites_only_the_rule_parameters(
    examples: list[Example], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    import argparse

    import detector.train as training
    from detector.decode import FrameMode
    from detector.inference import Checkpoint

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
    assert retuned.intervals.refine and retuned.version == "season-test"
    assert retuned.intervals.support_threshold == IntervalParams().support_threshold
    assert "rule_retuned" in retuned.card and "re-measured" in out.with_suffix(".md").read_text()
    for a, b in zip(model.state_dict().values(), retuned.state_dict.values(), strict=True):
        assert torch.allclose(a.float(), b.float(), atol=1e-2)  # the network itself untouched (stored as fp16)


def test_training_continues_from_a_checkpoint(examples: list[Example], tmp_path: Path):
    from detector.decode import FrameMode
    from detector.inference import Checkpoint
    from detector.train import _round_summary, model_card

    torch.manual_seed(1)
    start = IntroNet(ModelDims())
    card = {"trained": "earlier", "corpus": "data/old", "fit_episodes": 9, "tune_episodes": 3, "train_seconds": 5}
    init = Checkpoint("seed-old", start.dims, IntervalParams(), FrameMode.ALL, start.state_dict(), card)
    cfg = TrainConfig(epochs=1, tune_shows=1, batch_episodes=2, lr=1e-6)
    model, _, trained_card = train(examples, cfg, ModelDims(n_extra=5), init=init)
    assert model.dims == start.dims  # the checkpoint's dimensions, not the ones passed
    assert trained_card["train_config"]["init"] == "seed-old"  # type: ignore[index]
    history = trained_card["history"]
    assert [h["epoch"] for h in history] == [0, 1]  # type: ignore[attr-defined]
    # A tiny step from the starting weights, not a fresh random network.
    for a, b in zip(start.state_dict().values(), model.state_dict().values(), strict=True):
        assert torch.allclose(a, b, atol=1e-3)
    summary = _round_summary(init)
    assert summary["version"] == "seed-old" and summary["corpus"] == "data/old"
    out = tmp_path / "seed.pt"
    Checkpoint(
        "seed-new",
        model.dims,
        IntervalParams(),
        FrameMode.ALL,
        model.state_dict(),
        {**trained_card, "earlier_rounds": [summary]},
    ).save(out)
    assert "continued from seed-old (trained earlier in 5 s on data/old" in model_card(Checkpoint.load(out))


def continue_args(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, examples: list[Example], start: IntroNet, version: str, *extra: str
) -> argparse.Namespace:
    """`train --init` arguments that continue from `start` (saved as `version`) on `examples`, written to o.pt."""
    import detector.train as training
    from detector.decode import FrameMode
    from detector.inference import Checkpoint

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
    import detector.train as training

    args = continue_args(tmp_path, monkeypatch, examples, IntroNet(ModelDims(n_extra=5)), "season-x")
    with pytest.raises(SystemExit, match="season model; pass --season-context"):
        training.run(args)


def test_pitch_shift_moves_a_tone_along_the_mel_axis_and_keeps_the_shape():
    mel = torch.zeros(16, 5)
    mel[6] = 1.0
    assert torch.equal(shift_bins(mel, 2)[8], torch.ones(5)) and shift_bins(mel, 2).sum() == 5
    assert torch.equal(shift_bins(mel, -3)[3], torch.ones(5)) and shift_bins(mel, -3).shape == mel.shape
    edge = torch.arange(16.0).unsqueeze(1).expand(16, 5)
    assert shift_bins(edge, 2)[:3, 0].tolist() == [0.0, 0.0, 0.0]  # uncovered bins repeat the lowest one
    assert shift_bins(edge, -2)[-3:, 0].tolist() == [15.0, 15.0, 15.0]


def test_augmentation_keeps_shapes_and_changes_the_sound_and_picture(examples: list[Example]):
    ex = examples[0]
    mel, frames = _augment(ex, torch.Generator().manual_seed(3))
    assert mel.shape == ex.mel.shape and mel.dtype == torch.float32 and bool(torch.isfinite(mel).all())
    assert frames.shape == ex.frames.shape and frames.dtype == torch.uint8
    assert float((mel - ex.mel.float()).abs().mean()) > 0.01
    again, _ = _augment(ex, torch.Generator().manual_seed(3))
    assert torch.equal(mel, again)  # reproducible from the training seed


def test_a_continued_model_is_versioned_by_its_round(
    examples: list[Example], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    import detector.train as training
    from detector.inference import Checkpoint

    args = continue_args(
        tmp_path, monkeypatch, examples, IntroNet(ModelDims()), "seed-20260101-s0", "--epochs", "1", "--tune-shows", "1"
    )
    assert training.run(args) == 0
    second = Checkpoint.load(args.out)
    assert second.version.startswith("seed-") and second.version.endswith("-s0-r2")
    assert second.card["earlier_rounds"][0]["version"] == "seed-20260101-s0"


def test_tuning_corpora_pick_the_epoch_and_every_training_show_is_fitted(examples: list[Example]):
    held_out = [example("v", 7), example("v", 8, intro=None)]
    cfg = TrainConfig(epochs=1, tune_shows=1, batch_episodes=2)
    _, _, card = train(examples, cfg, tune_examples=held_out)
    assert card["fit_episodes"] == len(examples) and card["tune_shows"] == ["v"] and card["tune_episodes"] == 2
    with pytest.raises(ValueError, match="both fitted and tuned on: a"):
        train(examples, cfg, tune_examples=[example("a", 9)])


def test_the_mean_of_the_last_epochs_is_a_candidate(examples: list[Example]):
    cfg = TrainConfig(epochs=3, tune_shows=1, batch_episodes=2, average_last=2)
    model, _, card = train(examples, cfg, ModelDims())
    history = card["history"]
    assert [h["epoch"] for h in history] == [1, 2, 3, "mean of 2-3"]  # type: ignore[attr-defined]
    best = min(history, key=lambda h: h["tune_loss"])  # type: ignore[arg-type, index, return-value]
    # The weights kept are the candidate with the lowest tuning loss, whichever it was.
    _, tune = split_by_show(examples, cfg.tune_shows, cfg.seed)
    loss, _ = _tune_figures(model, tune, siblings_of(examples))
    assert abs(loss - best["tune_loss"]) < 1e-2  # type: ignore[index]

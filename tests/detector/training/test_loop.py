from pathlib import Path

import numpy as np
import pytest
import torch

from detector.checkpoint import Checkpoint
from detector.decode import FrameMode
from detector.intervals import IntervalParams
from detector.model import IntroNet, ModelDims
from detector.training.card import model_card, round_summary
from detector.training.dataset import Example, siblings_of
from detector.training.loop import TrainConfig, _make_optimizer, split_by_show, train, train_epoch, widened
from detector.training.tuning import tune_figures
from tests.detector.training.examples import example


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


def test_frozen_embeddings_train_the_lstm_and_head_only(examples: list[Example]):
    torch.manual_seed(0)
    model = IntroNet(ModelDims())
    cfg = TrainConfig(lr=1e-3, batch_episodes=2, freeze_embeddings=True)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    train_epoch(model, _make_optimizer(model, cfg), examples[:2], cfg, torch.Generator(), siblings_of(examples))
    after = model.state_dict()
    changed = {k.split(".")[0] for k in before if not torch.equal(before[k], after[k])}
    assert changed == {"lstm", "head"}


def test_unknown_optimizer_is_refused():
    with pytest.raises(ValueError, match="adam, sgd or lbfgs"):
        _make_optimizer(IntroNet(ModelDims()), TrainConfig(optimizer="rmsprop"))


def test_training_is_reproducible_from_its_seed(examples: list[Example]):
    cfg = TrainConfig(epochs=1, tune_shows=1, batch_episodes=2)
    first, params_a, rule_a, _ = train(examples, cfg, ModelDims())
    second, params_b, rule_b, card = train(examples, cfg, ModelDims())
    assert (params_a, rule_a) == (params_b, rule_b)
    for a, b in zip(first.state_dict().values(), second.state_dict().values(), strict=True):
        assert torch.equal(a, b)
    assert card["fit_episodes"] == 4 and card["tune_episodes"] == 2


def test_training_continues_from_a_checkpoint(examples: list[Example], tmp_path: Path):
    torch.manual_seed(1)
    start = IntroNet(ModelDims())
    card = {"trained": "earlier", "corpus": "data/old", "fit_episodes": 9, "tune_episodes": 3, "train_seconds": 5}
    init = Checkpoint("seed-old", start.dims, IntervalParams(), FrameMode.ALL, start.state_dict(), card)
    cfg = TrainConfig(epochs=1, tune_shows=1, batch_episodes=2, lr=1e-6)
    model, _, _, trained_card = train(examples, cfg, ModelDims(n_extra=5), init=init)
    assert model.dims == start.dims  # the checkpoint's dimensions, not the ones passed
    assert trained_card["train_config"]["init"] == "seed-old"  # type: ignore[index]
    history = trained_card["history"]
    assert [h["epoch"] for h in history] == [0, 1]  # type: ignore[attr-defined]
    # A tiny step from the starting weights, not a fresh random network.
    for a, b in zip(start.state_dict().values(), model.state_dict().values(), strict=True):
        assert torch.allclose(a, b, atol=1e-3)
    summary = round_summary(init)
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


def test_tuning_corpora_pick_the_epoch_and_every_training_show_is_fitted(examples: list[Example]):
    held_out = [example("v", 7), example("v", 8, intro=None)]
    cfg = TrainConfig(epochs=1, tune_shows=1, batch_episodes=2)
    _, _, _, card = train(examples, cfg, tune_examples=held_out)
    assert card["fit_episodes"] == len(examples) and card["tune_shows"] == ["v"] and card["tune_episodes"] == 2
    with pytest.raises(ValueError, match="both fitted and tuned on: a"):
        train(examples, cfg, tune_examples=[example("a", 9)])


def test_the_mean_of_the_last_epochs_is_a_candidate(examples: list[Example]):
    cfg = TrainConfig(epochs=3, tune_shows=1, batch_episodes=2, average_last=2)
    model, _, _, card = train(examples, cfg, ModelDims())
    history = card["history"]
    assert [h["epoch"] for h in history] == [1, 2, 3, "mean of 2-3"]  # type: ignore[attr-defined]
    best = min(history, key=lambda h: h["tune_loss"])  # type: ignore[arg-type, index, return-value]
    # The weights kept are the candidate with the lowest tuning loss, whichever it was.
    _, tune = split_by_show(examples, cfg.tune_shows, cfg.seed)
    loss, _ = tune_figures(model, tune, siblings_of(examples))
    assert abs(loss - best["tune_loss"]) < 1e-2  # type: ignore[index]


def test_a_one_way_network_starts_a_two_sided_one_with_its_cnns_and_forward_direction():
    one_way = IntroNet(ModelDims(context_s=30, lookahead_s=10))
    two_sided = IntroNet(ModelDims(context_s=30, lookahead_s=10, two_sided=True))
    fresh = {k: v.clone() for k, v in two_sided.state_dict().items()}
    two_sided.load_state_dict(widened(one_way.state_dict(), two_sided))
    state = two_sided.state_dict()
    for name in ("audio.window.weight", "image.project.weight", "lstm.weight_ih_l0", "lstm.weight_hh_l0"):
        assert torch.equal(state[name], one_way.state_dict()[name]), name
    # what the one-way network has no weights for keeps the new network's own
    assert torch.equal(state["lstm.weight_hh_l0_reverse"], fresh["lstm.weight_hh_l0_reverse"])
    assert state["head.weight"].shape == (1, 600) and torch.equal(state["head.weight"], fresh["head.weight"])

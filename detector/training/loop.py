"""The optimisation loop: fit the network on labelled episodes, pick the epoch on tuning shows, tune the
post-processing, and describe the run for the model card.

Shows are split into fitting and tuning shows (the tuning shows pick the best epoch and DBSCAN's eps/min_samples),
or, with tuning corpora, every training show is fitted and validation corpora of held-out recordings tune; reported
accuracy comes from `intro-daemon eval` on a corpus that neither fitted nor tuned.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime
from pathlib import Path

import torch

from detector.audio import FRAMES_PER_SECOND, WINDOW_S
from detector.checkpoint import Checkpoint, postprocessing_dict
from detector.decode import FrameMode
from detector.intervals import IntervalParams
from detector.model import IntroNet, ModelDims, sequence_loss
from detector.season_rule import SeasonRuleParams
from detector.training.augmentation import augment, crop_span, repetition_input, splice
from detector.training.dataset import Example, siblings_of
from detector.training.metrics import evaluate
from detector.training.tuning import edge_offsets, predict, predictions, season_contexts, tune_figures, tune_intervals

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TrainConfig:
    epochs: int = 10
    lr: float = 1e-3
    optimizer: str = "adam"  # adam | sgd | lbfgs
    batch_episodes: int = 1
    weight_decay: float = 1e-4
    tune_shows: int = 2
    seed: int = 0
    frame_mode: str = FrameMode.ALL.value
    splice_share: float = 0.5  # seed model: share of training steps on a spliced episode (see splice)
    init: str = ""  # version of the checkpoint whose weights training continues from ("" = random weights)
    average_last: int = 0  # >= 2: the mean of the last N epochs' weights is a candidate too (0 = not tried)
    freeze_embeddings: bool = False  # train the LSTM and its head only; the two CNNs keep their weights
    audio_blind_share: float = 0.0  # seed model: share of steps whose audio embedding is hidden (see train_epoch)


def widened(state: Mapping[str, torch.Tensor], model: IntroNet) -> dict[str, torch.Tensor]:
    """Starting weights for a model the options changed. Sound measures the starting one lacked: the LSTM's input
    weights get zero columns for them (between the CNNs' embeddings and any extra features), so training starts
    from what the starting weights do and learns what the measures add. A window read from both ends (two_sided):
    the reverse direction and the wider head start from the new model's own random weights, the CNNs and the
    forward direction from the starting ones."""
    state = dict(state)
    key = "lstm.weight_ih_l0"
    wanted = model.lstm.input_size
    have = state[key].shape[1]
    if have < wanted:
        cnn = 2 * model.dims.embedding
        w = state[key]
        zeros = w.new_zeros(w.shape[0], wanted - have)
        state[key] = torch.cat([w[:, :cnn], zeros, w[:, cnn:]], dim=1)
    for name, fresh in model.state_dict().items():
        if name.startswith(("lstm.", "head.")) and (name not in state or state[name].shape != fresh.shape):
            state[name] = fresh
    return state


def split_by_show(examples: Sequence[Example], tune_shows: int, seed: int) -> tuple[list[Example], list[Example]]:
    shows = sorted({e.show for e in examples})
    random.Random(seed).shuffle(shows)
    tune = set(shows[:tune_shows])
    return [e for e in examples if e.show not in tune], [e for e in examples if e.show in tune]


# Season model: share of steps with siblings where the network's own embedding is hidden, so that it learns to
# read the repetition evidence instead of memorising the training shows through its CNNs.
BLIND_SHARE = 0.3


def _make_optimizer(model: IntroNet, cfg: TrainConfig) -> torch.optim.Optimizer:
    if cfg.freeze_embeddings:
        # What a sequence model learns about where it is lives in the LSTM; the CNNs, trained on many more shows
        # than a later round adds, keep what they learned instead of fitting the new shows' recordings.
        for module in (model.audio, model.image):
            module.requires_grad_(False)
        params = [p for p in model.parameters() if p.requires_grad]
    else:
        params = list(model.parameters())
    if cfg.optimizer == "adam":
        return torch.optim.Adam(params, lr=cfg.lr, weight_decay=cfg.weight_decay)
    if cfg.optimizer == "sgd":
        return torch.optim.SGD(params, lr=cfg.lr, momentum=0.9, weight_decay=cfg.weight_decay)
    if cfg.optimizer == "lbfgs":
        return torch.optim.LBFGS(params, lr=cfg.lr, max_iter=5, history_size=10)
    raise ValueError(f"optimizer must be adam, sgd or lbfgs, not {cfg.optimizer!r}")


def _closure(
    model: IntroNet,
    optimizer: torch.optim.Optimizer,
    inputs: Sequence[tuple[torch.Tensor, torch.Tensor, torch.Tensor | None, bool, bool, torch.Tensor]],
) -> Callable[[], float]:
    """Loss and gradients of one batch of episodes (a closure, so that LBFGS can re-evaluate it)."""

    def closure() -> float:
        optimizer.zero_grad()
        loss = torch.zeros(())
        for mel, frames, extra, blind, deaf, labels in inputs:
            if blind:
                embedding = torch.zeros(1, frames.shape[0], model.embedding_width)
            else:
                embedding = model.embed(mel.unsqueeze(0), frames.unsqueeze(0))
            if deaf:
                embedding = torch.cat(
                    [torch.zeros_like(embedding[..., : model.dims.embedding]), embedding[..., model.dims.embedding :]],
                    -1,
                )
            logits = model.classify(embedding, None if extra is None else extra.unsqueeze(0))[0]
            loss = loss + sequence_loss(logits, labels)
        (loss / len(inputs)).backward()
        return float(loss.detach())

    return closure


def train_epoch(
    model: IntroNet,
    optimizer: torch.optim.Optimizer,
    examples: Sequence[Example],
    cfg: TrainConfig,
    rng: torch.Generator,
    seasons: Mapping[Path, Sequence[Example]],
) -> float:
    model.train()
    order = torch.randperm(len(examples), generator=rng).tolist()
    total = 0.0
    for start in range(0, len(order), cfg.batch_episodes):
        batch = [examples[i] for i in order[start : start + cfg.batch_episodes]]
        inputs = []
        for ex in batch:
            if not model.dims.n_extra and torch.rand(1, generator=rng).item() < cfg.splice_share:
                donors = [d for d in examples if d.truth is not None and d.show != ex.show]
                if donors:
                    ex = splice(ex, donors[int(torch.randint(len(donors), (1,), generator=rng))], rng)
            mel, frames = augment(ex, rng)
            extra = repetition_input(ex, seasons, rng) if model.dims.n_extra else None
            has_siblings = extra is not None and bool(extra[0, -1] > 0)
            blind = has_siblings and torch.rand(1, generator=rng).item() < BLIND_SHARE
            # Without the audio CNN's embedding the network must read the pictures and the sound measures, which
            # carry to voices and music the CNN never heard; with it, it would lean on that CNN alone.
            deaf = torch.rand(1, generator=rng).item() < cfg.audio_blind_share
            a, b = crop_span(frames.shape[0], ex.truth, rng)
            mel = mel[:, a * FRAMES_PER_SECOND : (b + WINDOW_S) * FRAMES_PER_SECOND]
            inputs.append((mel, frames[a:b], None if extra is None else extra[a:b], blind, deaf, ex.labels[a:b]))

        loss = optimizer.step(_closure(model, optimizer, inputs))
        total += float(loss or 0.0)
    return total / max(1, len(examples))


def train(
    examples: Sequence[Example],
    cfg: TrainConfig,
    dims: ModelDims | None = None,
    progress: Callable[[str], None] = log.info,
    init: Checkpoint | None = None,
    tune_examples: Sequence[Example] = (),
) -> tuple[IntroNet, IntervalParams, SeasonRuleParams, dict[str, object]]:
    """The trained network, its tuned DBSCAN parameters and season rule, and the model card's figures.

    init: continue from these weights (its dimensions win over `dims`), e.g. on a corpus of new shows.
    tune_examples: pick the epoch and the interval parameters on these (validation corpora built from held-out
    recordings) and fit on every show of `examples`; without them, `cfg.tune_shows` shows of `examples` tune.
    """
    torch.manual_seed(cfg.seed)
    rng = torch.Generator().manual_seed(cfg.seed)
    if tune_examples:
        shared = {e.show for e in examples} & {e.show for e in tune_examples}
        if shared:
            raise ValueError(f"shows both fitted and tuned on: {', '.join(sorted(shared))}")
        fit, tune = list(examples), list(tune_examples)
    else:
        fit, tune = split_by_show(examples, cfg.tune_shows, cfg.seed)
    seasons = siblings_of([*examples, *tune_examples])
    if not fit or not tune:
        raise ValueError(
            f"need at least {cfg.tune_shows + 1} shows to train and tune, got {len({e.show for e in examples})}"
        )
    dims = init.dims if init is not None else dims or ModelDims()
    model = IntroNet(dims)
    if init is not None:
        model.load_state_dict(widened(init.state_dict, model))
        cfg = replace(cfg, init=init.version)
    optimizer = _make_optimizer(model, cfg)
    # Cosine decay: the tuning loss swings from epoch to epoch at a constant rate; a falling one lets it settle.
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=cfg.epochs, eta_min=cfg.lr * 0.05)
    best_state: dict[str, torch.Tensor] | None = None
    best_loss = float("inf")
    history: list[dict[str, str | float | int | None]] = []
    averaged: list[dict[str, torch.Tensor]] = []
    started = time.monotonic()
    if init is not None:
        # The starting weights are a candidate too ("epoch 0"): more training must beat them on the tuning shows.
        best_loss, q = tune_figures(model, tune, seasons)
        best_state = {k: v.clone() for k, v in model.state_dict().items()}
        history.append({"epoch": 0, "train_loss": None, "tune_loss": round(best_loss, 3), "tune_q": round(q, 4)})
        progress(f"epoch 0 (the starting weights): tune loss {best_loss:.2f}, tune Q {q:.4f}")
    for epoch in range(1, cfg.epochs + 1):
        loss = train_epoch(model, optimizer, fit, cfg, rng, seasons)
        schedule.step()
        tune_loss, q = tune_figures(model, tune, seasons)
        history.append(
            {"epoch": epoch, "train_loss": round(loss, 3), "tune_loss": round(tune_loss, 3), "tune_q": round(q, 4)}
        )
        progress(
            f"epoch {epoch}/{cfg.epochs}: train loss {loss:.2f}/episode, tune loss {tune_loss:.2f}, "
            f"tune Q {q:.4f}, "
            f"{time.monotonic() - started:.0f} s"
        )
        # The epoch is chosen by the tuning shows' loss: Q alone rewards a model that says "no intro" everywhere.
        if tune_loss < best_loss:
            best_loss, best_state = tune_loss, {k: v.clone() for k, v in model.state_dict().items()}
        if cfg.average_last >= 2 and epoch > cfg.epochs - cfg.average_last:
            averaged.append({k: v.clone() for k, v in model.state_dict().items()})
    if len(averaged) >= 2:
        # One epoch's weights swing with the last episodes it saw (single-episode steps); their mean sits between
        # those swings (stochastic weight averaging). GroupNorm keeps no running statistics to recompute.
        model.load_state_dict({k: torch.stack([s[k] for s in averaged]).mean(0) for k in averaged[0]})
        tune_loss, q = tune_figures(model, tune, seasons)
        label = f"mean of {cfg.epochs - len(averaged) + 1}-{cfg.epochs}"
        history.append({"epoch": label, "train_loss": None, "tune_loss": round(tune_loss, 3), "tune_q": round(q, 4)})
        progress(f"{label}: tune loss {tune_loss:.2f}, tune Q {q:.4f}")
        if tune_loss < best_loss:
            best_loss, best_state = tune_loss, {k: v.clone() for k, v in model.state_dict().items()}
    assert best_state is not None
    model.load_state_dict(best_state)
    # DBSCAN serves every episode of the seed model and lone episodes of the season model: tune it on those.
    params, tuned = tune_intervals([e.truth for e in tune], predict(model, tune, seasons, lone=True))
    rule = SeasonRuleParams()
    if dims.n_extra:
        # With siblings: the repeated-run rule with code-level edges, corrected by their median error on the whole
        # training corpus (the edges come from fingerprints, not from the network, so fitting shows are fair game).
        start_offset, end_offset = edge_offsets(
            examples, predict(model, examples, seasons), season_contexts(examples, seasons), rule
        )
        rule = replace(rule, refine=True, start_offset_s=start_offset, end_offset_s=end_offset)
        tuned = evaluate(predictions(tune, predict(model, tune, seasons), params, season_contexts(tune, seasons), rule))
    card = {
        "trained": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "train_config": asdict(cfg),
        "dims": dims.to_dict(),
        "fit_shows": sorted({e.show for e in fit}),
        "tune_shows": sorted({e.show for e in tune}),
        "fit_episodes": len(fit),
        "tune_episodes": len(tune),
        "history": history,
        "tune_report": asdict(tuned),
        "intervals": postprocessing_dict(params, rule),
        "train_seconds": round(time.monotonic() - started),
    }
    return model, params, rule, card

"""Train the seed network on a labelled corpus, tune the interval parameters, write weights and a model card.

    python -m detector.train --corpus data/train --out detector/weights/seed.pt

Shows are split into fitting and tuning shows (the tuning shows pick the best epoch and DBSCAN's eps/min_samples),
or, with --tune-corpus, every training show is fitted and validation corpora of held-out recordings tune; reported
accuracy comes from `intro-daemon eval` on a corpus that neither fitted nor tuned.
"""

from __future__ import annotations

import argparse
import itertools
import json
import logging
import random
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import torch

from detector.audio import FRAMES_PER_SECOND, PAD_S, WINDOW_S
from detector.boundaries import locate_repeated_intro
from detector.dataset import Example, load_corpus, siblings_of
from detector.decode import FrameMode
from detector.fingerprint import Fingerprints
from detector.inference import Checkpoint
from detector.intervals import IntervalParams, find_intro
from detector.metrics import Outcome, Report, evaluate
from detector.model import IntroNet, ModelDims, sequence_loss
from detector.repetition import RepetitionFeatures, repetition_scores
from detector.weights import MODELS

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


def split_by_show(examples: Sequence[Example], tune_shows: int, seed: int) -> tuple[list[Example], list[Example]]:
    shows = sorted({e.show for e in examples})
    random.Random(seed).shuffle(shows)
    tune = set(shows[:tune_shows])
    return [e for e in examples if e.show not in tune], [e for e in examples if e.show in tune]


LONE_EPISODE_SHARE = 0.25  # fused training: share of steps that see no siblings, so lone episodes keep working


# Season model: share of steps with siblings where the network's own embedding is hidden, so that it learns to
# read the repetition evidence instead of memorising the training shows through its CNNs.
BLIND_SHARE = 0.3

CROP_SHARE = 0.5  # share of training steps on a random span of the episode (see crop_span)
MIN_CROP_S = 20  # a crop keeps at least this many seconds; episodes under twice that are never cropped


def repetition_input(
    ex: Example, seasons: Mapping[Path, Sequence[Example]], rng: torch.Generator | None = None
) -> torch.Tensor:
    """(n_seconds, n_features) repetition evidence against the episode's siblings.

    With rng (training), a random subset of the siblings, none at all in LONE_EPISODE_SHARE of the cases.
    """
    siblings = [o.fingerprints for o in seasons[ex.season] if o is not ex]
    if rng is not None and siblings:
        if torch.rand(1, generator=rng).item() < LONE_EPISODE_SHARE:
            siblings = []
        else:
            keep = torch.randperm(len(siblings), generator=rng)[
                : 1 + int(torch.randint(len(siblings), (1,), generator=rng))
            ]
            siblings = [siblings[i] for i in keep.tolist()]
    return torch.from_numpy(repetition_scores(ex.fingerprints, siblings).matrix())


EQ_KNOTS = 5  # control points of the random equaliser across the mel bins
EQ_DEPTH = 0.1  # log-mel units (1.0 = 40 dB)
PITCH_BINS = 2  # largest pitch shift, mel bins (~1.5 semitones where the bins are log-spaced)


def shift_bins(mel: torch.Tensor, bins: int) -> torch.Tensor:
    """(n_mels, n_frames) moved up (bins > 0) or down the mel axis; the bins it uncovers repeat the edge bin."""
    if bins > 0:
        return torch.cat([mel[:1].expand(bins, -1), mel[:-bins]])
    if bins < 0:
        return torch.cat([mel[-bins:], mel[-1:].expand(-bins, -1)])
    return mel


def _augment(ex: Example, rng: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """Changes that keep what an intro is but break what identifies a training show: its colour grade, its
    loudness, spectral colour and key, mirrored pictures."""
    mel = ex.mel.float() + 0.03 * torch.randn(ex.mel.shape, generator=rng)
    # Spectral tilt and a masked band: a show's mix and its theme's instrumentation are not what makes an intro.
    tilt = (torch.rand(1, generator=rng).item() - 0.5) * 0.3
    mel = mel + tilt * torch.linspace(-1.0, 1.0, mel.shape[0]).unsqueeze(1)
    band = int(torch.randint(0, 9, (1,), generator=rng))
    low = int(torch.randint(0, mel.shape[0] - band + 1, (1,), generator=rng))
    mel[low : low + band] = mel.min()
    # A smooth random equaliser (up to ~+-4 dB per band) and a few mel bins of pitch: the training split has few
    # tracks, and a network that knows them by ear marks a held-out show's music scenes as its intro.
    knots = (torch.rand(EQ_KNOTS, generator=rng) - 0.5) * 2 * EQ_DEPTH
    curve = torch.nn.functional.interpolate(knots.view(1, 1, -1), size=mel.shape[0], mode="linear", align_corners=True)
    mel = mel + curve.view(-1, 1)
    mel = shift_bins(mel, int(torch.randint(-PITCH_BINS, PITCH_BINS + 1, (1,), generator=rng)))
    frames = ex.frames
    if torch.rand(1, generator=rng).item() < 0.5:
        frames = frames.flip(2)  # mirror: a title card is still a title card
    # Per-channel gain: every show has its own colour wash, which the image CNN otherwise learns by heart.
    gain = 0.7 + 0.6 * torch.rand(3, generator=rng)
    frames = (frames.float() * gain).clamp_(0, 255).to(torch.uint8)
    return mel, frames


def splice(host: Example, donor: Example, rng: torch.Generator) -> Example:
    """The host episode with its intro (or, without one, a random point of its first 40 %) replaced by the donor's
    intro, whole seconds: new pairings of an intro with a story and a position, from the same material.

    Seed model only: the composite has no siblings whose repetition would agree with it.
    """
    assert donor.truth is not None
    n = host.frames.shape[0]
    if host.truth is not None:
        cut_a, cut_b = int(host.truth[0]), min(n, int(np.ceil(host.truth[1])))
    else:
        cut_a = cut_b = int(torch.randint(0, max(1, int(0.4 * n)), (1,), generator=rng))
    d_a, d_b = int(donor.truth[0]), min(donor.frames.shape[0], int(np.ceil(donor.truth[1])))
    pad = PAD_S * FRAMES_PER_SECOND

    def columns(ex: Example, a: int, b: int) -> torch.Tensor:
        return ex.mel[:, pad + a * FRAMES_PER_SECOND : pad + b * FRAMES_PER_SECOND]

    mel = torch.cat(
        [
            host.mel[:, :pad],
            columns(host, 0, cut_a),
            columns(donor, d_a, d_b),
            columns(host, cut_b, n),
            host.mel[:, pad + n * FRAMES_PER_SECOND :],
        ],
        dim=1,
    )
    frames = torch.cat([host.frames[:cut_a], donor.frames[d_a:d_b], host.frames[cut_b:]])
    labels = torch.cat([torch.zeros(cut_a), donor.labels[d_a:d_b], torch.zeros(n - cut_b)])
    shift = cut_a - d_a
    truth = (donor.truth[0] + shift, donor.truth[1] + shift)
    return replace(host, mel=mel, frames=frames, labels=labels, truth=truth)


def crop_span(n_seconds: int, truth: tuple[float, float] | None, rng: torch.Generator) -> tuple[int, int]:
    """A random span [a, b) of the analysed seconds that never cuts the intro, in CROP_SHARE of the cases.

    The LSTM otherwise learns where each training show's intro sits instead of what it sounds and looks like.
    """
    if torch.rand(1, generator=rng).item() >= CROP_SHARE or n_seconds < 2 * MIN_CROP_S:
        return 0, n_seconds
    first, last = (int(truth[0]), int(np.ceil(truth[1]))) if truth else (n_seconds // 2, n_seconds // 2)
    a = int(torch.randint(0, max(1, min(first, n_seconds - MIN_CROP_S)) + 1, (1,), generator=rng))
    b_min = max(last + 1, a + MIN_CROP_S)
    b = n_seconds if b_min >= n_seconds else int(torch.randint(b_min, n_seconds + 1, (1,), generator=rng))
    return a, b


def _make_optimizer(model: torch.nn.Module, cfg: TrainConfig) -> torch.optim.Optimizer:
    params = model.parameters()
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
    inputs: Sequence[tuple[torch.Tensor, torch.Tensor, torch.Tensor | None, bool, torch.Tensor]],
) -> Callable[[], float]:
    """Loss and gradients of one batch of episodes (a closure, so that LBFGS can re-evaluate it)."""

    def closure() -> float:
        optimizer.zero_grad()
        loss = torch.zeros(())
        for mel, frames, extra, blind, labels in inputs:
            if blind:
                embedding = torch.zeros(1, frames.shape[0], 2 * model.dims.embedding)
            else:
                embedding = model.embed(mel.unsqueeze(0), frames.unsqueeze(0))
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
            mel, frames = _augment(ex, rng)
            extra = repetition_input(ex, seasons, rng) if model.dims.n_extra else None
            has_siblings = extra is not None and bool(extra[0, -1] > 0)
            blind = has_siblings and torch.rand(1, generator=rng).item() < BLIND_SHARE
            a, b = crop_span(frames.shape[0], ex.truth, rng)
            mel = mel[:, a * FRAMES_PER_SECOND : (b + WINDOW_S) * FRAMES_PER_SECOND]
            inputs.append((mel, frames[a:b], None if extra is None else extra[a:b], blind, ex.labels[a:b]))

        loss = optimizer.step(_closure(model, optimizer, inputs))
        total += float(loss or 0.0)
    return total / max(1, len(examples))


@torch.inference_mode()
def predict(
    model: IntroNet, examples: Sequence[Example], seasons: Mapping[Path, Sequence[Example]], lone: bool = False
) -> list[np.ndarray]:
    """Scores with every sibling available (as at inference), or with none (lone)."""
    model.eval()
    scores = []
    for ex in examples:
        extra = None
        if model.dims.n_extra:
            extra = repetition_input(ex, {ex.season: [ex]} if lone else seasons).unsqueeze(0)
        scores.append(torch.sigmoid(model(ex.mel.float().unsqueeze(0), ex.frames.unsqueeze(0), extra)[0]).numpy())
    return scores


SeasonContext = tuple[Fingerprints, list[Fingerprints], RepetitionFeatures]


def season_contexts(examples: Sequence[Example], seasons: Mapping[Path, Sequence[Example]]) -> list[SeasonContext]:
    """Per episode: its fingerprints, its siblings' and the repetition between them (all siblings, as at inference)."""
    contexts = []
    for ex in examples:
        siblings = [o.fingerprints for o in seasons[ex.season] if o is not ex]
        contexts.append((ex.fingerprints, siblings, repetition_scores(ex.fingerprints, siblings)))
    return contexts


def outcomes(
    examples: Sequence[Example],
    scores: Sequence[np.ndarray],
    params: IntervalParams,
    contexts: Sequence[SeasonContext] | None = None,
) -> list[Outcome]:
    """contexts: the episodes' season context when they have siblings (the season model's rule), else DBSCAN."""
    result = []
    for i, (ex, s) in enumerate(zip(examples, scores, strict=True)):
        intro = find_intro(s, params) if contexts is None else locate_repeated_intro(s, *contexts[i], params)
        predicted = (intro.start_s, intro.end_s) if intro else None
        result.append(Outcome(truth=ex.truth, predicted=predicted, scores=s, threshold=params.threshold))
    return result


def _mean_loss(examples: Sequence[Example], scores: Sequence[np.ndarray]) -> float:
    """Summed BCE per episode, from probabilities (clipped, as the network's logits never saturate this far)."""
    total = 0.0
    for ex, s in zip(examples, scores, strict=True):
        p = np.clip(s, 1e-6, 1 - 1e-6)
        y = ex.labels.numpy()
        total += float(-np.sum(y * np.log(p) + (1 - y) * np.log(1 - p)))
    return total / max(1, len(examples))


def _objective(report: Report) -> float:
    # Boundaries that users notice, and a wrong skip costs more than a missed one.
    false_rate = report.false_intros / max(1, report.no_intro_episodes)
    return (
        report.within_2s
        + 0.5 * report.within_1s
        - 1.0 * false_rate
        - 0.001 * report.story_marked_s / max(1, report.episodes)
    )


def tune_intervals(examples: Sequence[Example], scores: Sequence[np.ndarray]) -> tuple[IntervalParams, Report]:
    """Grid search of DBSCAN's parameters and the score threshold on the tuning shows."""
    best: tuple[float, IntervalParams, Report] | None = None
    for threshold, eps, min_samples in itertools.product(
        (0.3, 0.4, 0.5, 0.6, 0.7), (1.0, 2.0, 3.0, 5.0, 8.0), (2, 3, 5, 8)
    ):
        params = IntervalParams(threshold=threshold, eps_s=eps, min_samples=min_samples)
        report = evaluate(outcomes(examples, scores, params))
        score = _objective(report)
        if best is None or score > best[0]:
            best = (score, params, report)
    assert best is not None
    return best[1], best[2]


def edge_offsets(
    examples: Sequence[Example], scores: Sequence[np.ndarray], contexts: Sequence[SeasonContext], params: IntervalParams
) -> tuple[float, float]:
    """Minus the median start and end errors of the sharpened season rule (intros found within 3 s)."""
    raw = replace(params, refine=True, start_offset_s=0.0, end_offset_s=0.0)
    errors = [
        (o.predicted[0] - o.truth[0], o.predicted[1] - o.truth[1])
        for o in outcomes(examples, scores, raw, contexts)
        if o.predicted is not None
        and o.truth is not None
        and max(abs(o.predicted[0] - o.truth[0]), abs(o.predicted[1] - o.truth[1])) < 3.0
    ]
    if not errors:
        return 0.0, 0.0
    median = np.median(np.asarray(errors), axis=0)
    return round(-float(median[0]), 2), round(-float(median[1]), 2)


def _tune_figures(
    model: IntroNet, tune: Sequence[Example], seasons: Mapping[Path, Sequence[Example]]
) -> tuple[float, float]:
    """The tuning shows' mean summed BCE per episode and their Q (default threshold), with every sibling."""
    scores = predict(model, tune, seasons)
    return _mean_loss(tune, scores), evaluate(outcomes(tune, scores, IntervalParams())).q_seconds


def train(
    examples: Sequence[Example],
    cfg: TrainConfig,
    dims: ModelDims | None = None,
    progress: Callable[[str], None] = log.info,
    init: Checkpoint | None = None,
    tune_examples: Sequence[Example] = (),
) -> tuple[IntroNet, IntervalParams, dict[str, object]]:
    """init: continue from these weights (its dimensions win over `dims`), e.g. on a corpus of new shows.
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
        model.load_state_dict(init.state_dict)
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
        best_loss, q = _tune_figures(model, tune, seasons)
        best_state = {k: v.clone() for k, v in model.state_dict().items()}
        history.append({"epoch": 0, "train_loss": None, "tune_loss": round(best_loss, 3), "tune_q": round(q, 4)})
        progress(f"epoch 0 (the starting weights): tune loss {best_loss:.2f}, tune Q {q:.4f}")
    for epoch in range(1, cfg.epochs + 1):
        loss = train_epoch(model, optimizer, fit, cfg, rng, seasons)
        schedule.step()
        tune_loss, q = _tune_figures(model, tune, seasons)
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
        tune_loss, q = _tune_figures(model, tune, seasons)
        label = f"mean of {cfg.epochs - len(averaged) + 1}-{cfg.epochs}"
        history.append({"epoch": label, "train_loss": None, "tune_loss": round(tune_loss, 3), "tune_q": round(q, 4)})
        progress(f"{label}: tune loss {tune_loss:.2f}, tune Q {q:.4f}")
        if tune_loss < best_loss:
            best_loss, best_state = tune_loss, {k: v.clone() for k, v in model.state_dict().items()}
    assert best_state is not None
    model.load_state_dict(best_state)
    # DBSCAN serves every episode of the seed model and lone episodes of the season model: tune it on those.
    params, tuned = tune_intervals(tune, predict(model, tune, seasons, lone=True))
    if dims.n_extra:
        # With siblings: the repeated-run rule with code-level edges, corrected by their median error on the whole
        # training corpus (the edges come from fingerprints, not from the network, so fitting shows are fair game).
        start_offset, end_offset = edge_offsets(
            examples, predict(model, examples, seasons), season_contexts(examples, seasons), params
        )
        params = replace(params, refine=True, start_offset_s=start_offset, end_offset_s=end_offset)
        tuned = evaluate(outcomes(tune, predict(model, tune, seasons), params, season_contexts(tune, seasons)))
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
        "intervals": params.to_dict(),
        "train_seconds": round(time.monotonic() - started),
    }
    return model, params, card


def _round_summary(checkpoint: Checkpoint) -> dict[str, object]:
    c = checkpoint.card
    keys = ("trained", "corpus", "train_config", "fit_episodes", "tune_episodes", "fit_shows", "tune_shows")
    return {"version": checkpoint.version, "train_seconds": c.get("train_seconds"), **{k: c.get(k) for k in keys}}


def model_card(checkpoint: Checkpoint) -> str:
    c = checkpoint.card
    lines = [
        f"# Model card: {checkpoint.version}",
        "",
        "The seed network (EmbeddingAudio (1,3) CNN + EmbeddingImage (3,3) CNN -> LSTM 300 -> logit per second),",
        f"with {checkpoint.dims.n_extra} cross-episode repetition features beside the 1000-d embedding"
        if checkpoint.dims.n_extra
        else "seed only (no season context),",
        "DBSCAN intervals. Written by `python -m detector.train`; regenerate rather than edit.",
        "",
        f"- trained: {c.get('trained')} in {c.get('train_seconds')} s on this machine's CPU",
        f"- corpus: {c.get('corpus')}",
        f"- fitting shows ({c.get('fit_episodes')} episodes): {', '.join(c.get('fit_shows', []))}",
        f"- tuning shows ({c.get('tune_episodes')} episodes; pick the epoch and the interval parameters): "
        f"{', '.join(c.get('tune_shows', []))}"
        + (f" (from {c['tune_corpus']}: held-out recordings)" if c.get("tune_corpus") else ""),
        *(
            f"- continued from {r['version']} (trained {r['trained']} in {r['train_seconds']} s on {r['corpus']}: "
            f"{r['fit_episodes']} fitting, {r['tune_episodes']} tuning episodes)"
            for r in c.get("earlier_rounds", [])
        ),
        f"- frame mode: {checkpoint.frame_mode.value}",
        *(
            [f"- season rule re-applied, edge corrections re-measured (network unchanged): {c['rule_retuned']}"]
            if "rule_retuned" in c
            else []
        ),
        f"- interval parameters: {json.dumps(checkpoint.intervals.to_dict())}",
        f"- hyper-parameters: {json.dumps(c.get('train_config'))}",
        f"- dimensions: {json.dumps(checkpoint.dims.to_dict())}",
        "",
        "## Tuning-show figures (not a held-out result; see the README for `intro-daemon eval` on other shows)",
        "",
        "```",
        json.dumps(c.get("tune_report"), indent=1),
        "```",
        "",
        "## Epochs",
        "",
        "```",
        *(json.dumps(h) for h in c.get("history", [])),
        "```",
        "",
    ]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None, prog: str = "python -m detector.train") -> int:
    parser = argparse.ArgumentParser(prog=prog, description=__doc__)
    add_arguments(parser)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    return run(args)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    d = TrainConfig()
    parser.add_argument(
        "--corpus", type=Path, nargs="+", required=True, help="corpus roots with truth.json (several are pooled)"
    )
    parser.add_argument("--out", type=Path, default=None, help="weights file (default: the shipped seed/season model)")
    parser.add_argument("--cache", type=Path, default=Path("cache/features"))
    parser.add_argument("--epochs", type=int, default=d.epochs)
    parser.add_argument("--lr", type=float, default=d.lr)
    parser.add_argument("--optimizer", choices=("adam", "sgd", "lbfgs"), default=d.optimizer)
    parser.add_argument("--batch-episodes", type=int, default=d.batch_episodes)
    parser.add_argument("--tune-shows", type=int, default=d.tune_shows)
    parser.add_argument(
        "--tune-corpus",
        type=Path,
        nargs="+",
        default=[],
        help="pick the epoch and DBSCAN's parameters on these corpora (held-out recordings: --split val) instead of "
        "on --tune-shows shows of the training corpus, whose recordings the fitting shows share",
    )
    parser.add_argument("--seed", type=int, default=d.seed)
    parser.add_argument("--frame-mode", choices=[m.value for m in FrameMode], default=d.frame_mode)
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--splice-share", type=float, default=d.splice_share, help="seed model: spliced episodes")
    parser.add_argument(
        "--average-last",
        type=int,
        default=d.average_last,
        help="also try the mean of the last N epochs' weights on the tuning data (N >= 2; 0: not tried)",
    )
    parser.add_argument(
        "--init", type=Path, default=None, help="continue training from these weights instead of random ones"
    )
    parser.add_argument(
        "--retune-rule",
        action="store_true",
        help="season model: apply the season rule's current constants to the weights at --out and re-measure their "
        "edge corrections on the corpus (the network is not trained again)",
    )
    parser.add_argument(
        "--season-context",
        action="store_true",
        help="fuse cross-episode repetition into the network's input (the season model)",
    )


def retune_rule(args: argparse.Namespace) -> int:
    """After a change to the season rule: take its current fixed constants and re-measure a trained season model's
    edge corrections on the corpus, without training the network again; the card records it."""
    out = args.out or MODELS["season"]
    checkpoint = Checkpoint.load(out)
    rule = IntervalParams()
    base = replace(checkpoint.intervals, support_threshold=rule.support_threshold, min_repeated_s=rule.min_repeated_s)
    examples = [ex for root in args.corpus for ex in load_corpus(root, args.cache, checkpoint.frame_mode)]
    model = IntroNet(checkpoint.dims)
    model.load_state_dict(checkpoint.state_dict)
    seasons = siblings_of(examples)
    start_offset, end_offset = edge_offsets(
        examples, predict(model, examples, seasons), season_contexts(examples, seasons), base
    )
    intervals = replace(base, refine=True, start_offset_s=start_offset, end_offset_s=end_offset)
    card = {**checkpoint.card, "intervals": intervals.to_dict()}
    card["rule_retuned"] = f"{datetime.now(UTC):%Y-%m-%d %H:%M UTC} on {', '.join(str(r) for r in args.corpus)}"
    replace(checkpoint, intervals=intervals, card=card).save(out)
    out.with_suffix(".md").write_text(model_card(Checkpoint.load(out)))
    log.info("edge corrections of %s: start %+.2f s, end %+.2f s", out, start_offset, end_offset)
    return 0


def _require_truth(option: str, roots: Sequence[Path]) -> None:
    for root in roots:
        if not (root / "truth.json").is_file():
            raise SystemExit(f"{option} {root}: no truth.json there (build one with python -m corpus.build)")


def run(args: argparse.Namespace) -> int:
    _require_truth("--corpus", args.corpus)
    if args.threads:
        torch.set_num_threads(args.threads)
    if args.retune_rule:
        return retune_rule(args)
    _require_truth("--tune-corpus", args.tune_corpus)
    cfg = TrainConfig(
        epochs=args.epochs,
        lr=args.lr,
        optimizer=args.optimizer,
        batch_episodes=args.batch_episodes,
        tune_shows=args.tune_shows,
        seed=args.seed,
        frame_mode=args.frame_mode,
        splice_share=args.splice_share,
        average_last=args.average_last,
    )
    started = time.monotonic()
    examples = [ex for root in args.corpus for ex in load_corpus(root, args.cache, FrameMode(cfg.frame_mode))]
    log.info("loaded %d episodes in %.0f s", len(examples), time.monotonic() - started)
    dims = ModelDims(n_extra=len(RepetitionFeatures.FEATURE_NAMES) if args.season_context else 0)
    init = Checkpoint.load(args.init) if args.init else None
    if init is not None and init.dims.n_extra != dims.n_extra:
        raise SystemExit(
            f"{args.init}: a {'season' if init.dims.n_extra else 'seed'} model; pass --season-context "
            "to continue a season model, leave it out for a seed model"
        )
    tune = [ex for root in args.tune_corpus for ex in load_corpus(root, args.cache, FrameMode(cfg.frame_mode))]
    model, params, card = train(examples, cfg, dims, init=init, tune_examples=tune)
    card["corpus"] = ", ".join(str(root) for root in args.corpus)
    if tune:
        card["tune_corpus"] = ", ".join(str(root) for root in args.tune_corpus)
    round_suffix = ""
    if init is not None:
        # The earlier rounds' data stays part of the model's history.
        card["corpus"] = f"{init.card.get('corpus')} (as {init.version}), then {card['corpus']}"
        earlier = [*init.card.get("earlier_rounds", []), _round_summary(init)]
        card["earlier_rounds"] = earlier
        # Stored results carry the version, and a later round the same day must not pass for the earlier one.
        round_suffix = f"-r{len(earlier) + 1}"
    card["feature_seconds"] = round(time.monotonic() - started) - int(card["train_seconds"])  # type: ignore[call-overload]
    kind = "season" if dims.n_extra else "seed"
    version = f"{kind}-{datetime.now(UTC):%Y%m%d}-s{cfg.seed}{round_suffix}"
    checkpoint = Checkpoint(
        version=version,
        dims=model.dims,
        intervals=params,
        frame_mode=FrameMode(cfg.frame_mode),
        state_dict=model.state_dict(),
        card=card,
    )
    out = args.out or MODELS[kind]
    out.parent.mkdir(parents=True, exist_ok=True)
    checkpoint.save(out)
    out.with_suffix(".md").write_text(model_card(Checkpoint.load(out)))
    log.info("wrote %s (%s), %.1f MB", out, version, out.stat().st_size / 1e6)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

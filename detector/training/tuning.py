"""After the optimisation: scores of a trained network on labelled episodes, and the post-processing tuned on them
(DBSCAN's parameters by grid search; the season rule's end corrections by their median error)."""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch

from detector.fingerprint import Fingerprints
from detector.intervals import IntervalParams, find_intro
from detector.model import IntroNet
from detector.repetition import RepetitionFeatures, repetition_scores
from detector.season_rule import SeasonRuleParams, locate_repeated_intro
from detector.training.augmentation import repetition_input
from detector.training.dataset import Example
from detector.training.metrics import Prediction, Report, evaluate


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


def predictions(
    examples: Sequence[Example],
    scores: Sequence[np.ndarray],
    params: IntervalParams,
    contexts: Sequence[SeasonContext] | None = None,
    rule: SeasonRuleParams | None = None,
) -> list[Prediction]:
    """contexts: the episodes' season context when they have siblings (the season rule, default parameters unless
    `rule`), else DBSCAN. params.threshold classifies the seconds in either case."""
    if contexts is None:
        return _lone_predictions([ex.truth for ex in examples], scores, params)
    rule = rule or SeasonRuleParams()
    result = []
    for i, (ex, s) in enumerate(zip(examples, scores, strict=True)):
        intro = locate_repeated_intro(s, *contexts[i], rule)
        predicted = (intro.start_s, intro.end_s) if intro else None
        result.append(Prediction(truth=ex.truth, predicted=predicted, scores=s, threshold=params.threshold))
    return result


def _lone_predictions(
    truths: Sequence[tuple[float, float] | None], scores: Sequence[np.ndarray], params: IntervalParams
) -> list[Prediction]:
    """DBSCAN's interval on each episode's scores, without siblings."""
    result = []
    for truth, s in zip(truths, scores, strict=True):
        intro = find_intro(s, params)
        predicted = (intro.start_s, intro.end_s) if intro else None
        result.append(Prediction(truth=truth, predicted=predicted, scores=s, threshold=params.threshold))
    return result


def mean_loss(labels: Sequence[np.ndarray], scores: Sequence[np.ndarray]) -> float:
    """Summed BCE per episode of the per-second labels, from probabilities (clipped, as the network's logits never
    saturate this far)."""
    total = 0.0
    for y, s in zip(labels, scores, strict=True):
        p = np.clip(s, 1e-6, 1 - 1e-6)
        total += float(-np.sum(y * np.log(p) + (1 - y) * np.log(1 - p)))
    return total / max(1, len(labels))


def _objective(report: Report) -> float:
    # Boundaries that users notice, and a wrong skip costs more than a missed one.
    false_rate = report.false_intros / max(1, report.no_intro_episodes)
    return (
        report.within_2s
        + 0.5 * report.within_1s
        - 1.0 * false_rate
        - 0.001 * report.story_marked_s / max(1, report.episodes)
    )


def tune_intervals(
    truths: Sequence[tuple[float, float] | None], scores: Sequence[np.ndarray]
) -> tuple[IntervalParams, Report]:
    """Grid search of DBSCAN's parameters and the score threshold on the tuning shows: their intros (start_s,
    end_s; None: none) and the network's scores, without siblings."""
    best: tuple[float, IntervalParams, Report] | None = None
    for threshold, eps, min_samples in itertools.product(
        (0.3, 0.4, 0.5, 0.6, 0.7), (1.0, 2.0, 3.0, 5.0, 8.0), (2, 3, 5, 8)
    ):
        params = IntervalParams(threshold=threshold, eps_s=eps, min_samples=min_samples)
        report = evaluate(_lone_predictions(truths, scores, params))
        score = _objective(report)
        if best is None or score > best[0]:
            best = (score, params, report)
    assert best is not None
    return best[1], best[2]


def edge_offsets(
    examples: Sequence[Example],
    scores: Sequence[np.ndarray],
    contexts: Sequence[SeasonContext],
    rule: SeasonRuleParams,
) -> tuple[float, float]:
    """Minus the median start and end errors of the sharpened season rule (intros found within 3 s)."""
    raw = replace(rule, refine=True, start_offset_s=0.0, end_offset_s=0.0)
    errors = [
        (o.predicted[0] - o.truth[0], o.predicted[1] - o.truth[1])
        for o in predictions(examples, scores, IntervalParams(), contexts, raw)
        if o.predicted is not None
        and o.truth is not None
        and max(abs(o.predicted[0] - o.truth[0]), abs(o.predicted[1] - o.truth[1])) < 3.0
    ]
    if not errors:
        return 0.0, 0.0
    median = np.median(np.asarray(errors), axis=0)
    return round(-float(median[0]), 2), round(-float(median[1]), 2)


def tune_figures(
    model: IntroNet, tune: Sequence[Example], seasons: Mapping[Path, Sequence[Example]]
) -> tuple[float, float]:
    """The tuning shows' mean summed BCE per episode and their Q (default threshold), with every sibling."""
    scores = predict(model, tune, seasons)
    return mean_loss([e.labels.numpy() for e in tune], scores), evaluate(
        predictions(tune, scores, IntervalParams())
    ).q_seconds

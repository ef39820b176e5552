"""Accuracy figures for a labelled corpus: the seed's Q plus boundary and harm measures. Pure."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from detector.features import second_labels


@dataclass(frozen=True)
class Prediction:
    """One episode: the truth, what was predicted, and the per-second classification behind it."""

    truth: tuple[float, float] | None  # (start_s, end_s)
    predicted: tuple[float, float] | None
    scores: np.ndarray  # (n_seconds,) probabilities; empty when only intervals are known
    threshold: float = 0.5


@dataclass(frozen=True)
class Report:
    episodes: int
    with_intro: int
    q_seconds: float  # the seed's Q: correctly classified seconds / all seconds (network, per second)
    q_interval: float  # the same, counting the final interval as the classification
    within_1s: float  # share of true intros with both ends within +-1 s
    within_2s: float
    within_3s: float
    mae_start_s: float  # over true intros that were found
    mae_end_s: float
    missed: int  # true intro, none found
    false_intros: int  # no true intro, one found
    no_intro_episodes: int
    story_marked_s: float  # seconds outside the true intro marked as intro

    def lines(self) -> list[str]:
        def pct(x: float) -> str:
            return f"{100 * x:.1f} %"

        return [
            f"episodes                  {self.episodes} ({self.with_intro} with an intro)",
            f"Q (per-second network)    {self.q_seconds:.4f}",
            f"Q (final interval)        {self.q_interval:.4f}",
            f"both ends within +-1 s    {pct(self.within_1s)}",
            f"both ends within +-2 s    {pct(self.within_2s)}",
            f"both ends within +-3 s    {pct(self.within_3s)}",
            f"mean abs start error      {self.mae_start_s:.2f} s",
            f"mean abs end error        {self.mae_end_s:.2f} s",
            f"missed intros             {self.missed}",
            f"false intros              {self.false_intros} of {self.no_intro_episodes} episodes without one",
            f"story marked as intro     {self.story_marked_s:.0f} s",
        ]


def verdict(o: Prediction) -> str:
    """One episode in words: the tolerance its ends meet, or how it failed (what `eval --episodes` prints)."""
    if o.truth is None:
        return "no intro, none marked" if o.predicted is None else "FALSE intro"
    if o.predicted is None:
        return "MISSED"
    for tol_s in (1.0, 2.0, 3.0):
        if _within(o, tol_s):
            return f"within +-{tol_s:.0f} s"
    return "OFF by more than 3 s"


def _within(o: Prediction, tol_s: float) -> bool:
    if o.truth is None or o.predicted is None:
        return False
    return abs(o.truth[0] - o.predicted[0]) <= tol_s and abs(o.truth[1] - o.predicted[1]) <= tol_s


def _overlap_s(a: tuple[float, float], b: tuple[float, float]) -> float:
    return max(0.0, min(a[1], b[1]) - max(a[0], b[0]))


def evaluate(predictions: Sequence[Prediction]) -> Report:
    with_intro = [o for o in predictions if o.truth is not None]
    without = [o for o in predictions if o.truth is None]
    found = [o for o in with_intro if o.predicted is not None]
    correct = total = correct_interval = 0
    for o in predictions:
        n = len(o.scores)
        if n == 0:
            continue
        truth = second_labels(n, *(o.truth or (None, None)))
        predicted = second_labels(n, *(o.predicted or (None, None)))
        correct += int(np.sum((o.scores >= o.threshold) == (truth > 0.5)))
        correct_interval += int(np.sum(predicted == truth))
        total += n
    story = sum(
        (o.predicted[1] - o.predicted[0]) - (_overlap_s(o.predicted, o.truth) if o.truth else 0.0)
        for o in predictions
        if o.predicted is not None
    )
    n_true = max(1, len(with_intro))
    return Report(
        episodes=len(predictions),
        with_intro=len(with_intro),
        q_seconds=correct / total if total else float("nan"),
        q_interval=correct_interval / total if total else float("nan"),
        within_1s=sum(_within(o, 1.0) for o in with_intro) / n_true,
        within_2s=sum(_within(o, 2.0) for o in with_intro) / n_true,
        within_3s=sum(_within(o, 3.0) for o in with_intro) / n_true,
        mae_start_s=float(np.mean([abs(o.truth[0] - o.predicted[0]) for o in found])) if found else float("nan"),  # type: ignore[index]
        mae_end_s=float(np.mean([abs(o.truth[1] - o.predicted[1]) for o in found])) if found else float("nan"),  # type: ignore[index]
        missed=len(with_intro) - len(found),
        false_intros=sum(o.predicted is not None for o in without),
        no_intro_episodes=len(without),
        story_marked_s=float(story),
    )

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


Span = tuple[float, float]


@dataclass(frozen=True)
class Segments:
    """One episode's segments of every kind (the intro included): the truth and what was marked, kind -> span.
    Kinds absent from `truth` are not there; `final` is the credits' flag on each side."""

    truth: dict[str, Span]
    marked: dict[str, Span]
    truth_final: bool = False
    marked_final: bool = False


@dataclass(frozen=True)
class KindReport:
    kind: str
    episodes: int
    with_kind: int  # episodes that have one
    start_within_2s: float  # share of those whose marked start is within +-2 s
    both_within_2s: float
    missed: int
    false: int  # marked in an episode without one
    final_right: int  # credits: episodes whose "final" flag matches the truth, of those found

    def line(self) -> str:
        without = self.episodes - self.with_kind
        return (
            f"{self.kind:<8} {self.with_kind:>3} of {self.episodes}: start +-2 s {100 * self.start_within_2s:5.1f} %, "
            f"both ends +-2 s {100 * self.both_within_2s:5.1f} %, missed {self.missed}, "
            f"marked where none {self.false} of {without} ({100 * self.false / max(1, without):.1f} %)"
            + (f", final flag right {self.final_right}" if self.kind == "credits" else "")
        )


def kind_report(kind: str, episodes: Sequence[Segments]) -> KindReport:
    having = [e for e in episodes if kind in e.truth]
    found = [e for e in having if kind in e.marked]

    def near(e: Segments, ends: int) -> bool:
        return all(abs(e.truth[kind][i] - e.marked[kind][i]) <= 2.0 for i in range(ends))

    n = max(1, len(having))
    return KindReport(
        kind=kind,
        episodes=len(episodes),
        with_kind=len(having),
        start_within_2s=sum(near(e, 1) for e in found) / n,
        both_within_2s=sum(near(e, 2) for e in found) / n,
        missed=len(having) - len(found),
        false=sum(kind in e.marked for e in episodes if kind not in e.truth),
        final_right=sum(e.truth_final == e.marked_final for e in found) if kind == "credits" else 0,
    )


def story_marked_s(e: Segments) -> float:
    """Seconds marked as any segment that are in none of the true ones: story a skip would eat."""
    marked = _union(list(e.marked.values()))
    truth = _union(list(e.truth.values()))
    return sum(b - a for a, b in marked) - sum(_overlap_s(m, t) for m in marked for t in truth)


def _union(spans: list[Span]) -> list[Span]:
    merged: list[Span] = []
    for a, b in sorted(spans):
        if merged and a <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], b))
        else:
            merged.append((a, b))
    return merged

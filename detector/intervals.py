"""Per-second scores -> one intro interval (the seed's post-processing). Pure: arrays in, interval out.

The seconds scored as intro form a one-dimensional point set; DBSCAN (Euclidean distance in seconds) groups them;
the cluster with the most points is the intro, its first and last point its start and end. A second k stands
for [k, k + 1), so the end is the last point + 1.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np
from sklearn.cluster import DBSCAN

from detector.result import Intro


@dataclass(frozen=True)
class IntervalParams:
    """Tuned after training on held-out tuning seasons and stored with the weights (see the model card)."""

    threshold: float = 0.5  # a second is a point when its intro probability reaches this
    eps_s: float = 3.0  # DBSCAN neighbourhood, seconds
    min_samples: int = 3  # DBSCAN core-point size
    min_duration_s: float = 5.0  # shorter clusters are noise, not an intro
    refine: bool = False  # with siblings: sub-second ends from the shared audio codes (detector.boundaries)
    # With siblings (season model): the intro is a segment whose sound recurs across the season, picked by the network.
    # Fixed from the design, not fitted: one sibling in five (a second opening that only two episodes of a six-episode
    # season share still passes; the consensus and the network keep reused score cues out), 8 s (the shortest intro
    # we target), length and network probability weighed equally per minute. 0.3 before: measured in the README.
    support_threshold: float = 0.19
    min_repeated_s: float = 8.0
    network_weight: float = 1.0
    support_weight: float = 0.0  # weight of the share of siblings repeating a run (used where no network scores)
    # Corrections of the refined ends: minus their median error on the training corpus (set by detector.train).
    start_offset_s: float = 0.0
    end_offset_s: float = 0.0
    # Both ends, with or without siblings, move to the shot cut next to them (detector.cuts); False: the seed's
    # DBSCAN ends (or the sound's) as they are.
    snap_to_cuts: bool = True

    def to_dict(self) -> dict[str, float | int]:
        return asdict(self)


def find_intro(scores: np.ndarray, params: IntervalParams = IntervalParams()) -> Intro | None:
    """scores: (n_seconds,) probabilities in [0, 1]. None when no cluster qualifies."""
    points = np.flatnonzero(np.asarray(scores) >= params.threshold)
    if points.size == 0:
        return None
    labels = DBSCAN(eps=params.eps_s, min_samples=params.min_samples).fit_predict(points.reshape(-1, 1))
    clustered = labels >= 0
    if not clustered.any():
        return None
    counts = np.bincount(labels[clustered])
    best = int(np.argmax(counts))  # ties: the earliest cluster (DBSCAN labels in order of the sorted points)
    members = points[labels == best]
    start, end = int(members.min()), int(members.max()) + 1
    if end - start < params.min_duration_s:
        return None
    confidence = float(np.mean(np.asarray(scores)[start:end]))
    return Intro(start_s=float(start), end_s=float(end), confidence=round(confidence, 4))


CORE_SHARE = 0.5  # an end second repeated in at most this share of the siblings that repeat the run's core is cut


def trim_to_core(support: np.ndarray, start: int, end: int) -> tuple[int, int]:
    """Cut the ends of a repeated run [start, end) where fewer siblings repeat it than repeat its core.

    One sibling often shares a few seconds more (the same score cue or room tone right after the theme); the
    intro ends where most of the siblings that share it stop repeating.
    """
    level = float(np.percentile(support[start:end], 75))
    while end - start > 1 and support[start] <= CORE_SHARE * level:
        start += 1
    while end - start > 1 and support[end - 1] <= CORE_SHARE * level:
        end -= 1
    return start, end


def repeated_candidates(
    scores: np.ndarray,
    support: np.ndarray,
    params: IntervalParams = IntervalParams(),
    changes: Sequence[int] | np.ndarray = (),
) -> list[Intro]:
    """With siblings: the runs of seconds whose sound recurs in the season (cold opens do not repeat; a recap
    repeats only in the episodes it quotes), best first by length, the network's probability and the support.
    changes: seconds where the repeated content changes (repetition.content_changes); runs are split there.
    """
    repeated = np.asarray(support) >= params.support_threshold
    edges = np.flatnonzero(np.diff(np.concatenate([[0], repeated.astype(np.int8), [0]])))
    cuts = np.asarray(changes, dtype=np.int64)
    runs = []
    for a, b in zip(edges[::2], edges[1::2], strict=True):
        inner = cuts[(cuts > a) & (cuts < b)]
        bounds = [int(a), *(int(c) for c in inner), int(b)]
        runs += [(x, y) for x, y in itertools.pairwise(bounds) if y - x >= params.min_repeated_s]

    def merit(run: tuple[int, int]) -> float:
        return (
            (run[1] - run[0]) / 60.0
            + params.network_weight * float(np.mean(scores[run[0] : run[1]]))
            + params.support_weight * float(np.mean(support[run[0] : run[1]]))
        )

    candidates = []
    for run in sorted(runs, key=merit, reverse=True):
        start, end = trim_to_core(support, *run)
        confidence = 0.5 * float(np.mean(scores[start:end])) + 0.5 * float(np.mean(support[start:end]))
        candidates.append(Intro(start_s=float(start), end_s=float(end), confidence=round(confidence, 4)))
    return candidates


def find_repeated_intro(
    scores: np.ndarray,
    support: np.ndarray,
    params: IntervalParams = IntervalParams(),
    changes: Sequence[int] | np.ndarray = (),
) -> Intro | None:
    """The best repeated candidate; None when nothing repeats for long enough: no marker is better than a wrong one.

    Measured on the validation shows, this beats DBSCAN over the season model's own scores by far (README).
    """
    candidates = repeated_candidates(scores, support, params, changes)
    return candidates[0] if candidates else None

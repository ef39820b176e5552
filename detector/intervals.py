"""Per-second scores -> one intro interval (the seed's post-processing). Pure: arrays in, interval out.

The seconds scored as intro form a one-dimensional point set; DBSCAN (Euclidean distance in seconds) groups them;
the cluster with the most points is the intro, its first and last point its start and end. A second k stands
for [k, k + 1), so the end is the last point + 1.
"""

from __future__ import annotations

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
    refine: bool = False  # move the ends to where the sound starts/stops repeating across the season (sub-second)
    # With siblings (season model): the intro is a segment whose sound recurs across the season, picked by the network.
    # Fixed from the design, not fitted: a third of the siblings (two openings in one season still pass), 8 s (the
    # shortest intro we target), length and network probability weighed equally per minute.
    support_threshold: float = 0.3
    min_repeated_s: float = 8.0
    network_weight: float = 1.0
    # Fingerprint codes are smoothed over ~0.4 s, so a repeated stretch stays matched a little past its real end;
    # this correction is the median end error on the training corpus (set by detector.train).
    end_offset_s: float = 0.0

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


REFINE_MAX_SHIFT_S = 2.0  # refinement corrects quantisation and small misses, never moves an end further


def refine_boundaries(intro: Intro, support: np.ndarray) -> Intro:
    """Sub-second ends from per-second repetition support (the share of each second whose sound recurs in the
    siblings, 0..1, e.g. RepetitionFeatures.audio_support).

    The second where repetition begins is only partly matched: a start at k + 0.3 leaves 70 % of second k matched.
    Support is scaled by its level inside the intro, so that a season where only some episodes share this opening
    refines as well as one where all do. Ends without a clear repetition edge nearby are left alone.
    """
    n = len(support)
    start, end = int(intro.start_s), int(np.ceil(intro.end_s))
    inside = support[max(0, start) : min(n, end)]
    level = float(np.median(inside)) if inside.size else 0.0
    if level < 0.2:
        return intro
    u = np.clip(support / level, 0.0, 1.0)
    new_start, new_end = intro.start_s, intro.end_s
    for k in range(max(1, start - 2), min(n - 1, start + 3)):
        if u[k] >= 0.05 and u[k + 1] >= 0.5 and u[k - 1] < 0.5:
            new_start = k + (1.0 - float(u[k]))
            break
    for k in range(min(n - 2, end + 1), max(0, end - 4), -1):
        if u[k] >= 0.05 and u[k - 1] >= 0.5 and u[k + 1] < 0.5:
            new_end = k + float(u[k])
            break
    if abs(new_start - intro.start_s) > REFINE_MAX_SHIFT_S or abs(new_end - intro.end_s) > REFINE_MAX_SHIFT_S:
        return intro
    return Intro(start_s=round(new_start, 2), end_s=round(new_end, 2), confidence=intro.confidence)


def find_repeated_intro(
    scores: np.ndarray, support: np.ndarray, params: IntervalParams = IntervalParams()
) -> Intro | None:
    """With siblings: the runs of seconds whose sound recurs in the season are the candidates (cold opens do not
    repeat; a recap repeats only in the episodes it quotes); the network's probability and the run's length choose
    among them. None when nothing repeats for long enough: no marker is better than a wrong one.

    Measured on the validation shows, this beats DBSCAN over the season model's own scores by far (README).
    """
    repeated = np.asarray(support) >= params.support_threshold
    edges = np.flatnonzero(np.diff(np.concatenate([[0], repeated.astype(np.int8), [0]])))
    runs = [(int(a), int(b)) for a, b in zip(edges[::2], edges[1::2], strict=True) if b - a >= params.min_repeated_s]
    if not runs:
        return None

    def merit(run: tuple[int, int]) -> float:
        return (run[1] - run[0]) / 60.0 + params.network_weight * float(np.mean(scores[run[0] : run[1]]))

    start, end = max(runs, key=merit)
    confidence = 0.5 * float(np.mean(scores[start:end])) + 0.5 * float(np.mean(support[start:end]))
    intro = Intro(start_s=float(start), end_s=float(end), confidence=round(confidence, 4))
    if params.refine:
        intro = refine_boundaries(intro, support)
    if params.end_offset_s:
        intro = Intro(
            intro.start_s, round(max(intro.start_s + 1.0, intro.end_s + params.end_offset_s), 2), intro.confidence
        )
    return intro

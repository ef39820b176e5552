"""Per-second scores -> one intro interval (the seed's post-processing). Pure: arrays in, interval out.

The seconds scored as intro form a one-dimensional point set; DBSCAN (Euclidean distance in seconds) groups them;
the cluster with the most points is the intro, its first and last point its start and end. A second k stands
for [k, k + 1), so the end is the last point + 1.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from detector.result import Intro


@dataclass(frozen=True)
class IntervalParams:
    """DBSCAN's parameters: tuned after training on held-out tuning seasons and stored with the weights (see the
    model card). They serve every episode of the seed model and lone episodes of the season model."""

    threshold: float = 0.5  # a second is a point when its intro probability reaches this
    eps_s: float = 3.0  # DBSCAN neighbourhood, seconds
    min_samples: int = 3  # DBSCAN core-point size
    min_duration_s: float = 5.0  # shorter clusters are noise, not an intro

    def to_dict(self) -> dict[str, float | int]:
        return asdict(self)


def find_intro(scores: np.ndarray, params: IntervalParams = IntervalParams()) -> Intro | None:
    """scores: (n_seconds,) probabilities in [0, 1]. None when no cluster qualifies."""
    points = np.flatnonzero(np.asarray(scores) >= params.threshold)
    if points.size == 0:
        return None
    # Imported here, not with the module: scikit-learn takes ~70 MB on top of torch and scipy, and a detection
    # needs it only after the network has run and its inputs are freed, so it no longer adds to the peak.
    from sklearn.cluster import DBSCAN

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


def true_runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """[start, end) of the True runs of a per-second mask."""
    edges = np.diff(np.concatenate([[0], np.asarray(mask).astype(np.int8), [0]]))
    return list(zip(np.flatnonzero(edges == 1).tolist(), np.flatnonzero(edges == -1).tolist(), strict=True))

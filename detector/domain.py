"""Whether an episode looks like the library a lone model was fitted to (`intro-daemon adapt`).

A lone model fitted to a library learns that library's make and forgets the intros of makes it lacks
(docs/training.md, "Fitted to a library"). So it keeps a picture of what it was fitted on: each labelled
episode's signature, the mean of its per-second embedding (the CNNs', which fitting leaves as they were), at unit
length. An episode whose signature comes as close to one of them as the library's shows come to each other is the
library's; another goes to the shipped model.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

# How much farther than the library's shows are from each other an episode may be and still count as the library's,
# in cosine distance (1 - similarity): the 10th percentile of each labelled episode's nearest other show, times
# REACH. Chosen on the other recipe's library against our tuning corpora (docs/training.md): its shows' nearest
# others are at 0.004 (similarity 0.996), a new show of its make at 0.002-0.011, our recipe's episodes at 0.048 or
# more.
REACH = 4.0
SHOW_QUANTILE = 10  # percent


def signature(embedding: torch.Tensor) -> torch.Tensor:
    """(n_seconds, width) -> (width,): the mean second, at unit length."""
    mean = embedding.float().mean(0)
    return mean / mean.norm().clamp_min(1e-12)


@dataclass(frozen=True)
class Domain:
    signatures: torch.Tensor  # (n_episodes, width), unit length
    min_similarity: float

    def similarity(self, embedding: torch.Tensor) -> float:
        """The cosine similarity of the episode's signature to the nearest labelled episode's."""
        return float((self.signatures.float() @ signature(embedding).to(self.signatures.device)).max())

    def contains(self, embedding: torch.Tensor) -> bool:
        return self.similarity(embedding) >= self.min_similarity

    def to_dict(self) -> dict[str, object]:
        return {"signatures": self.signatures.half(), "min_similarity": self.min_similarity}

    @classmethod
    def from_dict(cls, raw: dict[str, object]) -> Domain:
        signatures = raw["signatures"]
        assert isinstance(signatures, torch.Tensor)
        return cls(signatures.float(), float(raw["min_similarity"]))  # type: ignore[arg-type]


def fitted_domain(embeddings: Sequence[torch.Tensor], shows: Sequence[str]) -> Domain:
    """The domain of labelled episodes (at least two shows): their signatures, and how close an episode must come."""
    signatures = torch.stack([signature(e) for e in embeddings])
    similarity = (signatures @ signatures.T).numpy()
    show = np.array(shows)
    nearest = [float(similarity[i, show != show[i]].max()) for i in range(len(show))]
    distance = 1.0 - float(np.percentile(nearest, SHOW_QUANTILE))
    return Domain(signatures, 1.0 - REACH * max(distance, 1e-4))


# Shows whose signatures come this close (cosine similarity), directly or through a chain of others, are of one
# make: fitted together, apart from the others. Our other recipe's shows come within 0.98-0.999 of each other, our
# own recipe's within 0.94-0.997 of their nearest; across the two, at most 0.70.
MAKE_SIMILARITY = 0.9


def makes(embeddings: Sequence[torch.Tensor], shows: Sequence[str]) -> list[list[str]]:
    """The shows grouped by make (single linkage at MAKE_SIMILARITY over each show's mean signature), the groups
    with the most shows first."""
    names = sorted(set(shows))
    mean = torch.stack(
        [
            torch.stack([signature(e) for e, s in zip(embeddings, shows, strict=True) if s == name]).mean(0)
            for name in names
        ]
    )
    mean = torch.nn.functional.normalize(mean, dim=1)
    close = (mean @ mean.T).numpy() >= MAKE_SIMILARITY
    group = list(range(len(names)))

    def root(i: int) -> int:
        while group[i] != i:
            i = group[i]
        return i

    for i, j in zip(*np.nonzero(close), strict=True):
        group[root(int(i))] = root(int(j))
    found: dict[int, list[str]] = {}
    for i, name in enumerate(names):
        found.setdefault(root(i), []).append(name)
    return sorted(found.values(), key=lambda g: (-len(g), g))

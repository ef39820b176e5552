"""Labelled episodes for training: features extracted once per file and cached on disk."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import torch

from detector.decode import FrameMode
from detector.errors import DecodeError
from detector.features import extract, second_labels
from detector.fingerprint import Fingerprints
from detector.labels import EpisodeTruth, load_truth

log = logging.getLogger(__name__)

FEATURE_VERSION = 2  # bump when decode/audio constants change, so stale caches are ignored


@dataclass(frozen=True)
class Example:
    path: Path
    show: str
    season: Path  # the season folder: the other episodes there are this one's siblings
    truth: tuple[float, float] | None
    mel: torch.Tensor  # float16 on disk and in memory; the model reads float32
    frames: torch.Tensor  # uint8
    labels: torch.Tensor  # (n_seconds,) float32
    fingerprints: Fingerprints


def _cache_key(path: Path, frame_mode: FrameMode) -> str:
    stat = path.stat()
    ident = f"{path.resolve()}|{stat.st_size}|{stat.st_mtime_ns}|{frame_mode.value}|{FEATURE_VERSION}"
    return hashlib.sha1(ident.encode()).hexdigest()


def load_example(root: Path, ep: EpisodeTruth, cache: Path, frame_mode: FrameMode) -> Example:
    path = root / ep.path
    cached = cache / f"{_cache_key(path, frame_mode)}.pt"
    if cached.exists():
        blob = torch.load(cached, weights_only=True)
    else:
        feats = extract(path, frame_mode)
        fp = feats.fingerprints().to_bytes()
        blob = {
            "mel": feats.mel.half(),
            "frames": feats.frames,
            "fingerprints": torch.frombuffer(bytearray(fp), dtype=torch.uint8),
        }
        cache.mkdir(parents=True, exist_ok=True)
        torch.save(blob, cached)
    truth = (ep.intro.start_s, ep.intro.end_s) if ep.intro else None
    n_seconds = blob["frames"].shape[0]
    labels = torch.from_numpy(second_labels(n_seconds, *(truth or (None, None))))
    return Example(
        path=path,
        show=ep.show,
        season=path.parent,
        truth=truth,
        mel=blob["mel"],
        frames=blob["frames"],
        labels=labels,
        fingerprints=Fingerprints.from_bytes(blob["fingerprints"].numpy().tobytes()),
    )


def siblings_of(examples: Sequence[Example]) -> dict[Path, list[Example]]:
    """Season folder -> its episodes."""
    seasons: dict[Path, list[Example]] = {}
    for ex in examples:
        seasons.setdefault(ex.season, []).append(ex)
    return seasons


def load_corpus(root: Path, cache: Path, frame_mode: FrameMode = FrameMode.ALL) -> list[Example]:
    examples = []
    for ep in load_truth(root):
        try:
            examples.append(load_example(root, ep, cache, frame_mode))
        except DecodeError as exc:
            log.warning("skipping %s", exc)
    return examples

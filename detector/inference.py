"""Load the shipped network once; score episodes; assemble the intro. Wraps the model, never lives in it."""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from detector.decode import FrameMode
from detector.features import EpisodeFeatures, extract
from detector.fingerprint import fingerprint
from detector.intervals import IntervalParams, find_intro
from detector.model import IntroNet, ModelDims
from detector.repetition import RepetitionFeatures, repetition_scores
from detector.result import Detection
from detector.season import FingerprintStore, MemoryStore, sibling_fingerprints

log = logging.getLogger(__name__)

WEIGHTS_DIR = Path(__file__).parent / "weights"
# The seed design alone, and the seed network fused with cross-episode repetition (season context).
MODELS = {"seed": WEIGHTS_DIR / "seed.pt", "season": WEIGHTS_DIR / "season.pt"}
DEFAULT_MODEL = "season"  # chosen by the validation figures in the README; "seed" stays selectable
CHECKPOINT_FORMAT = 1


@dataclass(frozen=True)
class Checkpoint:
    version: str
    dims: ModelDims
    intervals: IntervalParams
    frame_mode: FrameMode
    state_dict: dict[str, torch.Tensor]
    card: dict[str, Any]

    def save(self, path: Path) -> None:
        # Half precision halves the file; the network is evaluated in float32 after loading.
        state = {k: (v.half() if v.is_floating_point() else v) for k, v in self.state_dict.items()}
        torch.save(
            {
                "format": CHECKPOINT_FORMAT,
                "version": self.version,
                "dims": self.dims.to_dict(),
                "intervals": self.intervals.to_dict(),
                "frame_mode": self.frame_mode.value,
                "state_dict": state,
                "card": self.card,
            },
            path,
        )

    @classmethod
    def load(cls, path: Path) -> Checkpoint:
        raw = torch.load(path, map_location="cpu", weights_only=True)
        if raw.get("format") != CHECKPOINT_FORMAT:
            raise ValueError(f"{path}: unsupported checkpoint format {raw.get('format')!r}")
        state = {k: (v.float() if v.is_floating_point() else v) for k, v in raw["state_dict"].items()}
        return cls(
            version=raw["version"],
            dims=ModelDims(**raw["dims"]),
            intervals=IntervalParams(**raw["intervals"]),
            frame_mode=FrameMode(raw["frame_mode"]),
            state_dict=state,
            card=raw.get("card", {}),
        )


class Detector:
    """`Detector.load()` once, then `detect(path, siblings)` per episode."""

    def __init__(
        self, checkpoint: Checkpoint, frame_mode: FrameMode | None = None, store: FingerprintStore | None = None
    ) -> None:
        self.checkpoint = checkpoint
        self.store: FingerprintStore = store or MemoryStore()
        # The pictures the network was trained on; a cheaper mode may be chosen at the cost of accuracy.
        self.frame_mode = frame_mode or checkpoint.frame_mode
        self.model = IntroNet(checkpoint.dims)
        self.model.load_state_dict(checkpoint.state_dict)
        self.model.eval()

    @classmethod
    def load(
        cls,
        weights: Path | None = None,
        *,
        threads: int | None = None,
        frame_mode: FrameMode | None = None,
        store: FingerprintStore | None = None,
    ) -> Detector:
        torch.set_num_threads(threads or os.cpu_count() or 1)
        return cls(Checkpoint.load(weights or MODELS[DEFAULT_MODEL]), frame_mode, store)

    @property
    def uses_siblings(self) -> bool:
        return self.checkpoint.dims.n_extra > 0

    @property
    def model_version(self) -> str:
        return self.checkpoint.version

    @property
    def intervals(self) -> IntervalParams:
        return self.checkpoint.intervals

    def extract(self, path: str | Path) -> EpisodeFeatures:
        return extract(path, self.frame_mode)

    @torch.inference_mode()
    def score(self, features: EpisodeFeatures, extra: np.ndarray | None = None) -> np.ndarray:
        """Per-second intro probabilities, (n_seconds,) float32."""
        extra_t = torch.from_numpy(extra).unsqueeze(0) if extra is not None else None
        logits = self.model(features.mel.unsqueeze(0), features.frames.unsqueeze(0), extra_t)
        return torch.sigmoid(logits[0]).numpy().astype(np.float32)

    def repetition(self, path: Path, features: EpisodeFeatures, siblings: Sequence[Path]) -> RepetitionFeatures:
        """This episode's fingerprints (stored for its siblings' sake) matched against its siblings'."""
        own = fingerprint(features.audio, features.frames.numpy())
        self.store.put(path, own)
        return repetition_scores(own, sibling_fingerprints(siblings, self.store, self.frame_mode))

    def detect(self, path: str | Path, siblings: Sequence[Path] = ()) -> Detection:
        path = Path(path)
        features = self.extract(path)
        signals: tuple[str, ...] = ("network",)
        extra = None
        if self.uses_siblings:
            repetition = self.repetition(path, features, siblings)
            extra = repetition.matrix()
            if repetition.n_siblings:
                signals += ("repetition",)
        scores = self.score(features, extra)
        intro = find_intro(scores, self.intervals)
        return Detection(
            path=path,
            duration_s=features.duration_s,
            intro=intro,
            model_version=self.model_version,
            scores=tuple(float(round(s, 3)) for s in scores),
            signals=signals,
        )

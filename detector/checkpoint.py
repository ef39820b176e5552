"""A trained network on disk: its weights, dimensions, post-processing parameters and model card in one file.

Apart from the network (detector.model) and from inference (detector.inference), so that training writes weights
without importing the inference pipeline. Files are loaded with weights_only=True: plain tensors and JSON types.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import torch

from detector.decode import FrameMode
from detector.domain import Domain
from detector.intervals import IntervalParams
from detector.model import IntroNet, ModelDims
from detector.season_rule import SeasonRuleParams

CHECKPOINT_FORMAT = 1
# A run-time choice (Detector.load(snap_to_cuts=...)) that earlier files of this format carry among the
# post-processing parameters; read and ignored.
_RUNTIME_KEYS = ("snap_to_cuts",)


@dataclass(frozen=True)
class Checkpoint:
    version: str
    dims: ModelDims
    intervals: IntervalParams  # DBSCAN: every episode of a seed model, lone episodes of a season model
    frame_mode: FrameMode
    state_dict: dict[str, torch.Tensor]
    card: dict[str, Any]
    season_rule: SeasonRuleParams = field(default_factory=SeasonRuleParams)  # a season model's episodes with siblings
    # A lone model fitted to a library (`intro-daemon adapt`): what that library looks like (detector.domain).
    domain: Domain | None = None

    def save(self, path: Path) -> None:
        # Half precision halves the file; the network is evaluated in float32 after loading.
        state = {k: (v.half() if v.is_floating_point() else v) for k, v in self.state_dict.items()}
        torch.save(
            {
                "format": CHECKPOINT_FORMAT,
                "version": self.version,
                "dims": self.dims.to_dict(),
                "intervals": postprocessing_dict(self.intervals, self.season_rule),
                "frame_mode": self.frame_mode.value,
                "state_dict": state,
                # Plain JSON types only: weights_only loading refuses anything else (a stray numpy scalar).
                "card": json.loads(json.dumps(self.card, default=float)),
                **({} if self.domain is None else {"domain": self.domain.to_dict()}),
            },
            path,
        )

    @classmethod
    def load(cls, path: Path) -> Checkpoint:
        raw = torch.load(path, map_location="cpu", weights_only=True)
        if raw.get("format") != CHECKPOINT_FORMAT:
            raise ValueError(f"{path}: unsupported checkpoint format {raw.get('format')!r}")
        state = {k: (v.float() if v.is_floating_point() else v) for k, v in raw["state_dict"].items()}
        intervals, season_rule = _split_postprocessing(raw["intervals"])
        return cls(
            version=raw["version"],
            dims=ModelDims(**raw["dims"]),
            intervals=intervals,
            frame_mode=FrameMode(raw["frame_mode"]),
            state_dict=state,
            card=raw.get("card", {}),
            season_rule=season_rule,
            domain=Domain.from_dict(raw["domain"]) if "domain" in raw else None,
        )

    def network(self, *, shared: bool = False) -> IntroNet:
        """The network with these weights, in evaluation mode. `shared`: its parameters are this checkpoint's
        tensors, not copies of them (11 MB a network): for inference, where neither changes. Training changes its
        network's parameters in place, so it gets copies."""
        model = IntroNet(self.dims)
        model.load_state_dict(self.state_dict, assign=shared)
        return model.eval()


def postprocessing_dict(intervals: IntervalParams, season_rule: SeasonRuleParams) -> dict[str, float | int]:
    """Both stages' parameters as one flat dict: how a checkpoint file and the model card store them."""
    return {**intervals.to_dict(), **season_rule.to_dict()}


def _split_postprocessing(stored: dict[str, Any]) -> tuple[IntervalParams, SeasonRuleParams]:
    dbscan = {f.name for f in fields(IntervalParams)}
    rule = {k: v for k, v in stored.items() if k not in dbscan and k not in _RUNTIME_KEYS}
    return IntervalParams(**{k: v for k, v in stored.items() if k in dbscan}), SeasonRuleParams(**rule)

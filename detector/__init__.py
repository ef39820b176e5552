"""Intro detection: decode -> features -> model -> intervals (seed) / season rule -> cuts.

The stages, in that order: decode, audio and features (the network's input); fingerprint and repetition (what recurs
across the episodes of a season); model and checkpoint (the network and its weights on disk); intervals (DBSCAN over
the scores) and season_rule with boundaries (the intro that the siblings share); cuts (its ends on shot cuts).
inference runs them (`Detector`). labels is the truth.json format; training/ fits and evaluates models, apart from
the detection path.

Public API: `Detector` (load once, call `detect`), `Detection`, `Intro`, `DecodeError`.
"""

from typing import TYPE_CHECKING

from detector.errors import DecodeError
from detector.result import Detection, Intro

if TYPE_CHECKING:
    from detector.inference import Detector

__all__ = ["DecodeError", "Detection", "Detector", "Intro"]


def __getattr__(name: str) -> object:
    # Detector pulls in torch: load it on first use, so that `from detector import Intro` stays light.
    if name == "Detector":
        from detector.inference import Detector

        return Detector
    raise AttributeError(name)

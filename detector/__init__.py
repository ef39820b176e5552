"""Intro detection: decode -> features -> network scores -> intervals.

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

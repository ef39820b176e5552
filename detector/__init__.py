"""Intro detection: decode -> features -> network scores -> intervals.

Public API: `Detector` (load once, call `detect`), `Detection`, `Intro`, `DecodeError`.
"""

from detector.errors import DecodeError
from detector.result import Detection, Intro

__all__ = ["DecodeError", "Detection", "Intro"]

"""Sub-second intro ends from the audio codes of the siblings that share the intro. Pure: arrays in, times out.

Per-second repetition (detector.repetition) finds the repeated run to the second, and its ends drift by about a
second: the codes contrast each 0.1 s against a ~3 s local mean, so codes start to differ ~1.5 s before the shared
sound ends and still agree ~1.5 s after it. Along one sibling's alignment the bit error climbs from ~0 (same sound)
to ~0.5 (unrelated) across an end; the middle of that climb is a second estimate of where the sound stops being
shared (median over the supporting siblings). It errs differently: long fades pull it inwards. The end used is the
mean of the two, minus its median error on the training corpus (the season rule's start_offset_s / end_offset_s).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import scipy.ndimage

from detector.fingerprint import Fingerprints
from detector.repetition import RepetitionFeatures
from detector.result import Intro

SAME_ERROR = 0.1  # smoothed bit error of the same sound in two encodes (0-0.1)
OTHER_ERROR = 0.4  # ... and of unrelated sound (0.5 +- 0.05); the edge lies between the last SAME and first OTHER
SMOOTH_CODES = 5  # 0.5 s of smoothing over the per-code bit error
MAX_CLIMB_CODES = 40  # a climb longer than 4 s is not an edge
MAX_SHIFT_S = 3.0  # the code-level edges correct the per-second ones, they never move an end further


def sharpen(
    intro: Intro,
    target: Fingerprints,
    siblings: Sequence[Fingerprints],
    repetition: RepetitionFeatures,
    start_offset_s: float = 0.0,
    end_offset_s: float = 0.0,
) -> Intro:
    """The repeated run's ends, each the mean of the per-second end and the code-level end (or the per-second end
    alone where the codes give none), with the training corpus's corrections (start_offset_s, end_offset_s) added."""
    edges = code_edges(target, siblings, repetition, intro.start_s, intro.end_s)
    if edges is None or max(abs(edges[0] - intro.start_s), abs(edges[1] - intro.end_s)) > MAX_SHIFT_S:
        edges = (intro.start_s, intro.end_s)
    start_s = max(0.0, (intro.start_s + edges[0]) / 2 + start_offset_s)
    end_s = max(start_s + 1.0, (intro.end_s + edges[1]) / 2 + end_offset_s)
    return Intro(start_s=round(start_s, 2), end_s=round(end_s, 2), confidence=intro.confidence)


def code_edges(
    target: Fingerprints,
    siblings: Sequence[Fingerprints],
    repetition: RepetitionFeatures,
    start_s: float,
    end_s: float,
) -> tuple[float, float] | None:
    """Start and end (seconds) of the shared sound around the repeated run [start_s, end_s); None when no sibling
    repeats at least half of the run."""
    a, b = int(start_s), int(np.ceil(end_s))
    sharing = [(siblings[j].audio, offset_s) for j, offset_s in repetition.sharing(a, b)]
    return shared_edges(target.audio, sharing, start_s, end_s, target.audio_step_s)


def shared_edges(
    target: np.ndarray, sharing: Sequence[tuple[np.ndarray, float]], start_s: float, end_s: float, step_s: float
) -> tuple[float, float] | None:
    """Start and end (seconds) of the sound around [start_s, end_s) of `target`'s codes that each sibling's codes
    repeat at its offset (sibling time - target time, seconds): the medians over the siblings; None without one."""
    if not sharing:
        return None
    middle = int((int(start_s) + int(np.ceil(end_s))) / 2 / step_s)
    starts, ends = [], []
    for codes, offset_s in sharing:
        error = aligned_error(target, codes, round(offset_s / step_s))
        starts.append((_edge(error, middle, -1) + 0.5) * step_s)
        ends.append((_edge(error, middle, +1) + 0.5) * step_s)
    return float(np.median(starts)), float(np.median(ends))


def aligned_error(target: np.ndarray, sibling: np.ndarray, offset: int) -> np.ndarray:
    """(len(target),) smoothed bit error of each target code against the sibling code `offset` steps later;
    0.5 (unrelated) where either code is missing or silent."""
    n = np.arange(len(target))
    position = n + offset
    known = (position >= 0) & (position < len(sibling))
    known[known] &= (target[known] != 0) & (sibling[position[known]] != 0)
    error = np.full(len(target), 0.5, dtype=np.float32)
    error[known] = np.bitwise_count(target[known] ^ sibling[position[known]]) / 32.0
    return scipy.ndimage.uniform_filter1d(error, SMOOTH_CODES, mode="nearest")


def _edge(error: np.ndarray, inside: int, direction: int) -> float:
    """Code index (fractional) of the edge met walking from `inside` in `direction` (+1: the end, -1: the start).

    The edge is halfway between the first code of unrelated sound and the last code of the same sound before it.
    """
    other = inside
    while 0 <= other < len(error) and error[other] < OTHER_ERROR:
        other += direction
    same = other - direction
    while 0 <= same < len(error) and error[same] > SAME_ERROR and abs(same - other) < MAX_CLIMB_CODES:
        same -= direction
    return (same + other) / 2

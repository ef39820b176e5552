"""Intro ends snapped to the shot cut next to them. Pure: frame times and pictures in, times out.

Sound gives an intro's ends to a few tenths of a second, and worse where the theme fades in or out slowly (the
codes of a quiet fade stop matching before the fade ends). Title sequences usually begin and end on a cut, which
the picture places to the frame: decoding every frame of a window of ~3 s around each end costs a fraction of a
second. An end moves to the nearest clear cut within MAX_SNAP_S; with none (a dissolve, a fade to black, a static
shot) the sound's estimate stands.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from detector.result import Intro

CUT_RATIO = 12.0  # a cut: the change from the previous frame is this many times the median change around it
CONTEXT_FRAMES = 12  # frames on each side giving that median (~0.5 s)
MAX_SNAP_S = 1.5  # an end never moves further: the sound's estimate is off by up to ~1.4 s on slow fades
WINDOW_PAD_S = 0.5  # decoded beyond MAX_SNAP_S on each side, so that a cut at the limit has context
NOISE_FLOOR = 1.0  # grey levels: keeps a still picture's tiny changes from making every change a "cut"


def shot_cuts(times_s: np.ndarray, pictures: np.ndarray) -> np.ndarray:
    """Times (s) of the first frame of each new shot. times_s: (n,) frame times, ascending; pictures: (n, h, w)
    grey frames (any dtype). A cut is a change from the previous frame well above the changes around it, which
    pans, zooms and fades are not."""
    if len(times_s) < 3:
        return np.zeros(0)
    change = np.abs(np.diff(pictures.astype(np.float32), axis=0)).mean(axis=(1, 2))  # change[i]: frame i -> i + 1
    cuts = []
    for i in range(len(change)):
        lo, hi = max(0, i - CONTEXT_FRAMES), min(len(change), i + CONTEXT_FRAMES + 1)
        around = np.delete(change[lo:hi], i - lo)
        if around.size and change[i] >= CUT_RATIO * (np.median(around) + NOISE_FLOOR):
            cuts.append(float(times_s[i + 1]))
    return np.asarray(cuts)


def snap(estimate_s: float, cuts_s: np.ndarray, max_shift_s: float = MAX_SNAP_S) -> float:
    """The cut nearest to the estimate within max_shift_s, else the estimate."""
    near = cuts_s[np.abs(cuts_s - estimate_s) <= max_shift_s]
    return float(near[np.argmin(np.abs(near - estimate_s))]) if len(near) else estimate_s


def window(estimate_s: float) -> tuple[float, float]:
    """The span to decode around an estimated end."""
    reach = MAX_SNAP_S + WINDOW_PAD_S
    return max(0.0, estimate_s - reach), estimate_s + reach


def snap_intro(intro: Intro, start_cuts_s: np.ndarray, end_cuts_s: np.ndarray) -> Intro:
    """Both ends snapped; the file's first frame counts as a cut for the start (an intro that opens the file)."""
    start_s = snap(intro.start_s, np.append(start_cuts_s, 0.0))
    end_s = snap(intro.end_s, end_cuts_s)
    if end_s - start_s < 1.0:
        return intro
    return replace(intro, start_s=round(start_s, 3), end_s=round(end_s, 3))

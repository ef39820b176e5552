"""Intro ends snapped to the shot cut next to them. Pure: frame times and pictures in, times out.

Sound gives an intro's ends to a few tenths of a second, and worse where the theme fades in or out slowly (the
codes of a quiet fade stop matching before the fade ends). Title sequences usually begin and end on a cut, which
the picture places to the frame: decoding every frame of a window of ~5.5 s around each end costs a fraction of a
second. An end moves to the nearest clear cut within MAX_SNAP_S, or outward up to FADE_REACH_S over a held picture;
with none (a dissolve, a static shot) the sound's estimate stands. Then black next to an end joins the intro
(through_black): the skip starts where the story stops and lands on the story's first frame (docs/design.md, "An
intro's ends").
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from detector.result import Intro

CUT_RATIO = 12.0  # a cut: the change from the previous frame is this many times the median change around it
CONTEXT_FRAMES = 12  # frames on each side giving that median (~0.5 s)
MAX_SNAP_S = 1.5  # an end never moves further: the sound's estimate is off by up to ~1.4 s on slow fades ...
# ... except outward, where a fade puts the sound's ends: a theme fading in under the first title shot, or out
# under the last, stops matching its siblings' codes before the picture cuts, and the fade is the intro's.
FADE_REACH_S = 3.0
# ... but only over one held picture: past MAX_SNAP_S every frame up to the cut stays within this mean grey-level
# change of the picture at the estimate. A title shot's pan drifts ~13 levels in 1.5 s, a cut to another picture
# changes ~40: a dissolve into the story gets there too, and the cut after it is the story's.
HELD_CHANGE = 24.0
WINDOW_PAD_S = 0.5  # decoded beyond MAX_SNAP_S on each side, so that a cut at the limit has context
NOISE_FLOOR = 1.0  # grey levels: keeps a still picture's tiny changes from making every change a "cut"
BLACK_LEVEL = 24  # grey level (0-255) at or under which a pixel is black
BLACK_SHARE = 0.98  # a black frame: at least this share of black pixels (a night scene keeps its highlights)
FILE_START_S = 0.1  # a span whose first frame is this early starts with the file


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


def snap(estimate_s: float, cuts_s: np.ndarray, earlier_s: float = MAX_SNAP_S, later_s: float = MAX_SNAP_S) -> float:
    """The cut nearest to the estimate, at most earlier_s before it or later_s after it; else the estimate."""
    near = cuts_s[(cuts_s >= estimate_s - earlier_s) & (cuts_s <= estimate_s + later_s)]
    return float(near[np.argmin(np.abs(near - estimate_s))]) if len(near) else estimate_s


def window(estimate_s: float, before_s: float = MAX_SNAP_S, after_s: float = MAX_SNAP_S) -> tuple[float, float]:
    """The span to decode around an estimated end that may move before_s earlier or after_s later."""
    return max(0.0, estimate_s - before_s - WINDOW_PAD_S), estimate_s + after_s + WINDOW_PAD_S


def windows(intro: Intro) -> list[tuple[float, float]]:
    """The spans snap_intro needs decoded: around the start, reaching further back; around the end, further on."""
    return [window(intro.start_s, before_s=FADE_REACH_S), window(intro.end_s, after_s=FADE_REACH_S)]


def snap_intro(
    intro: Intro, start_span: tuple[np.ndarray, np.ndarray], end_span: tuple[np.ndarray, np.ndarray]
) -> Intro:
    """Both ends snapped to the shot cuts of the frames decoded around them (windows()): within MAX_SNAP_S, or
    outward up to FADE_REACH_S over a held picture (the start earlier, the end later). The file's first frame
    counts as a cut for the start (an intro that opens the file)."""
    start_cuts = _reachable(np.append(shot_cuts(*start_span), 0.0), intro.start_s, start_span)
    end_cuts = _reachable(shot_cuts(*end_span), intro.end_s, end_span)
    start_s = snap(intro.start_s, start_cuts, earlier_s=FADE_REACH_S)
    end_s = snap(intro.end_s, end_cuts, later_s=FADE_REACH_S)
    if end_s - start_s < 1.0:
        return intro
    return replace(intro, start_s=round(start_s, 3), end_s=round(end_s, 3))


def _reachable(cuts_s: np.ndarray, estimate_s: float, span: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
    """The cuts within MAX_SNAP_S of the estimate, and those further only where the picture holds between."""
    return np.asarray([c for c in cuts_s if abs(c - estimate_s) <= MAX_SNAP_S or held(*span, estimate_s, c)])


def held(times_s: np.ndarray, pictures: np.ndarray, estimate_s: float, cut_s: float) -> bool:
    """Every frame from the estimate to the cut (either side) stays within HELD_CHANGE of the estimate's picture."""
    if len(times_s) == 0:
        return False
    at = min(int(np.searchsorted(times_s, estimate_s)), len(times_s) - 1)
    lo, hi = sorted((estimate_s, cut_s))
    between = (times_s >= lo) & (times_s < hi)
    reference = pictures[at].astype(np.float32)
    change = [float(np.abs(p.astype(np.float32) - reference).mean()) for p in pictures[between]]
    return max(change, default=0.0) <= HELD_CHANGE


def black_frames(pictures: np.ndarray) -> np.ndarray:
    """(n, h, w) grey frames -> (n,) bool: the frame is black."""
    if len(pictures) == 0:
        return np.zeros(0, dtype=bool)
    return (pictures.reshape(len(pictures), -1) <= BLACK_LEVEL).mean(axis=1) >= BLACK_SHARE


def through_black(
    intro: Intro, start_span: tuple[np.ndarray, np.ndarray], end_span: tuple[np.ndarray, np.ndarray]
) -> Intro:
    """Black frames between the intro and the story made part of it: a start right after black (or on it) moves
    back to the black's first frame, an end on black moves to the first frame after it. Each span: (frame times,
    grey frames) decoded around that end (windows()). Only black with a frame of something else beyond it in the
    span moves an end: a file whose picture is black throughout (a radio play, a placeholder track) says nothing."""
    times, black = start_span[0], black_frames(start_span[1])
    first = i = int(np.searchsorted(times, intro.start_s - 1e-3))  # the intro's first frame
    while 0 < i <= len(times) and black[i - 1]:
        i -= 1
    seen = i > 0 or (len(times) > 0 and times[0] < FILE_START_S)  # the file's start is a boundary too
    start_s = float(times[i]) if i < first and seen else intro.start_s
    times, black = end_span[0], black_frames(end_span[1])
    after = k = int(np.searchsorted(times, intro.end_s - 1e-3))  # the first frame after the intro
    while k < len(times) and black[k]:
        k += 1
    end_s = float(times[k]) if after < k < len(times) else intro.end_s
    if (start_s, end_s) == (intro.start_s, intro.end_s):
        return intro
    return replace(intro, start_s=round(start_s, 3), end_s=round(max(end_s, intro.end_s), 3))

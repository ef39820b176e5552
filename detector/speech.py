"""A lone intro that holds speech is narrowed to the music in it. Pure: per-second arrays in, interval out.

The lone network, on seasons of another make, hears a cold open's voices as a theme and marks an intro from the
file's first second to the real intro's end (issue 25; docs/training.md, "The position prior"). A plain measure
hears the difference: how fast the spectrum's shape changes around each second (detector.audio.spectral_change,
relative to the episode's median). A theme holds its chords, so its seconds sit well below the episode's usual rate;
speech moves its formants every syllable, so its seconds sit above it.

The measure alone is no intro detector: on our own seasons many themes change as fast as the story's score, and
the story has quiet, steady stretches. So it only narrows what the network marked, and only when the marked
interval is clearly two things: a long steady run, and around it mostly speech. Then the intro is the steady run
(which may reach past the network's interval, where the network's scores fell early). Otherwise the interval
stays as it is. On our own seasons the condition held for none of the intros the network marks
(docs/evaluation.md, "Speech in a lone intro").
"""

from __future__ import annotations

import numpy as np
from scipy.ndimage import median_filter

from detector.intervals import true_runs
from detector.result import Intro

SMOOTH_S = 5  # the change's median over this many seconds: a word's pause or a drum fill is not a run's end
STEADY_CHANGE = -0.5  # a second is steady (music-like) below this: the change's log, minus the episode's median
MIN_STEADY_S = 15  # a steady run shorter than this is a pause or a sting, not a title sequence
MIN_OVERLAP_S = 10  # ...and it must share this much with the network's interval
MARGIN_S = 3  # the smoothing blurs a run's ends: seconds this close to it are neither run nor rest
MIN_REST_S = 10  # the rest of the interval must be long enough to tell what it is
SPEECH_SHARE = 0.5  # the rest is speech when at least this share of its seconds change faster than the median


def narrowed_to_music(intro: Intro, change: np.ndarray, scores: np.ndarray) -> Intro | None:
    """The steady run of `intro` when the rest of it sounds like speech; None when it does not apply.

    change: (n_seconds,) detector.audio.spectral_change of the analysed span; scores: the network's (n_seconds,)
    probabilities, for the confidence."""
    smooth = median_filter(np.asarray(change, np.float32), SMOOTH_S, mode="nearest")
    a, b = int(intro.start_s), int(np.ceil(intro.end_s))

    def overlap(run: tuple[int, int]) -> int:
        return min(run[1], b) - max(run[0], a)

    runs = true_runs(smooth < STEADY_CHANGE)
    if not runs:
        return None
    start, end = max(runs, key=overlap)
    if end - start < MIN_STEADY_S or overlap((start, end)) < MIN_OVERLAP_S:
        return None
    rest = np.zeros(len(smooth), bool)
    rest[a:b] = True
    rest[max(0, start - MARGIN_S) : end + MARGIN_S] = False
    if rest.sum() < MIN_REST_S or np.mean(smooth[rest] > 0) < SPEECH_SHARE:
        return None
    confidence = float(np.mean(np.asarray(scores)[start:end]))
    return Intro(start_s=float(start), end_s=float(end), confidence=round(confidence, 4))

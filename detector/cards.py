"""End credits on a dark card, from pictures: what the sound cannot find (credits over silence, or over music no
sibling shares). Pure: frame times and small grey pictures in, times out.

A card is a picture that is mostly dark, with few mid tones and some brighter text on it. A dark scene is dark but
has mid tones everywhere; a fade or a black gap between scenes has no text and lasts a second or two; an act-break
card lasts a few seconds. Credits are a long run of cards near the end. Key frames are looked at first (cheap: one
picture every few seconds); the run's first card is then placed to the frame from every frame between the last key
frame before it and its first one, and its end from every frame between its last key frame and the next.
"""

from __future__ import annotations

import numpy as np

DARK_LEVEL = 40  # grey level (0-255) at or under which a pixel is the card's background
# A card: at least this share of dark pixels (a page of scrolling names blurs to 0.70-0.85 on a 64x36 picture) ...
DARK_SHARE = 0.7
# ... few mid tones, between DARK_LEVEL and MID_TOP (a card's pixels are background or letters, and the letters'
# blurred edges stay under this share; a dark scene has mid tones everywhere) ...
MID_TOP = 80
MID_SHARE = 0.25
# ... and text: some pixels this bright (small white names blur to ~90-110 on a 64x36 picture, tinted ones to 55-80;
# a dark card's background, and the black between names, stay under DARK_LEVEL) ...
TEXT_LEVEL = 45
TEXT_SHARE = 0.001  # ... at least this share of them (a few pixels of letters)
MIN_CARD_RUN_S = 8.0  # shorter runs of cards are act breaks, title cards or fades
# Of a run's dark key frames, at least this share shows text: scrolling names leave black between them, and a key
# frame every 2-10 s falls there as often as not.
RUN_TEXT_SHARE = 1 / 3
MAX_KEYFRAME_GAP_S = 12.0  # key frames further apart than this leave the run's continuity unknown: it ends there


def card_mask(pictures: np.ndarray) -> np.ndarray:
    """(n, h, w) grey uint8 -> (n,) bool: the picture is a dark card with text on it."""
    if len(pictures) == 0:
        return np.zeros(0, dtype=bool)
    flat = pictures.reshape(len(pictures), -1)
    text = (flat >= TEXT_LEVEL).mean(axis=1) >= TEXT_SHARE
    return dark_mask(pictures) & text


def dark_mask(pictures: np.ndarray) -> np.ndarray:
    """(n,) bool: nearly all dark, text or not (a card between its names, or the black after it)."""
    if len(pictures) == 0:
        return np.zeros(0, dtype=bool)
    flat = pictures.reshape(len(pictures), -1)
    dark = (flat <= DARK_LEVEL).mean(axis=1) >= DARK_SHARE
    mid = ((flat > DARK_LEVEL) & (flat < MID_TOP)).mean(axis=1) <= MID_SHARE
    return dark & mid


def card_run(times_s: np.ndarray, pictures: np.ndarray) -> tuple[float, float, float] | None:
    """The longest run of key frames that are dark, with text on RUN_TEXT_SHARE of them, lasting MIN_CARD_RUN_S
    or more: (the last non-dark key frame's time before it (where its start is to be looked for), its first key
    frame's time, its end: the time of the first non-dark key frame after it, or inf when it runs to the last key
    frame). None when there is no such run."""
    dark, card = dark_mask(pictures), card_mask(pictures)
    best: tuple[float, float, float] | None = None
    i = 0
    while i < len(times_s):
        if not dark[i]:
            i += 1
            continue
        j = i
        while j + 1 < len(times_s) and dark[j + 1] and times_s[j + 1] - times_s[j] <= MAX_KEYFRAME_GAP_S:
            j += 1
        end_s = float(times_s[j + 1]) if j + 1 < len(times_s) else float("inf")
        last_s = float(times_s[j]) if end_s == float("inf") else end_s
        if last_s - times_s[i] >= MIN_CARD_RUN_S and card[i : j + 1].mean() >= RUN_TEXT_SHARE:
            before_s = float(times_s[i - 1]) if i > 0 else float(times_s[i])
            if best is None or last_s - times_s[i] > _length(best):
                best = (before_s, float(times_s[i]), end_s)
        i = j + 1
    return best


def _length(run: tuple[float, float, float]) -> float:
    return run[2] - run[1]


def first_dark(times_s: np.ndarray, pictures: np.ndarray, default_s: float) -> float:
    """The time of the first frame from which every frame is dark (the card's first frame); default_s when the
    window ends on a picture that is not."""
    dark = dark_mask(pictures)
    if len(dark) == 0 or not dark[-1]:
        return default_s
    lit = np.flatnonzero(~dark)
    return float(times_s[lit[-1] + 1]) if len(lit) else float(times_s[0])


def first_lit(times_s: np.ndarray, pictures: np.ndarray, default_s: float) -> float:
    """The time of the first frame that is not dark (the first picture after the cards); default_s when every
    frame of the window is dark."""
    lit = np.flatnonzero(~dark_mask(pictures))
    return float(times_s[lit[0]]) if len(lit) else default_s

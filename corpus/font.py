"""A tiny 5x7 bitmap font, so that title cards and captions need no imaging library."""

from __future__ import annotations

from functools import cache

import numpy as np
from numpy.typing import NDArray

GLYPH_W = 5
GLYPH_H = 7

# Each glyph is 7 rows of 5 pixels; "#" is ink. Lower case is drawn as upper case.
_GLYPHS: dict[str, str] = {
    "A": ".###. #...# #...# ##### #...# #...# #...#",
    "B": "####. #...# #...# ####. #...# #...# ####.",
    "C": ".###. #...# #.... #.... #.... #...# .###.",
    "D": "####. #...# #...# #...# #...# #...# ####.",
    "E": "##### #.... #.... ####. #.... #.... #####",
    "F": "##### #.... #.... ####. #.... #.... #....",
    "G": ".###. #...# #.... #.### #...# #...# .####",
    "H": "#...# #...# #...# ##### #...# #...# #...#",
    "I": ".###. ..#.. ..#.. ..#.. ..#.. ..#.. .###.",
    "J": "..### ...#. ...#. ...#. ...#. #..#. .##..",
    "K": "#...# #..#. #.#.. ##... #.#.. #..#. #...#",
    "L": "#.... #.... #.... #.... #.... #.... #####",
    "M": "#...# ##.## #.#.# #.#.# #...# #...# #...#",
    "N": "#...# #...# ##..# #.#.# #..## #...# #...#",
    "O": ".###. #...# #...# #...# #...# #...# .###.",
    "P": "####. #...# #...# ####. #.... #.... #....",
    "Q": ".###. #...# #...# #...# #.#.# #..#. .##.#",
    "R": "####. #...# #...# ####. #.#.. #..#. #...#",
    "S": ".#### #.... #.... .###. ....# ....# ####.",
    "T": "##### ..#.. ..#.. ..#.. ..#.. ..#.. ..#..",
    "U": "#...# #...# #...# #...# #...# #...# .###.",
    "V": "#...# #...# #...# #...# #...# .#.#. ..#..",
    "W": "#...# #...# #...# #.#.# #.#.# #.#.# .#.#.",
    "X": "#...# #...# .#.#. ..#.. .#.#. #...# #...#",
    "Y": "#...# #...# .#.#. ..#.. ..#.. ..#.. ..#..",
    "Z": "##### ....# ...#. ..#.. .#... #.... #####",
    "0": ".###. #...# #..## #.#.# ##..# #...# .###.",
    "1": "..#.. .##.. ..#.. ..#.. ..#.. ..#.. .###.",
    "2": ".###. #...# ....# ...#. ..#.. .#... #####",
    "3": "####. ....# ....# .###. ....# ....# ####.",
    "4": "...#. ..##. .#.#. #..#. ##### ...#. ...#.",
    "5": "##### #.... ####. ....# ....# #...# .###.",
    "6": "..##. .#... #.... ####. #...# #...# .###.",
    "7": "##### ....# ...#. ..#.. .#... .#... .#...",
    "8": ".###. #...# #...# .###. #...# #...# .###.",
    "9": ".###. #...# #...# .#### ....# ...#. .##..",
    " ": "..... ..... ..... ..... ..... ..... .....",
    ".": "..... ..... ..... ..... ..... .##.. .##..",
    ",": "..... ..... ..... ..... .##.. ..#.. .#...",
    "'": "..#.. ..#.. .#... ..... ..... ..... .....",
    "!": "..#.. ..#.. ..#.. ..#.. ..#.. ..... ..#..",
    "?": ".###. #...# ....# ...#. ..#.. ..... ..#..",
    "-": "..... ..... ..... .###. ..... ..... .....",
    ":": "..... .##.. .##.. ..... .##.. .##.. .....",
    "&": ".##.. #..#. #.#.. .#... #.#.# #..#. .##.#",
}


@cache
def _glyph(ch: str) -> NDArray[np.bool_]:
    rows = _GLYPHS.get(ch.upper(), _GLYPHS["?"]).split()
    return np.array([[c == "#" for c in row] for row in rows], dtype=bool)


def text_mask(text: str, scale: int = 1) -> NDArray[np.bool_]:
    """Ink mask (rows, cols) for one line of `text`, each font pixel drawn as a `scale` x `scale` block."""
    if not text:
        return np.zeros((GLYPH_H * scale, 0), dtype=bool)
    spacer = np.zeros((GLYPH_H, 1), dtype=bool)  # one pixel between letters
    parts: list[NDArray[np.bool_]] = []
    for i, ch in enumerate(text):
        if i:
            parts.append(spacer)
        parts.append(_glyph(ch))
    mask = np.concatenate(parts, axis=1)
    return np.repeat(np.repeat(mask, scale, axis=0), scale, axis=1)


def outline(mask: NDArray[np.bool_], width: int = 1) -> NDArray[np.bool_]:
    """Pixels within `width` of the ink but not ink: a dark border keeps text readable on any picture."""
    grown = np.pad(mask, width)
    out = grown.copy()
    for dy in range(-width, width + 1):
        for dx in range(-width, width + 1):
            out |= np.roll(np.roll(grown, dy, axis=0), dx, axis=1)
    return out & ~grown

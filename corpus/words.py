"""Made-up words for show names, credits, captions and signs (deterministic, from the caller's rng)."""

from __future__ import annotations

from functools import cache

import numpy as np

from corpus.catalog import Split, split_of_keys

_ADJ = (
    "Silver",
    "Hidden",
    "Last",
    "Northern",
    "Quiet",
    "Broken",
    "Golden",
    "Distant",
    "Crimson",
    "Lucky",
    "Wild",
    "Little",
    "Hollow",
    "Frozen",
    "Burning",
    "Secret",
    "Iron",
    "Paper",
    "Velvet",
    "Salt",
    "Midnight",
    "Copper",
    "Glass",
    "Summer",
    "Winter",
    "Lost",
    "Open",
    "Bright",
    "Stone",
    "Second",
)
_NOUN = (
    "Harbor",
    "Station",
    "Valley",
    "Kingdom",
    "Precinct",
    "Orchard",
    "Frontier",
    "Academy",
    "Lighthouse",
    "Circuit",
    "Garden",
    "Voyage",
    "Signal",
    "Island",
    "Ledger",
    "Ridge",
    "Crossing",
    "Bureau",
    "Canyon",
    "Market",
    "Tower",
    "River",
    "Empire",
    "Hospital",
    "Manor",
    "Road",
    "Colony",
    "Theatre",
    "Hotel",
    "Bay",
)
_SYL = ("ka", "lo", "mi", "ren", "tas", "vo", "di", "sel", "an", "bru", "chi", "el", "gor", "ha", "ix", "jun")
_WORDS = (
    "the",
    "door",
    "was",
    "open",
    "when",
    "we",
    "came",
    "back",
    "north",
    "exit",
    "closed",
    "today",
    "cafe",
    "police",
    "line",
    "do",
    "not",
    "cross",
    "hotel",
    "room",
    "west",
    "wing",
    "sale",
    "fresh",
    "bread",
    "where",
    "is",
    "she",
    "now",
    "i",
    "told",
    "you",
    "already",
    "come",
    "with",
    "me",
    "platform",
    "two",
)


@cache
def show_names(split: Split) -> tuple[str, ...]:
    """All names of `split`; train and val names are disjoint (the same partition as the assets)."""
    names = [f"The {a} {n}" for a in _ADJ for n in _NOUN]
    assignment = split_of_keys(names)
    return tuple(n for n in names if assignment[n] == split)


def _word(rng: np.random.Generator, syllables: tuple[int, int] = (2, 3)) -> str:
    n = int(rng.integers(syllables[0], syllables[1] + 1))
    return "".join(_SYL[int(i)] for i in rng.integers(0, len(_SYL), size=n)).capitalize()


def credit_name(rng: np.random.Generator) -> str:
    return f"{_word(rng)} {_word(rng)}".upper()


def sentence(rng: np.random.Generator, words: tuple[int, int] = (2, 6)) -> str:
    n = int(rng.integers(words[0], words[1] + 1))
    return " ".join(_WORDS[int(i)] for i in rng.integers(0, len(_WORDS), size=n)).capitalize()

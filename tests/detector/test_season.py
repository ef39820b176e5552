"""Where an episode sits in its show, from its file's name (the order a recap and a preview depend on)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from detector.fingerprint import Fingerprints
from detector.season import episode_number, placed


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("Show (2019) - S01E03 - Pilot.mkv", (1, 3)),
        ("show.s2e11.720p.x264.mkv", (2, 11)),
        ("Show S01.E10.mkv", (1, 10)),
        ("Show - 3x07 - Title.mp4", (3, 7)),
        ("Show S01E01E02.mkv", (1, 1)),  # a double episode sits where its first does
        ("S00E04.mkv", (0, 4)),  # specials
        ("Movie (2020) 1080p.mkv", None),
        ("Show x264 10bit.mkv", None),
        ("ABCS01E03.mkv", None),  # inside a longer word
    ],
)
def test_the_episode_number_comes_from_the_common_names(name: str, expected: tuple[int, int] | None) -> None:
    assert episode_number(Path("/library/Show/Season 01") / name) == expected


def test_the_place_is_not_stored_with_the_fingerprints() -> None:
    fingerprints = placed(Path("Show S01E02.mkv"), Fingerprints(np.ones(10, np.uint32), np.zeros(1, np.uint64)))
    assert fingerprints.episode == (1, 2)
    assert Fingerprints.from_bytes(fingerprints.to_bytes()).episode is None  # a renamed file gets its new place

"""Where an episode sits in its show, from its file's name (the order a recap and a preview depend on)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from detector.fingerprint import Fingerprints
from detector.season import episode_number, placed, places


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


def test_places_says_which_episodes_come_before_and_which_is_next_present() -> None:
    others = [(1, 2), (1, 5), None, (1, 7), (1, 4), (2, 1)]
    earlier, following, unknown = places((1, 4), others)
    assert earlier.tolist() == [True, False, False, False, False, False]  # (1, 4) is a copy: neither side
    assert following.tolist() == [False, True, False, False, False, False]  # E05, not E07 nor the next season
    assert unknown.tolist() == [False, False, True, False, False, False]
    earlier, following, unknown = places(None, others)  # this one's place is not known: every other's order neither
    assert not earlier.any() and not following.any() and unknown.all()
    assert not places((1, 9), [(1, 2)])[1].any()  # a season's last has no next

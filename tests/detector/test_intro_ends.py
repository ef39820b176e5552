"""An intro's ends as docs/design.md defines them ("An intro's ends"): black before the title sequence's first shot
and after its last is part of the intro, so the skip starts where the story stops and lands on its first frame.
A season rendered with black around every title sequence (corpus profile p_black_around_intro), detected whole."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from corpus.procedural import make_season
from corpus.profile import PROCEDURAL
from detector import Detector
from detector.cuts import black_frames
from detector.decode import decode_pictures
from detector.labels import EpisodeTruth

FRAMED = replace(PROCEDURAL, p_black_around_intro=1.0, p_cold_open=0.7, p_no_intro=0.0)


@pytest.fixture(scope="module")
def season(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[EpisodeTruth]]:
    root = tmp_path_factory.mktemp("black")
    return root, make_season(root, episodes=4, seed=7, profile=FRAMED)


def test_the_generator_frames_the_title_sequence_in_black(season: tuple[Path, list[EpisodeTruth]]):
    root, truth = season
    for ep in truth:
        assert ep.intro is not None and "intro_in_black" in ep.tags
        start, end = ep.intro.start_s, ep.intro.end_s
        (t0, first), (t1, last) = decode_pictures(root / ep.path, [(start - 1.0, start + 1.0), (end - 1.0, end + 1.0)])
        # Black for the first and last 0.2 s of the intro (a frame's margin for the frame times), story outside.
        assert black_frames(first[(t0 > start + 0.05) & (t0 < start + 0.2)]).all()
        assert black_frames(last[(t1 > end - 0.2) & (t1 < end - 0.05)]).all()
        assert not black_frames(last[t1 > end + 0.05]).any()


def test_the_detected_intro_holds_its_black(season: tuple[Path, list[EpisodeTruth]]):
    root, truth = season
    detections = dict(Detector.load(threads=1).detect_season([root / ep.path for ep in truth]))
    assert any(ep.intro is not None and ep.intro.start_s > 0 for ep in truth)  # one after a cold open, at least
    for ep in truth:
        found = detections[root / ep.path]
        assert not isinstance(found, Exception) and found.intro is not None and ep.intro is not None
        assert abs(found.intro.start_s - ep.intro.start_s) <= 0.25, (ep.path, found.intro, ep.intro)
        assert abs(found.intro.end_s - ep.intro.end_s) <= 0.25, (ep.path, found.intro, ep.intro)
    assert any("black" in d.signals for d in detections.values() if not isinstance(d, Exception))

"""Without siblings nothing but the network says where an intro ends: past LONE_MAX_INTRO_S (Intro Skipper's
120 s) its interval was story heard as a theme, a cold open from the file's first second on (issue 25), and none is
marked. The network's scores are set here, so the test is of the bound, not of the weights."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from detector.inference import Analysis, Detector
from detector.result import LONE_MAX_INTRO_S, Intro
from detector.weights import MODELS


def _detect_with_scores(positive: tuple[int, int], n_seconds: int = 300) -> tuple[Intro | None, tuple[str, ...]]:
    detector = Detector.load(MODELS["seed"], threads=1, snap_to_cuts=False, segments=False)
    logits = torch.full((1, n_seconds), -6.0)
    logits[0, positive[0] : positive[1]] = 6.0
    detector.model.classify = lambda embedding, extra=None: logits  # type: ignore[method-assign]
    width = detector.model.embedding_width
    analysis = Analysis(Path("alone.mkv"), 2.0 * n_seconds, torch.zeros(n_seconds, width), None)
    found = detector.finish(analysis, [])
    return found.intro, found.signals


@pytest.mark.parametrize("span", [(20, 80), (0, int(LONE_MAX_INTRO_S) - 5)])
def test_an_interval_an_intro_can_be_is_kept(span: tuple[int, int]) -> None:
    intro, signals = _detect_with_scores(span)
    assert intro is not None and abs(intro.start_s - span[0]) <= 1 and abs(intro.end_s - span[1]) <= 1, intro
    assert "too-long" not in signals


def test_the_network_alone_marks_no_intro_longer_than_two_minutes() -> None:
    intro, signals = _detect_with_scores((0, 150))
    assert intro is None and "too-long" in signals

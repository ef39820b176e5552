"""Code-level intro ends: synthetic fingerprints with a shared segment whose ends are known to the code."""

import numpy as np

from detector.boundaries import code_edges, locate_repeated_intro, sharpen
from detector.fingerprint import Fingerprints
from detector.intervals import IntervalParams
from detector.repetition import repetition_scores
from detector.result import Intro

STEP_S = 0.1
N_SECONDS = 200


def episode(rng: np.random.Generator, shared: np.ndarray, at_s: float) -> Fingerprints:
    """Random codes (unrelated sound) with `shared` codes placed at `at_s`."""
    audio = rng.integers(1, 2**32, size=int(N_SECONDS / STEP_S), dtype=np.uint64).astype(np.uint32)
    at = round(at_s / STEP_S)
    audio[at : at + len(shared)] = shared
    picture = rng.integers(1, 2**63, size=N_SECONDS, dtype=np.uint64)
    return Fingerprints(audio=audio, picture=picture)


def season(start_s: float, end_s: float, sibling_starts: tuple[float, ...]):
    rng = np.random.default_rng(7)
    theme = rng.integers(1, 2**32, size=round((end_s - start_s) / STEP_S), dtype=np.uint64).astype(np.uint32)
    target = episode(rng, theme, start_s)
    siblings = [episode(rng, theme, s) for s in sibling_starts]
    return target, siblings, repetition_scores(target, siblings)


def test_edges_are_found_to_the_code():
    target, siblings, repetition = season(30.3, 75.6, (0.0, 12.5, 40.0))
    edges = code_edges(target, siblings, repetition, 30.0, 76.0)
    assert edges is not None
    assert abs(edges[0] - 30.3) <= 0.15 and abs(edges[1] - 75.6) <= 0.15


def test_no_sibling_sharing_the_run_means_no_edges():
    target, siblings, repetition = season(30.3, 75.6, (0.0,))
    assert code_edges(target, siblings, repetition, 120.0, 150.0) is None


def test_sharpen_applies_the_corrections_and_refuses_far_moves():
    target, siblings, repetition = season(30.3, 75.6, (0.0, 12.5))
    params = IntervalParams(refine=True, start_offset_s=-0.2, end_offset_s=0.1)
    sharp = sharpen(Intro(30.0, 76.0, 0.9), target, siblings, repetition, params)
    assert abs(sharp.start_s - 30.1) <= 0.15 and abs(sharp.end_s - 75.7) <= 0.15
    far = Intro(20.0, 90.0, 0.9)  # per-second ends that far off are not this shared segment's
    assert sharpen(far, target, siblings, repetition, params) == far


def test_season_rule_end_to_end():
    target, siblings, repetition = season(30.3, 75.6, (0.0, 12.5, 40.0))
    scores = np.full(N_SECONDS, 0.2)
    intro = locate_repeated_intro(scores, target, siblings, repetition, IntervalParams(refine=True))
    assert intro is not None and abs(intro.start_s - 30.3) <= 0.15 and abs(intro.end_s - 75.6) <= 0.15
    coarse = locate_repeated_intro(scores, target, siblings, repetition, IntervalParams(refine=False))
    assert coarse is not None and (coarse.start_s, coarse.end_s) == (30.0, 76.0)

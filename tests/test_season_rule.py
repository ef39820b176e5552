"""The season rule on synthetic fingerprints whose shared segments are known to the code: content changes, the
siblings' consensus, code-level ends."""

import numpy as np

from detector.boundaries import code_edges, locate_repeated_intro, sharpen
from detector.consensus import held_as_story
from detector.fingerprint import Fingerprints
from detector.intervals import IntervalParams
from detector.repetition import content_changes, repetition_scores
from detector.result import Intro

STEP_S = 0.1
N_SECONDS = 200


def codes(rng: np.random.Generator, seconds: float) -> np.ndarray:
    return rng.integers(1, 2**32, size=round(seconds / STEP_S), dtype=np.uint64).astype(np.uint32)


def episode(rng: np.random.Generator, shared: np.ndarray, at_s: float, *more: tuple[np.ndarray, float]) -> Fingerprints:
    """Random codes (unrelated sound) with `shared` codes placed at `at_s` (and more (codes, at_s) pairs)."""
    audio = codes(rng, N_SECONDS)
    for piece, at_s_ in ((shared, at_s), *more):
        at = round(at_s_ / STEP_S)
        audio[at : at + len(piece)] = piece
    picture = rng.integers(1, 2**63, size=N_SECONDS, dtype=np.uint64)
    return Fingerprints(audio=audio, picture=picture)


def season(start_s: float, end_s: float, sibling_starts: tuple[float, ...]):
    rng = np.random.default_rng(7)
    theme = codes(rng, end_s - start_s)
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
    # The mean of the per-second ends (30, 76) and the code-level ones (30.3, 75.6), then the corrections.
    assert abs(sharp.start_s - 29.95) <= 0.1 and abs(sharp.end_s - 75.9) <= 0.1
    far = Intro(20.0, 90.0, 0.9)  # per-second ends that far off are not this shared segment's: corrections only
    assert sharpen(far, target, siblings, repetition, params) == Intro(19.8, 90.1, 0.9)


def test_season_rule_end_to_end():
    target, siblings, repetition = season(30.3, 75.6, (0.0, 12.5, 40.0))
    scores = np.full(N_SECONDS, 0.2)
    intro = locate_repeated_intro(scores, target, siblings, repetition, IntervalParams(refine=True))
    assert intro is not None and abs(intro.start_s - 30.3) <= 0.3 and abs(intro.end_s - 75.6) <= 0.3
    coarse = locate_repeated_intro(scores, target, siblings, repetition, IntervalParams(refine=False))
    assert coarse is not None and (coarse.start_s, coarse.end_s) == (30.0, 76.0)


def test_an_intro_running_into_a_reused_score_cue_splits_where_the_content_changes():
    rng = np.random.default_rng(3)
    theme, cue = codes(rng, 30), codes(rng, 25)
    target = episode(rng, theme, 10.0, (cue, 40.0))  # the cue follows the intro straight away
    siblings = [episode(rng, theme, 5.0), episode(rng, theme, 20.0), episode(rng, theme, 0.0, (cue, 120.0))]
    siblings += [episode(rng, cue, 90.0), episode(rng, cue, 150.0)]
    repetition = repetition_scores(target, siblings)
    changes = content_changes(repetition)
    assert any(abs(int(c) - 40) <= 1 for c in changes)
    intro = locate_repeated_intro(np.full(N_SECONDS, 0.2), target, siblings, repetition, IntervalParams())
    assert intro is not None and abs(intro.start_s - 10) <= 1 and abs(intro.end_s - 40) <= 1


def test_a_cue_that_the_siblings_hold_as_story_is_not_the_intro():
    """A pilot without an intro shares a score cue with siblings whose intro is elsewhere."""
    rng = np.random.default_rng(4)
    theme, cue = codes(rng, 30), codes(rng, 20)
    pilot = episode(rng, cue, 100.0)
    siblings = [episode(rng, theme, 0.0, (cue, 60.0 + 20 * k)) for k in range(3)]
    siblings += [episode(rng, theme, 15.0)]
    repetition = repetition_scores(pilot, siblings)
    run = Intro(100.0, 120.0, 0.5)
    assert held_as_story(run, pilot, siblings, repetition, IntervalParams())
    assert locate_repeated_intro(np.full(N_SECONDS, 0.9), pilot, siblings, repetition, IntervalParams()) is None
    # The siblings' shared theme is their intro, so the theme in an episode of theirs is not held as story.
    target, others = siblings[0], [*siblings[1:], pilot]
    own = repetition_scores(target, others)
    assert not held_as_story(Intro(0.0, 30.0, 0.5), target, others, own, IntervalParams())

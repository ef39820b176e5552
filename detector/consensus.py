"""Season consensus: a repeated run that the siblings sharing it hold as story is not this episode's intro.

Repetition alone cannot tell an intro from a score cue that a few episodes reuse, or from a pilot's scene that later
episodes quote: both recur. The siblings can: content that is the intro recurs as *their* intro too, while a cue
lands in their story, away from the run the season shares most. Pure: fingerprints and arrays in, a verdict out.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

import numpy as np

from detector.fingerprint import Fingerprints
from detector.intervals import IntervalParams, find_repeated_intro
from detector.repetition import RepetitionFeatures, content_changes, repetition_scores
from detector.result import Intro

SIBLINGS_ASKED = 3  # the siblings that share the run most are asked; each costs one repetition pass
MIN_OVERLAP = 0.5  # the run lands on a sibling's own intro when it covers at least this share of the run


def held_as_story(
    run: Intro,
    target: Fingerprints,
    siblings: Sequence[Fingerprints],
    repetition: RepetitionFeatures,
    params: IntervalParams,
    own_intros: dict[int, Intro | None] | None = None,
) -> bool:
    """True when most of the asked siblings that share `run` have their own intro somewhere else.

    own_intros: siblings' own intros by index, filled as they are found; pass one dict for all the candidates of
    an episode, so that a sibling asked twice costs one repetition pass."""
    sharing = repetition.sharing(int(run.start_s), int(np.ceil(run.end_s)))[:SIBLINGS_ASKED]
    if not sharing:
        return False
    known = {} if own_intros is None else own_intros
    story = 0
    for j, offset in sharing:
        if j not in known:
            known[j] = _own_intro(j, target, siblings, params)
        intro = known[j]
        lo, hi = run.start_s + offset, run.end_s + offset
        overlap = 0.0 if intro is None else max(0.0, min(hi, intro.end_s) - max(lo, intro.start_s))
        if intro is not None and overlap < MIN_OVERLAP * (run.end_s - run.start_s):
            story += 1
    return story >= len(sharing) / 2


def _own_intro(j: int, target: Fingerprints, siblings: Sequence[Fingerprints], params: IntervalParams) -> Intro | None:
    """Sibling j's intro from repetition alone (no network scores for it here): its longest well-shared run."""
    others = [fp for i, fp in enumerate(siblings) if i != j] + [target]
    own = repetition_scores(siblings[j], others)
    by_support = replace(params, network_weight=0.0, support_weight=1.0)
    return find_repeated_intro(np.zeros(own.n_seconds), own.audio_support, by_support, content_changes(own))

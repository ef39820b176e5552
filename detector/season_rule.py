"""The season rule: with siblings, the intro is a run of seconds whose sound recurs across the season.

Stages: the runs of repeated seconds (split where the repeated content changes), best first by length, the network's
probability and the siblings' support -> the season's consensus (a run that the siblings sharing it hold as story is
not this episode's intro) -> the first run left, its ends sharpened to the audio codes (detector.boundaries) when
the checkpoint asks for it. Cold opens do not repeat; a recap repeats only in the episodes it quotes.

Consensus: repetition alone cannot tell an intro from a score cue that a few episodes reuse, or from a pilot's scene
that later episodes quote: both recur. The siblings can: content that is the intro recurs as *their* intro too,
while a cue lands in their story, away from the run the season shares most.

Pure: scores, fingerprints and arrays in, an interval out.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace
from functools import partial

import numpy as np

from detector.boundaries import sharpen
from detector.fingerprint import Fingerprints
from detector.repetition import RepetitionFeatures, content_changes, season_context
from detector.result import MAX_INTRO_S, Intro


@dataclass(frozen=True)
class SeasonRuleParams:
    """The season model's rule, stored with its weights. Fixed from the design, not fitted, except the end
    corrections, which training measures.

    support_threshold: one sibling in five (a second opening that only two episodes of a six-episode season share
    still passes; the consensus and the network keep reused score cues out); min_repeated_s: the shortest intro we
    target; length and network probability weighed equally per minute."""

    refine: bool = False  # sub-second ends from the shared audio codes (detector.boundaries)
    support_threshold: float = 0.19  # share of the siblings repeating a second for it to count as repeated
    min_repeated_s: float = 8.0
    network_weight: float = 1.0
    support_weight: float = 0.0  # weight of the share of siblings repeating a run (used where no network scores)
    # Corrections of the refined ends: minus their median error on the training corpus (set by training).
    start_offset_s: float = 0.0
    end_offset_s: float = 0.0

    def to_dict(self) -> dict[str, float | int]:
        return asdict(self)


def locate_repeated_intro(
    scores: np.ndarray,
    target: Fingerprints,
    siblings: Sequence[Fingerprints],
    repetition: RepetitionFeatures,
    params: SeasonRuleParams,
) -> Intro | None:
    """The best repeated run that the siblings sharing it do not hold as story, its ends sharpened when
    params.refine; None when no run qualifies: no marker is better than a wrong one."""
    own_intros: dict[int, OwnIntro] = {}
    for candidate in repeated_candidates(scores, repetition.audio_support, params, content_changes(repetition))[:3]:
        if held_as_story(candidate, target, siblings, repetition, params, own_intros, scores=scores):
            continue
        if params.refine:
            return sharpen(candidate, target, siblings, repetition, params.start_offset_s, params.end_offset_s)
        return candidate
    return None


CORE_SHARE = 0.5  # an end second repeated in at most this share of the siblings that repeat the run's core is cut


def trim_to_core(support: np.ndarray, start: int, end: int) -> tuple[int, int]:
    """Cut the ends of a repeated run [start, end) where fewer siblings repeat it than repeat its core.

    One sibling often shares a few seconds more (the same score cue or room tone right after the theme); the
    intro ends where most of the siblings that share it stop repeating.
    """
    level = float(np.percentile(support[start:end], 75))
    while end - start > 1 and support[start] <= CORE_SHARE * level:
        start += 1
    while end - start > 1 and support[end - 1] <= CORE_SHARE * level:
        end -= 1
    return start, end


def repeated_candidates(
    scores: np.ndarray,
    support: np.ndarray,
    params: SeasonRuleParams = SeasonRuleParams(),
    changes: Sequence[int] | np.ndarray = (),
) -> list[Intro]:
    """The runs of seconds whose sound recurs in the season, at most MAX_INTRO_S long, best first by length, the
    network's probability and the support.
    changes: seconds where the repeated content changes (repetition.content_changes); runs are split there.
    """
    candidates = []
    for run in sorted(
        _repeated_runs(support, params, changes), key=partial(_merit, scores, support, params), reverse=True
    ):
        start, end = trim_to_core(support, *run)
        if end - start > MAX_INTRO_S:
            continue
        confidence = 0.5 * float(np.mean(scores[start:end])) + 0.5 * float(np.mean(support[start:end]))
        candidates.append(Intro(start_s=float(start), end_s=float(end), confidence=round(confidence, 4)))
    return candidates


def _repeated_runs(
    support: np.ndarray, params: SeasonRuleParams, changes: Sequence[int] | np.ndarray
) -> list[tuple[int, int]]:
    """[start, end) of the runs of repeated seconds, split at the content changes, at least min_repeated_s long."""
    repeated = np.asarray(support) >= params.support_threshold
    edges = np.flatnonzero(np.diff(np.concatenate([[0], repeated.astype(np.int8), [0]])))
    cuts = np.asarray(changes, dtype=np.int64)
    runs = []
    for a, b in zip(edges[::2], edges[1::2], strict=True):
        inner = cuts[(cuts > a) & (cuts < b)]
        bounds = [int(a), *(int(c) for c in inner), int(b)]
        runs += [(x, y) for x, y in itertools.pairwise(bounds) if y - x >= params.min_repeated_s]
    return runs


def _merit(scores: np.ndarray, support: np.ndarray, params: SeasonRuleParams, run: tuple[int, int]) -> float:
    return (
        (run[1] - run[0]) / 60.0
        + params.network_weight * float(np.mean(scores[run[0] : run[1]]))
        + params.support_weight * float(np.mean(support[run[0] : run[1]]))
    )


def decided_by_sound(
    target: Fingerprints,
    siblings: Sequence[Fingerprints],
    repetition: RepetitionFeatures,
    params: SeasonRuleParams,
) -> tuple[bool, Intro | None]:
    """(True, what locate_repeated_intro returns) when that answer is the same whatever the network's scores are;
    (False, None) when the scores could change it. Needs no pictures: the candidates, the consensus and the
    refined ends come from the audio codes, and the scores only order the candidates, each run's merit moving by
    at most network_weight (scores are probabilities), and the target's scores may overturn a sibling's vote
    where the target repeats that sibling's own intro (held_as_story). The answer is certain when no other
    candidate that could rank above the first one not held as story is itself not held as story, or held as story
    by such a vote, and at most two could rank above it (only the first three are looked at). The intro's
    confidence is then its mean support (no scores)."""
    support = repetition.audio_support
    no_scores = np.zeros(len(support), np.float32)
    ranked = []  # (merit without scores, candidate), best first
    for run in _repeated_runs(support, params, content_changes(repetition)):
        start, end = trim_to_core(support, *run)
        if end - start <= MAX_INTRO_S:
            confidence = round(float(np.mean(support[start:end])), 4)
            ranked.append((_merit(no_scores, support, params, run), Intro(float(start), float(end), confidence)))
    ranked.sort(key=lambda r: r[0], reverse=True)
    reach = params.network_weight
    own_intros: dict[int, OwnIntro] = {}
    for i, (low, candidate) in enumerate(ranked):
        if held_as_story(candidate, target, siblings, repetition, params, own_intros):
            if heard_by_target(candidate, repetition, own_intros):
                return False, None  # a sibling's own intro that the target's scores may call story
            continue  # held as story whatever the scores: passed over wherever it ranks
        rivals = [j for j, (merit, _) in enumerate(ranked) if j != i and merit + reach >= low]
        if len(rivals) > 2:
            return False, None  # could be pushed out of the three looked at
        for j in rivals:
            rival = ranked[j][1]
            if j > i and (
                not held_as_story(rival, target, siblings, repetition, params, own_intros)
                or heard_by_target(rival, repetition, own_intros)
            ):
                return False, None  # the scores decide between the two
        if params.refine:
            return True, sharpen(candidate, target, siblings, repetition, params.start_offset_s, params.end_offset_s)
        return True, candidate
    # Nothing repeats, or all of it is the siblings' story: the network may still be sure of an intro there
    # (network_only_intro), so the scores decide.
    return False, None


def find_repeated_intro(
    scores: np.ndarray,
    support: np.ndarray,
    params: SeasonRuleParams = SeasonRuleParams(),
    changes: Sequence[int] | np.ndarray = (),
) -> Intro | None:
    """The best repeated candidate; None when nothing repeats for long enough."""
    candidates = repeated_candidates(scores, support, params, changes)
    return candidates[0] if candidates else None


NETWORK_ONLY_CONFIDENCE = 0.8  # the network's mean score over an intro the season rule could not place, at least
NETWORK_ONLY_LENGTH = 2.0  # ... and at most this many times as long as the longest of the asked siblings' own intros


def network_only_intro(
    found: Intro | None, target: Fingerprints, siblings: Sequence[Fingerprints], params: SeasonRuleParams
) -> Intro | None:
    """Where the season rule marks nothing, the network's own interval (`found`: the seed design's DBSCAN over the
    season model's scores), when the network is sure of it and the siblings asked have intros not much shorter.

    The rule marks nothing for an opening no sibling shares (the one episode that still has the old title
    sequence) and for one the siblings hold as story because their own intros, from repetition alone, are wrong
    (a scene three episodes share outranks an opening two share). The season model scores such an opening as
    surely as any (0.84-0.96 on our corpora, no more than 0.6 where there is no intro); on seasons of another make
    it can score a whole cold open as intro from the first second, far longer than the season's intros
    (docs/evaluation.md, "Where the season rule marks nothing")."""
    if found is None or found.confidence < NETWORK_ONLY_CONFIDENCE:
        return None
    theirs = [OwnIntro(j, target, siblings, params).best for j in range(min(SIBLINGS_ASKED, len(siblings)))]
    longest = max((i.duration_s for i in theirs if i is not None), default=0.0)
    return found if found.duration_s <= NETWORK_ONLY_LENGTH * longest else None


# The season rule's answer is story to the network at a mean score under this (an intro scores 0.8-1; what the rule
# took instead was a repeated scene at 0.0-0.2 on our corpora).
STORY_SCORE = 0.3


def network_outvotes(
    intro: Intro,
    scores: np.ndarray,
    found: Intro | None,
    target: Fingerprints,
    siblings: Sequence[Fingerprints],
    repetition: RepetitionFeatures,
    params: SeasonRuleParams,
) -> Intro | None:
    """The network's own interval (`found`) instead of the season rule's `intro`, when the network hears the
    rule's answer as story (mean score under STORY_SCORE) and is sure of an interval elsewhere, as sure and as long
    as network_only_intro asks; None otherwise, and where the sound alone decides (decided_by_sound): the cascade
    does not run the network there, and an episode must get the same answer whichever path decided it.

    This is the episode whose own opening no sibling shares (the other opening, kept by one episode) while a scene
    it shares with a sibling or two is repeated enough for the rule: a run the network scores 0.0-0.2 taken over an
    opening it scores 0.9 (docs/evaluation.md)."""
    if found is None or min(found.end_s, intro.end_s) > max(found.start_s, intro.start_s):
        return None
    a, b = int(intro.start_s), max(int(intro.start_s) + 1, int(np.ceil(intro.end_s)))
    if float(np.mean(scores[a:b])) >= STORY_SCORE:
        return None
    sure = network_only_intro(found, target, siblings, params)
    if sure is None or decided_by_sound(target, siblings, repetition, params)[0]:
        return None
    return sure


SIBLINGS_ASKED = 3  # the siblings that share the run most are asked; each costs one repetition pass
# The target's network hears a run as its intro at this mean score or more, and a sibling's run that it repeats as
# story when it scores it lower by SCORE_MARGIN (an intro scores 0.8-1, a score cue in the story 0-0.4) ...
INTRO_SCORE = 0.5
SCORE_MARGIN = 0.3
# ... which overturns the sibling's own intro only where no more than this share of its siblings repeat it: an
# opening the season shares is not outvoted by one episode's network (and the sound alone still decides there).
CONTESTED_SUPPORT = 0.5
MIN_OVERLAP = 0.5  # a run lands on a sibling's own intro when this share of the seconds it repeats land on it


def held_as_story(
    run: Intro,
    target: Fingerprints,
    siblings: Sequence[Fingerprints],
    repetition: RepetitionFeatures,
    params: SeasonRuleParams,
    own_intros: dict[int, OwnIntro] | None = None,
    asked_further: bool = True,
    scores: np.ndarray | None = None,
) -> bool:
    """True when most of the asked siblings that share `run` have their own intro somewhere else.

    A sibling's own intro is its best-shared run; when that puts `run` in its story, the answer is itself put to
    its siblings first (asked_further, one level): a pilot's scene that later recaps quote is shared by more
    episodes than an opening only half the season has, and the pilot would otherwise call that scene its intro
    and hold its real opening as story (data/seg-tune). It costs repetition passes only where a sibling says story.
    own_intros: the siblings asked so far, by index; pass one dict for all the candidates of an episode, so that a
    sibling asked twice costs one repetition pass.
    scores: the target's network scores (n_seconds,). A sibling's own intro comes from repetition alone, and a
    score cue three episodes share outranks an opening two share; when the target's network hears `run` as its
    intro and that sibling's own intro, which the target repeats too, as story, the sibling's answer is its best
    run that the target does not hear as story (data/seg-val3, The Hollow Empire: each of two episodes with the
    second opening called the other's opening story, their own intro being the cue)."""
    a, b = int(run.start_s), int(np.ceil(run.end_s))
    sharing = repetition.sharing(a, b)[:SIBLINGS_ASKED]
    if not sharing:
        return False
    known = {} if own_intros is None else own_intros
    heard = float(np.mean(scores[a:b])) if scores is not None else 0.0
    story = 0
    for j, _ in sharing:
        if j not in known:
            known[j] = OwnIntro(j, target, siblings, params)
        landing_s = repetition.landing_s(j, a, b)
        intro = known[j].best
        if scores is not None and heard >= INTRO_SCORE and known[j].heard_below(intro, scores, heard - SCORE_MARGIN):
            intro = known[j].heard_best(scores, heard - SCORE_MARGIN)
        elif asked_further and _elsewhere(landing_s, intro):
            intro = known[j].checked()
        story += _elsewhere(landing_s, intro)
    return story >= len(sharing) / 2


def heard_by_target(run: Intro, repetition: RepetitionFeatures, own_intros: dict[int, OwnIntro]) -> bool:
    """Whether the target's scores could change held_as_story's answer for `run` (asked before, so the siblings
    that share it are in own_intros): a sibling's own intro is repeated by the target."""
    sharing = repetition.sharing(int(run.start_s), int(np.ceil(run.end_s)))[:SIBLINGS_ASKED]
    return any(own_intros[j].in_target(own_intros[j].best) is not None for j, _ in sharing if j in own_intros)


def _elsewhere(landing_s: np.ndarray, intro: Intro | None) -> bool:
    """A sibling whose own intro is `intro` holds a run as story: fewer than MIN_OVERLAP of the run's seconds that
    it repeats land on its intro (landing_s: where it repeats them, RepetitionFeatures.landing_s)."""
    if intro is None or not len(landing_s):
        return False
    inside = (landing_s >= intro.start_s) & (landing_s < intro.end_s)
    return bool(inside.mean() < MIN_OVERLAP)


class OwnIntro:
    """Sibling j's intro from repetition alone (no network scores for it here), its season context computed once:
    `best`, its best-shared run; `checked()`, the best of its first three that its own siblings do not hold as
    story (asked no further), or still the best-shared run when they hold all three as story."""

    def __init__(self, j: int, target: Fingerprints, siblings: Sequence[Fingerprints], params: SeasonRuleParams):
        self.fingerprints = siblings[j]
        others = [fp for i, fp in enumerate(siblings) if i != j] + [target]
        self.others, self.repetition, _ = season_context(self.fingerprints, others)
        self._target = next((i for i, fp in enumerate(self.others) if fp is target), None)
        self.params = replace(params, network_weight=0.0, support_weight=1.0)
        support = self.repetition.audio_support
        self.candidates = repeated_candidates(
            np.zeros(len(support)), support, self.params, content_changes(self.repetition)
        )
        self.best = self.candidates[0] if self.candidates else None
        self._checked: Intro | None = None
        self._asked = False

    def in_target(self, run: Intro | None) -> tuple[int, int] | None:
        """[start, end) seconds of the target that repeat this sibling's `run`, when few of its siblings do
        (CONTESTED_SUPPORT); None otherwise."""
        if run is None or self._target is None:
            return None
        support = self.repetition.audio_support[int(run.start_s) : int(np.ceil(run.end_s))]
        if len(support) == 0 or float(np.mean(support)) > CONTESTED_SUPPORT:
            return None
        a, b = int(run.start_s), int(np.ceil(run.end_s))
        offset = next((o for i, o in self.repetition.sharing(a, b) if i == self._target), None)
        return None if offset is None else (max(0, round(a + offset)), max(0, round(b + offset)))

    def heard_below(self, run: Intro | None, scores: np.ndarray, level: float) -> bool:
        """The target repeats `run`, and its network's mean score there is under `level`."""
        seconds = self.in_target(run)
        heard = scores[seconds[0] : seconds[1]] if seconds is not None else scores[:0]
        return len(heard) > 0 and float(np.mean(heard)) < level

    def heard_best(self, scores: np.ndarray, level: float) -> Intro | None:
        """The best of its first three runs that the target does not score under `level` (None: none)."""
        return next((c for c in self.candidates[:3] if not self.heard_below(c, scores, level)), None)

    def checked(self) -> Intro | None:
        if not self._asked:
            # None would be "no intro", a vote for every run: the best-shared run stays its answer.
            self._checked, self._asked = self.best, True
            theirs: dict[int, OwnIntro] = {}
            for candidate in self.candidates[:3]:
                own = (self.fingerprints, self.others, self.repetition, self.params, theirs)
                if not held_as_story(candidate, *own, asked_further=False):
                    self._checked = candidate
                    break
        return self._checked

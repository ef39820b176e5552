"""The season rule on synthetic fingerprints whose shared segments are known to the code: content changes, the
siblings' consensus, code-level ends."""

import numpy as np

from detector.boundaries import code_edges, sharpen
from detector.fingerprint import Fingerprints
from detector.repetition import content_changes, repetition_scores
from detector.result import MAX_INTRO_S, Intro
from detector.season_rule import (
    SeasonRuleParams,
    decided_by_sound,
    find_repeated_intro,
    held_as_story,
    locate_repeated_intro,
    network_only_intro,
    network_outvotes,
    trim_to_core,
)

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
    corrections = (-0.2, 0.1)  # the season rule's start_offset_s, end_offset_s
    sharp = sharpen(Intro(30.0, 76.0, 0.9), target, siblings, repetition, *corrections)
    # The mean of the per-second ends (30, 76) and the code-level ones (30.3, 75.6), then the corrections.
    assert abs(sharp.start_s - 29.95) <= 0.1 and abs(sharp.end_s - 75.9) <= 0.1
    far = Intro(20.0, 90.0, 0.9)  # per-second ends that far off are not this shared segment's: corrections only
    assert sharpen(far, target, siblings, repetition, *corrections) == Intro(19.8, 90.1, 0.9)


def test_season_rule_end_to_end():
    target, siblings, repetition = season(30.3, 75.6, (0.0, 12.5, 40.0))
    scores = np.full(N_SECONDS, 0.2)
    intro = locate_repeated_intro(scores, target, siblings, repetition, SeasonRuleParams(refine=True))
    assert intro is not None and abs(intro.start_s - 30.3) <= 0.3 and abs(intro.end_s - 75.6) <= 0.3
    coarse = locate_repeated_intro(scores, target, siblings, repetition, SeasonRuleParams(refine=False))
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
    intro = locate_repeated_intro(np.full(N_SECONDS, 0.2), target, siblings, repetition, SeasonRuleParams())
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
    assert held_as_story(run, pilot, siblings, repetition, SeasonRuleParams())
    assert locate_repeated_intro(np.full(N_SECONDS, 0.9), pilot, siblings, repetition, SeasonRuleParams()) is None
    # The siblings' shared theme is their intro, so the theme in an episode of theirs is not held as story.
    target, others = siblings[0], [*siblings[1:], pilot]
    own = repetition_scores(target, others)
    assert not held_as_story(Intro(0.0, 30.0, 0.5), target, others, own, SeasonRuleParams())


def test_a_cue_one_sibling_plays_twice_around_its_intro_is_held_as_story():
    """A pilot's cue that one sibling plays in two halves, one before its intro and one after it: the median of its
    two offsets would land the cue on that intro; each second lands where it repeats, and none does
    (data/seg-val7 The Hollow Market E01, a looped score cue marked as the pilot's intro)."""
    rng = np.random.default_rng(5)
    theme, first_half, second_half = codes(rng, 15), codes(rng, 10), codes(rng, 10)
    pilot = episode(rng, first_half, 100.0, (second_half, 110.0))
    twice = episode(rng, theme, 20.0, (first_half, 5.0), (second_half, 50.0))
    siblings = [twice, episode(rng, theme, 0.0), episode(rng, theme, 40.0)]
    repetition = repetition_scores(pilot, siblings)
    ((j, median_s),) = repetition.sharing(100, 120)
    assert j == 0 and 20.0 < 110.0 + median_s < 35.0  # the median offset puts the cue's middle on the intro
    assert held_as_story(Intro(100.0, 120.0, 0.5), pilot, siblings, repetition, SeasonRuleParams())
    assert locate_repeated_intro(np.full(N_SECONDS, 0.9), pilot, siblings, repetition, SeasonRuleParams()) is None


def support_for(start_s: float, end_s: float, n: int, level: float = 1.0) -> np.ndarray:
    """Per-second share of each second inside [start_s, end_s), times level."""
    k = np.arange(n)
    return level * np.clip(np.minimum(k + 1, end_s) - np.maximum(k, start_s), 0, 1)


def test_trim_cuts_what_only_one_sibling_of_the_core_repeats():
    support = support_for(20, 60, 200, level=0.4)
    support[60:64] = 0.2  # one of two siblings goes on sharing the next scene's first seconds
    support[16:20] = 0.2
    assert trim_to_core(support, 16, 64) == (20, 60)
    assert trim_to_core(support_for(20, 60, 200), 20, 60) == (20, 60)


def test_repeated_segment_is_the_intro_when_siblings_exist():
    support = support_for(30.4, 75.2, 200, level=0.8)
    support[120:126] = 0.9  # a repeated sting: too short to be an intro
    intro = find_repeated_intro(np.full(200, 0.2), support)
    assert intro is not None and (intro.start_s, intro.end_s) == (30.0, 75.0)  # 75 is a fifth shared: trimmed


def test_network_chooses_between_repeated_segments():
    support = support_for(10, 30, 200) + support_for(100, 121, 200)  # a recap clip and the intro
    net = net_scores(200, (100, 121, 0.9))
    intro = find_repeated_intro(net, support)
    assert intro is not None and intro.start_s == 100.0


def test_nothing_repeats_means_no_intro_even_if_the_network_says_so():
    assert find_repeated_intro(net_scores(200, (10, 40, 0.99)), np.zeros(200)) is None


def unshared_season(own_s: float = 20.0):
    """A target that opens with `own_s` seconds nobody else has (the old title sequence), its three siblings all
    with the same 20 s theme."""
    rng = np.random.default_rng(11)
    theme = codes(rng, 20)
    target = episode(rng, codes(rng, own_s), 0.0)
    siblings = [episode(rng, theme, at) for at in (0.0, 5.0, 30.0)]
    return target, siblings, repetition_scores(target, siblings)


def test_an_opening_no_sibling_shares_is_the_networks_when_it_is_sure():
    target, siblings, repetition = unshared_season()
    params = SeasonRuleParams()
    assert locate_repeated_intro(net_scores(N_SECONDS, (0, 20, 0.95)), target, siblings, repetition, params) is None
    sure = Intro(0.0, 20.0, 0.95)
    assert network_only_intro(sure, target, siblings, params) == sure
    assert network_only_intro(Intro(0.0, 20.0, 0.6), target, siblings, params) is None  # not sure
    assert network_only_intro(None, target, siblings, params) is None


def test_a_sure_interval_far_longer_than_the_siblings_intros_is_not_taken():
    # The other recipe's cold open, scored as intro from its first second (issue 25): 150 s against 20 s intros.
    target, siblings, _ = unshared_season(own_s=150.0)
    assert network_only_intro(Intro(0.0, 150.0, 0.98), target, siblings, SeasonRuleParams()) is None


def test_a_season_without_intros_gets_none_from_the_network_alone():
    rng = np.random.default_rng(12)
    target = episode(rng, codes(rng, 20), 0.0)
    siblings = [episode(rng, codes(rng, 20), 0.0) for _ in range(3)]  # nothing shared: no intro of their own
    assert network_only_intro(Intro(0.0, 20.0, 0.95), target, siblings, SeasonRuleParams()) is None


def test_a_run_longer_than_an_intro_can_be_is_never_the_intro():
    # A copy of the episode or a rerun repeats everything: no marker rather than a skip over the story.
    assert find_repeated_intro(np.full(1000, 0.9), support_for(0, 1000, 1000)) is None
    too_long = support_for(200, 200 + MAX_INTRO_S + 20, 1000)
    assert find_repeated_intro(net_scores(1000, (200, 400, 0.9)), too_long) is None
    # Beside a run that is too long, the intro still wins, whatever the network says of the long run.
    intro = find_repeated_intro(net_scores(1000, (200, 400, 0.99)), too_long + support_for(20, 60, 1000))
    assert intro is not None and (intro.start_s, intro.end_s) == (20.0, 60.0)


def net_scores(n: int, *spans: tuple[int, int, float]) -> np.ndarray:
    """Network probabilities: 0.05, and `v` over each span [a, b)."""
    s = np.full(n, 0.05)
    for a, b, v in spans:
        s[a:b] = v
    return s


def test_a_pilot_scene_that_recaps_quote_is_not_the_pilots_intro():
    # Two openings (data/seg-tune, The Stone Frontier): E01 and E02 open with A, E03-E05 with B, and the recaps of
    # E03 and E04 quote a scene of E01's story. Asked where its own intro is, E01 answered with the quoted scene
    # (shared by two siblings, against one for A), so E02's opening A was "the pilot's story" and E02 got no intro.
    # The pilot's answer is now itself put to its siblings, who hold that scene as story (it comes before their B).
    rng = np.random.default_rng(11)
    opening_a, opening_b, scene = codes(rng, 22.0), codes(rng, 20.0), codes(rng, 10.0)
    pilot = episode(rng, opening_a, 0.0, (scene, 70.0))
    target = episode(rng, opening_a, 0.0)
    siblings = [
        pilot,
        episode(rng, scene, 0.0, (opening_b, 10.0)),
        episode(rng, scene, 0.0, (opening_b, 15.0)),
        episode(rng, opening_b, 12.0),
    ]
    repetition = repetition_scores(target, siblings)
    scores = np.full(N_SECONDS, 0.2)
    intro = locate_repeated_intro(scores, target, siblings, repetition, SeasonRuleParams())
    assert intro is not None and (intro.start_s, intro.end_s) == (0.0, 22.0)
    # The quoted scene itself stays the siblings' story when it is the candidate.
    quoted = Intro(70.0, 80.0, 0.5)
    pilot_repetition = repetition_scores(pilot, [target, *siblings[1:]])
    assert held_as_story(quoted, pilot, [target, *siblings[1:]], pilot_repetition, SeasonRuleParams())


def test_a_siblings_own_intro_that_the_target_hears_as_story_does_not_outvote_its_opening():
    # Two openings and a score cue (data/seg-val3, The Hollow Empire): E01 and E02 open with A, E03 (the target)
    # and E04 with B, and E03, E04 and the special E05 share a cue in their story. From repetition alone E04's own
    # intro is the cue (two siblings share it, one shares B), so it held E03's opening B as story, and E03 got the
    # cue. E03's network scores B as intro and the cue as story: E04's answer is then its best run besides the cue.
    rng = np.random.default_rng(5)
    opening_a, opening_b, cue = codes(rng, 22.0), codes(rng, 19.0), codes(rng, 10.0)
    target = episode(rng, opening_b, 8.0, (cue, 117.0))
    siblings = [
        episode(rng, opening_a, 0.0),
        episode(rng, opening_a, 0.0),
        episode(rng, opening_b, 7.0, (cue, 99.0)),
        episode(rng, cue, 54.0),
    ]
    repetition = repetition_scores(target, siblings)
    params = SeasonRuleParams()
    scores = net_scores(N_SECONDS, (8, 27, 0.85))
    opening = Intro(8.0, 27.0, 0.5)
    assert held_as_story(opening, target, siblings, repetition, params)  # from repetition alone
    assert not held_as_story(opening, target, siblings, repetition, params, scores=scores)
    intro = locate_repeated_intro(scores, target, siblings, repetition, params)
    assert intro is not None and abs(intro.start_s - 8.0) <= 1 and abs(intro.end_s - 27.0) <= 1
    # The sound alone cannot be sure of the cue: the scores decide.
    assert decided_by_sound(target, siblings, repetition, params) == (False, None)
    # A network that hears the cue as much an intro as B changes nothing: B stays the sibling's story.
    level = net_scores(N_SECONDS, (8, 27, 0.85), (117, 127, 0.85))
    assert held_as_story(opening, target, siblings, repetition, params, scores=level)


def test_a_scene_the_rule_takes_that_the_network_hears_as_story_yields_to_the_opening_it_is_sure_of():
    # The other opening, kept by one episode (data/proc-late-tune, The Bright Canyon E03): nobody shares the
    # target's opening (0-20 s), two scenes are each shared with one sibling whose only shared sound they are (so
    # each is that sibling's "own intro" and not held as story), and the rule takes one of them. The network scores
    # both scenes as story and the opening as intro: the opening.
    rng = np.random.default_rng(3)
    theme, scene_1, scene_2 = codes(rng, 20.0), codes(rng, 15.0), codes(rng, 15.0)
    target = episode(rng, codes(rng, 20.0), 0.0, (scene_1, 60.0), (scene_2, 120.0))
    siblings = [
        episode(rng, scene_1, 40.0),
        episode(rng, scene_2, 90.0),
        episode(rng, theme, 0.0),
        episode(rng, theme, 10.0),
    ]
    repetition = repetition_scores(target, siblings)
    params = SeasonRuleParams()
    assert decided_by_sound(target, siblings, repetition, params) == (False, None)  # the scores rank the scenes
    scores = net_scores(N_SECONDS, (0, 20, 0.95))
    taken = locate_repeated_intro(scores, target, siblings, repetition, params)
    assert taken is not None and taken.start_s >= 59.0, taken
    sure = Intro(0.0, 20.0, 0.95)
    assert network_outvotes(taken, scores, sure, target, siblings, repetition, params) == sure
    # Heard as an intro (not story), or the network not sure elsewhere: the rule's answer stays.
    heard = net_scores(N_SECONDS, (0, 20, 0.95), (int(taken.start_s), int(taken.end_s), 0.5))
    assert network_outvotes(taken, heard, sure, target, siblings, repetition, params) is None
    assert network_outvotes(taken, scores, Intro(0.0, 20.0, 0.6), target, siblings, repetition, params) is None


def test_where_the_sound_decides_the_network_does_not_outvote():
    # One scene shared with one sibling and nothing else: the sound is sure of it (the cascade would not run the
    # network), so the network's interval does not replace it on any path.
    rng = np.random.default_rng(4)
    scene = codes(rng, 15.0)
    target = episode(rng, codes(rng, 20.0), 0.0, (scene, 60.0))
    siblings = [episode(rng, scene, 40.0), episode(rng, codes(rng, 20.0), 0.0), episode(rng, codes(rng, 20.0), 5.0)]
    repetition = repetition_scores(target, siblings)
    params = SeasonRuleParams()
    certain, intro = decided_by_sound(target, siblings, repetition, params)
    assert certain and intro is not None
    scores = net_scores(N_SECONDS, (0, 20, 0.95))
    assert network_outvotes(intro, scores, Intro(0.0, 20.0, 0.95), target, siblings, repetition, params) is None

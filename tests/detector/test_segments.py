"""Recap, credits and preview from hand-made fingerprints of a season: what each episode quotes, what the season
shares at its ends, and what only looks like them (a theme reprise, story quoted by *another* episode's recap)."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np
import pytest

from detector import landmarks, segments
from detector.fingerprint import FP_STEP_S, Fingerprints
from detector.result import Intro, Segment
from detector.segments import find_segments

CODES_PER_S = round(1 / FP_STEP_S)
INTRO = (60.0, 100.0)  # every episode's intro, after a 60 s recap + cold open
CREDITS_S = 60


def _flip(codes: np.ndarray, rng: np.random.Generator, rate: float = 0.08) -> np.ndarray:
    flips = rng.random((len(codes), 32)) < rate
    mask = (flips.astype(np.uint64) << np.arange(32, dtype=np.uint64)).sum(axis=1, dtype=np.uint64)
    return codes ^ mask.astype(np.uint32)


@dataclass
class Episode:
    length_s: int
    sound: np.ndarray  # the whole file's codes
    truth: dict[str, tuple[float, float]] = field(default_factory=dict)
    final: bool = True

    def put(self, at_s: float, codes: np.ndarray, rng: np.random.Generator, flips: float = 0.08) -> None:
        at = round(at_s * CODES_PER_S)
        self.sound[at : at + len(codes)] = _flip(codes, rng, flips)

    def fingerprints(self, with_rest: bool = True) -> Fingerprints:
        half = self.length_s // 2 * CODES_PER_S
        rest = self.sound[half:] if with_rest else np.zeros(0, np.uint32)
        picture = np.zeros(self.length_s // 2, np.uint64)  # decoded from the sound alone: no picture evidence
        return Fingerprints(self.sound[:half], picture, rest_audio=rest, rest_start_s=self.length_s // 2)


class Season:
    """Episode k: [recap: 3 clips of episode k-1's story][cold open][intro][story][credits][tail], the tail being a
    preview (3 clips of episode k+1's story), a post-credits scene, or nothing (final credits)."""

    def __init__(self, n: int = 5, seed: int = 0, tails: tuple[str, ...] = ("preview", "scene", "none")) -> None:
        self.rng = np.random.default_rng(seed)
        intro, credits = self.codes(INTRO[1] - INTRO[0]), self.codes(CREDITS_S)
        self.episodes = []
        for k in range(n):
            length = int(self.rng.integers(560, 700))
            ep = Episode(length, self.codes(length))
            ep.put(INTRO[0], intro, self.rng)
            ep.truth["credits"] = (length - CREDITS_S - 30.0, length - 30.0)
            tail = tails[k % len(tails)]
            if tail == "none":  # the credits are the last thing
                ep.truth["credits"] = (length - CREDITS_S, float(length))
            ep.put(ep.truth["credits"][0], credits, self.rng)
            ep.final = tail == "none"
            self.episodes.append((ep, tail))
        for k, (ep, tail) in enumerate(self.episodes):
            if k > 0:
                self.quote(ep, 0.0, self.episodes[k - 1][0])
                ep.truth["recap"] = (0.0, 30.0)
            if tail == "preview" and k + 1 < n:
                self.quote(ep, ep.length_s - 30.0, self.episodes[k + 1][0])
                ep.truth["preview"] = (ep.length_s - 30.0, float(ep.length_s))

    def codes(self, seconds: float) -> np.ndarray:
        return self.rng.integers(1, 2**32, round(seconds * CODES_PER_S), dtype=np.uint32)

    def own_ending(self, ep: Episode) -> None:
        """Everything from `ep`'s credits on replaced by sound of its own: no credits, nothing the season shares."""
        start_s = ep.truth["credits"][0]
        a = round(start_s * CODES_PER_S)
        ep.sound[a:] = self.codes(ep.length_s - start_s)[: len(ep.sound) - a]

    def quote(self, ep: Episode, at_s: float, source: Episode) -> None:
        """Three 10 s clips of `source`'s story (between its intro and its credits) at at_s."""
        for i, from_s in enumerate(self.rng.uniform(120, source.length_s - 200, 3)):
            a = round(from_s * CODES_PER_S)
            ep.put(at_s + 10 * i, source.sound[a : a + 10 * CODES_PER_S].copy(), self.rng)

    def segments(self, k: int, with_rest: bool = True, ordered: bool = False) -> dict[str, Segment]:
        """ordered: the fingerprints say where each episode sits (S01E01, ...), as the names give it."""

        def place(j: int, fingerprints: Fingerprints) -> Fingerprints:
            return replace(fingerprints, episode=(1, j + 1)) if ordered else fingerprints

        ep = self.episodes[k][0]
        siblings = [place(j, e.fingerprints(with_rest)) for j, (e, _) in enumerate(self.episodes) if j != k]
        found = find_segments(place(k, ep.fingerprints()), siblings, Intro(*INTRO, 1.0), float(ep.length_s))
        assert len({s.kind for s in found}) == len(found), "at most one of each kind"
        return {s.kind: s for s in found}


@pytest.mark.parametrize("seed", [0, 1])
def test_every_episode_gets_its_recap_credits_and_preview(seed: int) -> None:
    season = Season(seed=seed)
    for k, (ep, tail) in enumerate(season.episodes):
        found = season.segments(k)
        assert set(found) == set(ep.truth), (k, tail, found)
        for kind, (start_s, end_s) in ep.truth.items():
            assert abs(found[kind].start_s - start_s) <= 2.0, (k, kind, found[kind])
            assert abs(found[kind].end_s - end_s) <= 2.0, (k, kind, found[kind])
        assert found["credits"].final == ep.final, (k, tail)
        # The quoted kinds never reach into the intro, nor the credits into the preview.
        assert all(s.end_s <= INTRO[0] for s in found.values() if s.kind == "recap")
        if "preview" in found:
            assert found["credits"].end_s <= found["preview"].start_s


@pytest.mark.parametrize("fraction_s", [0.3, 0.7])
def test_the_credits_start_to_a_tenth_of_a_second(fraction_s: float) -> None:
    """Credits starting between two seconds: the rules find the run in whole seconds (a second counts when half of
    it repeats, so it starts up to a second off), and the codes place its start within a tenth or two. Each copy
    differs from the music in 3 % of its bits (two encodes of the same sound: 0-10 % apart, detector.boundaries)."""
    season = Season(tails=("scene", "none"))
    for ep, _ in season.episodes:
        start_s, end_s = ep.truth["credits"]
        ep.sound[round(start_s * CODES_PER_S) : round(end_s * CODES_PER_S)] = season.codes(end_s - start_s)
        ep.truth["credits"] = (start_s + fraction_s, end_s)
    credits = season.codes(CREDITS_S - 1)
    for ep, _ in season.episodes:
        ep.put(ep.truth["credits"][0], credits, season.rng, flips=0.03)
    for k, (ep, _) in enumerate(season.episodes):
        found = season.segments(k)["credits"]
        assert abs(found.start_s - ep.truth["credits"][0]) <= 0.2, (k, found, ep.truth["credits"])


def test_story_quoted_by_another_episode_is_not_this_episodes_recap_or_preview() -> None:
    # Episode 0 has no recap; its story is quoted by episode 1's recap and by nothing else before its own intro.
    season = Season(tails=("scene",))
    found = season.segments(0)
    assert "recap" not in found and "preview" not in found
    assert set(found) == {"credits"}


def test_with_the_order_a_recap_quoting_the_last_episodes_cold_open_is_found() -> None:
    # Episode 3's recap quotes episode 2's cold open (before its intro), its second half then its first (a recap
    # cuts between scenes: one 30 s stretch would be a scene both have, segments.MAX_RECAP_CLIP_S). Without the
    # order that is what a later episode's recap quoting this one looks like, so it is not taken; with it, it is.
    season = Season(tails=("scene",))
    ep, source = season.episodes[3][0], season.episodes[2][0]
    cold_open = source.sound[round(30 * CODES_PER_S) : round(INTRO[0] * CODES_PER_S)].copy()
    ep.sound[: 30 * CODES_PER_S] = season.codes(30)  # the recap: only the cold open quoted
    half = 15 * CODES_PER_S
    ep.put(0.0, cold_open[half:], season.rng)
    ep.put(15.0, cold_open[:half], season.rng)
    assert "recap" not in season.segments(3)
    recap = season.segments(3, ordered=True)["recap"]
    assert abs(recap.start_s - 0.0) <= 2.0 and abs(recap.end_s - 30.0) <= 2.0, recap


def test_with_the_order_story_of_an_earlier_episode_is_no_preview_and_later_story_no_recap() -> None:
    # The season's last episode ends on clips of the first's story (a flashback montage after the credits): a
    # preview by its place, but a preview is of the next episode, and there is none. Episode 1's recap quotes
    # episode 0, before it: not the recap of episode 0, whatever the order says.
    season = Season(n=4, tails=("scene",))
    last = season.episodes[3][0]
    season.quote(last, last.length_s - 30.0, season.episodes[0][0])
    assert "preview" in season.segments(3)
    assert "preview" not in season.segments(3, ordered=True)
    assert "recap" not in season.segments(0, ordered=True)
    assert "recap" in season.segments(1, ordered=True)


def test_an_episode_without_an_intro_gets_its_recap() -> None:
    # Episode 2 drops the title sequence: "previously on" (0-30 s), then its story. The recap ends where the quotes
    # stop; episode 0 (nothing before it to quote) gets none.
    season = Season(tails=("scene",))
    ep = season.episodes[2][0]
    a, b = round(INTRO[0] * CODES_PER_S), round(INTRO[1] * CODES_PER_S)
    ep.sound[a:b] = season.codes(INTRO[1] - INTRO[0])
    siblings = [e.fingerprints() for j, (e, _) in enumerate(season.episodes) if j != 2]
    found = {s.kind: s for s in find_segments(ep.fingerprints(), siblings, None, float(ep.length_s))}
    assert abs(found["recap"].start_s - 0.0) <= 2.0 and abs(found["recap"].end_s - 30.0) <= 2.0, found
    first = season.episodes[0][0]
    others = [e.fingerprints() for e, _ in season.episodes[1:]]
    assert "recap" not in {s.kind for s in find_segments(first.fingerprints(), others, None, float(first.length_s))}


def _short_recap(intro_s: float) -> dict[str, Segment]:
    """Episode 2 opens on two 2 s clips of episode 1's story (at 0 and 2.5 s), then its intro at intro_s."""
    season = Season(tails=("scene",))
    ep, source = season.episodes[2][0], season.episodes[1][0]
    ep.sound[: round(100 * CODES_PER_S)] = season.codes(100)
    theme = season.episodes[0][0].sound[round(INTRO[0] * CODES_PER_S) : round(INTRO[1] * CODES_PER_S)]
    ep.put(intro_s, theme.copy(), season.rng)
    for at_s, from_s in ((0.0, 150.0), (2.5, 250.0)):
        a = round(from_s * CODES_PER_S)
        ep.put(at_s, source.sound[a : a + 2 * CODES_PER_S].copy(), season.rng)
    siblings = [e.fingerprints() for j, (e, _) in enumerate(season.episodes) if j != 2]
    intro = Intro(intro_s, intro_s + INTRO[1] - INTRO[0], 1.0)
    return {s.kind: s for s in find_segments(ep.fingerprints(), siblings, intro, float(ep.length_s))}


def test_a_short_recap_right_before_the_intro_is_found_and_the_same_quotes_before_a_cold_open_are_not() -> None:
    # Three seconds of quotes: enough where they open the episode and run into the intro ("previously on"), not
    # where a cold open follows them.
    recap = _short_recap(5.5).get("recap")
    assert recap is not None and (recap.start_s, recap.end_s) == (0.0, 5.5)
    assert "recap" not in _short_recap(30.0)


def test_a_theme_reprise_over_the_last_scene_is_not_the_credits() -> None:
    season = Season(tails=("scene",))
    ep = season.episodes[2][0]
    intro = season.episodes[0][0].sound[round(INTRO[0] * CODES_PER_S) : round(INTRO[1] * CODES_PER_S)]
    ep.put(ep.truth["credits"][0] - 45.0, intro[: 30 * CODES_PER_S].copy(), season.rng)
    found = season.segments(2)
    assert abs(found["credits"].start_s - ep.truth["credits"][0]) <= 2.0, found["credits"]


def test_nothing_without_the_siblings_end_or_without_siblings() -> None:
    season = Season()
    assert season.segments(1, with_rest=False) == {}
    ep = season.episodes[1][0]
    assert find_segments(ep.fingerprints(), [], Intro(*INTRO, 1.0), float(ep.length_s)) == ()


def test_no_credits_when_the_season_shares_nothing_at_its_end() -> None:
    season = Season(tails=("scene",))
    for ep, _ in season.episodes:  # every ending made the episode's own
        season.own_ending(ep)
    found = season.segments(2)
    assert "credits" not in found and "preview" not in found
    assert "recap" in found


@pytest.mark.parametrize("similarity", [0.6, 0.0])
def test_the_credits_music_under_the_last_scenes_dialogue_is_not_the_credits(
    similarity: float, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Episode 2 has no credits: its last scene plays the season's credits music under its dialogue (15 % of the
    # bits flipped where a copy has 8 %), which every sibling repeats at its end. With the rule off (0.0), that is
    # taken for the credits.
    monkeypatch.setattr(segments, "CREDITS_SIMILARITY", similarity)
    season = Season(tails=("scene",))
    ep = season.episodes[2][0]
    start_s = ep.truth["credits"][0]
    a = round(start_s * CODES_PER_S)
    credits_music = ep.sound[a : a + 40 * CODES_PER_S].copy()
    season.own_ending(ep)
    ep.put(start_s, credits_music, season.rng, flips=0.15)
    assert ("credits" in season.segments(2)) == (similarity == 0.0)
    assert "credits" in season.segments(1) and "credits" in season.segments(3)


def test_a_score_cue_some_episodes_share_before_the_credits_is_not_the_credits() -> None:
    # A montage cue that two episodes also use at their end: right before the credits (one run with them but at
    # other offsets) in episode 2, 40 s before them in episode 3; shared by fewer siblings than the credits.
    season = Season(tails=("scene",))
    cue = season.codes(30)
    for k, before_s in ((1, 60.0), (2, 30.0), (3, 70.0)):
        ep = season.episodes[k][0]
        ep.put(ep.truth["credits"][0] - before_s, cue.copy(), season.rng)
    for k in (2, 3):
        ep = season.episodes[k][0]
        assert abs(season.segments(k)["credits"].start_s - ep.truth["credits"][0]) <= 2.0, (k, season.segments(k))


def test_score_some_episodes_play_right_before_their_credits_does_not_start_them_early() -> None:
    # Episodes 1-3 end their story on the same 15 s of score, each right before its credits (so at the credits'
    # own offsets): episode 3 plays it as episode 2 does, episode 1 under other lines (less closely). Half the
    # siblings share it, one closely: the credits are what all of them repeat closely.
    season = Season(tails=("scene",))
    cue = season.codes(15)
    for k, flips in ((1, 0.15), (2, 0.08), (3, 0.08)):
        ep = season.episodes[k][0]
        ep.put(ep.truth["credits"][0] - 15.0, cue.copy(), season.rng, flips=flips)
    ep = season.episodes[2][0]
    assert abs(season.segments(2)["credits"].start_s - ep.truth["credits"][0]) <= 1.0, season.segments(2)


def test_a_montage_most_episodes_play_well_before_their_credits_is_no_credits_where_none_follow() -> None:
    # Episode 2 has no credits; its ending is a 40 s montage cue that three of its four siblings play 100 s before
    # their own credits (sure support, but with two minutes of their episode after it).
    season = Season(tails=("scene",))
    cue = season.codes(40)
    target = season.episodes[2][0]
    season.own_ending(target)
    target.put(target.length_s - 60.0, cue.copy(), season.rng)
    for k in (0, 1, 3):
        ep = season.episodes[k][0]
        ep.put(ep.truth["credits"][0] - 100.0, cue.copy(), season.rng)
    assert "credits" not in season.segments(2), season.segments(2)
    assert all("credits" in season.segments(k) for k in (0, 1, 3))


def test_credits_music_built_on_a_loop_stays_one_run() -> None:
    season = Season(tails=("scene",))
    bar = season.codes(6)
    loop = np.concatenate([bar] * 10)  # 60 s: the same 6 s bar, matched one bar apart too
    for ep, _ in season.episodes:
        ep.put(ep.truth["credits"][0], loop.copy(), season.rng)
    for k, (ep, _) in enumerate(season.episodes):
        credits = season.segments(k)["credits"]
        assert (
            abs(credits.start_s - ep.truth["credits"][0]) <= 2.0 and abs(credits.end_s - ep.truth["credits"][1]) <= 2.0
        )


def test_story_another_episode_has_is_a_preview_only_where_previews_are() -> None:
    # Episode 2 without credits (its ending its own), and clips of episode 3's story 150 s before its end, story
    # after them (a flashback, a scene both use): not a preview. The same clips closing the episode are one.
    # (Episode 3 the season's last: no later recap quotes its story too, see segments._quoted.)
    season = Season(n=4, tails=("scene",))
    ep = season.episodes[2][0]
    season.own_ending(ep)
    season.quote(ep, ep.length_s - 150.0, season.episodes[3][0])
    assert "preview" not in season.segments(2)
    season.quote(ep, ep.length_s - 30.0, season.episodes[3][0])
    preview = season.segments(2)["preview"]
    assert abs(preview.start_s - (ep.length_s - 30.0)) <= 2.0 and preview.end_s == ep.length_s


def test_a_preview_right_before_the_credits_ends_where_they_start() -> None:
    # Three clips of episode 3's story, then 3 s that nothing quotes (a last clip the matchers miss), then the
    # credits: the preview runs to them, as one after the credits runs to the end of the file.
    season = Season(n=4, tails=("scene",))
    ep = season.episodes[2][0]
    credits_s = ep.truth["credits"][0]
    season.quote(ep, credits_s - 33.0, season.episodes[3][0])
    found = season.segments(2)
    assert abs(found["preview"].start_s - (credits_s - 33.0)) <= 2.0, found
    assert found["preview"].end_s == found["credits"].start_s, found
    assert abs(found["credits"].start_s - credits_s) <= 0.5, found


def _random_peaks(length_s: int, rng: np.random.Generator) -> np.ndarray:
    """~13 spectral peaks a second at random times and bins (detector.landmarks' packing)."""
    n = round(13 * length_s)
    frames = np.sort(rng.integers(0, round(length_s / landmarks.FRAME_S), n))
    bins = rng.integers(10, 128, n)
    return ((frames << 9) | bins).astype(np.uint32)


def _peaks_copied(target: np.ndarray, at_s: float, source: np.ndarray, from_s: float, length_s: float) -> np.ndarray:
    """`target` with its peaks over [at_s, at_s + length_s) replaced by `source`'s from from_s."""
    t_frames, _ = landmarks.unpack(target)
    s_frames, s_bins = landmarks.unpack(source)
    a, b = round(at_s / landmarks.FRAME_S), round((at_s + length_s) / landmarks.FRAME_S)
    shift = a - round(from_s / landmarks.FRAME_S)
    taken = (s_frames >= a - shift) & (s_frames < b - shift)
    copied = ((s_frames[taken] + shift) << 9) | s_bins[taken]
    kept = target[(t_frames < a) | (t_frames >= b)]
    return np.sort(np.concatenate([kept, copied.astype(np.uint32)]))


def test_a_recap_of_clips_too_short_for_the_codes_is_found_by_its_peaks() -> None:
    """Ten 3 s clips of the previous episode's story: their codes differ from the source's (a clip's codes see
    ~3 s around it), their spectral peaks do not."""
    season = Season(tails=("scene",))
    episodes = [ep for ep, _ in season.episodes]
    peaks = [_random_peaks(ep.length_s, season.rng) for ep in episodes]
    target, source = episodes[2], episodes[1]
    target.sound[: 30 * CODES_PER_S] = season.codes(30)  # what the codes see: nothing in common
    for i, from_s in enumerate(season.rng.uniform(120, source.length_s - 200, 10)):
        peaks[2] = _peaks_copied(peaks[2], 3.0 * i, peaks[1], float(from_s), 3.0)
    intro = Intro(*INTRO, 1.0)

    def recap(with_peaks: bool) -> Segment | None:
        prints = [
            replace(ep.fingerprints(), peaks=p if with_peaks else p[:0]) for ep, p in zip(episodes, peaks, strict=True)
        ]
        found = find_segments(prints[2], prints[:2] + prints[3:], intro, float(target.length_s))
        return next((s for s in found if s.kind == "recap"), None)

    assert recap(with_peaks=False) is None
    found = recap(with_peaks=True)
    assert found is not None and abs(found.start_s - 0.0) <= 2.0 and abs(found.end_s - 30.0) <= 2.0, found


def test_the_sound_between_the_opening_and_the_ending_is_not_needed(monkeypatch: pytest.MonkeyPatch) -> None:
    # The rules read the opening and the ending only; the target's middle is left out of the matching, and what
    # they find is the same as with the whole sound matched.
    season = Season(n=4)
    ep = season.episodes[1][0]
    start, end = segments._unread(ep.fingerprints(), Intro(*INTRO, 1.0), float(ep.length_s))
    assert start == INTRO[1] + segments.OPENING_READ_S and end > start
    read = {k: season.segments(k) for k in range(4)}
    assert "recap" in read[1] and "credits" in read[1]
    monkeypatch.setattr(segments, "OPENING_READ_S", 1e9)  # all of it matched
    assert {k: season.segments(k) for k in range(4)} == read


@pytest.mark.parametrize("max_after_s", [30.0, 1e9])
def test_a_score_cue_half_the_siblings_play_before_more_story_is_not_the_credits(
    max_after_s: float, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Episode 2 has no credits and ends on a 30 s montage cue that episodes 1 and 3 play 120 s before their end,
    # their story and credits after it: shared by half of the siblings, at their ending, at one offset each. With
    # the rule off (1e9 s), that is taken for the credits.
    monkeypatch.setattr(segments, "MAX_AFTER_CREDITS_S", max_after_s)
    season = Season(tails=("scene",))
    ep = season.episodes[2][0]
    season.own_ending(ep)
    cue = season.codes(30)
    ep.put(ep.length_s - 30.0, cue.copy(), season.rng)
    for k in (1, 3):
        sibling = season.episodes[k][0]
        sibling.put(sibling.length_s - 150.0, cue.copy(), season.rng)
    assert ("credits" in season.segments(2)) == (max_after_s > 1e6)


def test_credits_half_the_season_has_are_found_when_they_close_it() -> None:
    # Credits in episodes 0, 2 and 4 only (the others end on story of their own): episode 2's are shared by half of
    # its siblings, with 30 s or less after them there.
    season = Season(tails=("none", "scene", "none"))
    for k in (1, 3):
        season.own_ending(season.episodes[k][0])
    credits = season.segments(2)["credits"]
    assert abs(credits.start_s - season.episodes[2][0].truth["credits"][0]) <= 2.0, credits


def test_a_sibling_that_plays_the_theme_only_in_its_credits_has_its_story_from_its_start() -> None:
    # Episode 2 has no intro, and its credits end on the show's theme: the intro of episode 1 is repeated there,
    # in its ending. That is not where its story starts, so episode 1's preview of it is still found.
    season = Season(n=4, tails=("preview",))
    ep = season.episodes[2][0]
    a, b = round(INTRO[0] * CODES_PER_S), round(INTRO[1] * CODES_PER_S)
    theme = ep.sound[a:b].copy()
    ep.sound[a:b] = season.codes(INTRO[1] - INTRO[0])
    ep.put(ep.truth["credits"][1] - len(theme) / CODES_PER_S, theme, season.rng)
    preview = season.segments(1)["preview"]
    truth = season.episodes[1][0].truth["preview"]
    assert abs(preview.start_s - truth[0]) <= 2.0 and abs(preview.end_s - truth[1]) <= 2.0, preview


def _preview_before_the_credits(season: Season) -> tuple[Episode, float]:
    """Episode 2 of 4 with three 10 s clips of episode 3's story right before its credits; (it, their start)."""
    ep = season.episodes[2][0]
    start_s = ep.truth["credits"][0] - 30.0
    season.quote(ep, start_s, season.episodes[3][0])
    return ep, start_s


def _copy(season: Season, into: Episode, at_s: float, source: Episode, from_s: float, seconds: float, keep: int = 10):
    """source's codes [from_s, from_s + seconds) into `into` at at_s, `keep` of each second's ten codes (the rest
    its own): keep 10 a close copy, 6 the season's score under other lines (repeated at a similarity ~0.5)."""
    a, n = round(from_s * CODES_PER_S), round(seconds * CODES_PER_S)
    codes = into.sound[round(at_s * CODES_PER_S) :][:n].copy()
    kept = np.arange(n) % CODES_PER_S < keep
    codes[kept] = _flip(source.sound[a : a + n][kept], season.rng)
    into.sound[round(at_s * CODES_PER_S) :][:n] = codes


def test_a_clip_another_sibling_repeats_loosely_stays_in_the_preview() -> None:
    # The preview's middle clip is also in episode 1's story with 4 of each second's 10 codes its own (the score
    # under other lines): repeated by 2 of 3 siblings, but far more closely by the episode it is quoted from.
    season = Season(n=4, tails=("scene",))
    ep, start_s = _preview_before_the_credits(season)
    _copy(season, season.episodes[1][0], 200.0, ep, start_s + 10.0, 10.0, keep=6)
    found = season.segments(2)
    preview = found["preview"]
    assert abs(preview.start_s - start_s) <= 2.0 and preview.end_s == found["credits"].start_s, found


@pytest.mark.parametrize(("shared_s", "whole"), [(5.0, True), (8.0, False)])
def test_seconds_of_a_preview_the_season_shares_bridge_its_clips_for_a_few_seconds(
    shared_s: float, whole: bool
) -> None:
    # shared_s of the preview's middle clip are also in episodes 0 and 1, closely (a cue the season plays): they
    # are no quote (every sibling repeats them) but, heard in the next episode's story, do not cut the preview in
    # two; a gap longer than MAX_BRIDGED_GAP_S does (story sharing the season's sound with the next episode).
    season = Season(n=4, tails=("scene",))
    ep, start_s = _preview_before_the_credits(season)
    for other in (0, 1):
        _copy(season, season.episodes[other][0], 200.0, ep, start_s + 12.0, shared_s)
    found = season.segments(2)
    preview = found["preview"]
    assert preview.end_s == found["credits"].start_s, found
    assert (abs(preview.start_s - start_s) <= 2.0) == whole, found


def test_a_song_every_sibling_plays_loosely_under_its_story_is_no_recap() -> None:
    # Episode 0 (no recap) opens on 15 s of a song that each sibling also plays under a scene of its story, with 3
    # of each second's 10 codes its own: repeated by every sibling about as closely (~0.5-0.65), it is the season's
    # own, although some sibling repeats some seconds closely enough for a quote (data/real-seg-val).
    season = Season(n=5, tails=("scene",))
    ep = season.episodes[0][0]
    for k in range(1, 5):
        _copy(season, season.episodes[k][0], 300.0, ep, 0.0, 15.0, keep=7)
    assert "recap" not in season.segments(0)


def test_a_recap_whose_last_seconds_the_season_shares_runs_to_the_intro() -> None:
    # Episode 2's recap quotes episode 1 from 0 s to the intro (60 s); its last 5 s are also in episodes 0 and 3,
    # as closely (the season's score under the clip): no quote, but heard in episode 1's story up to the intro.
    season = Season(n=4, tails=("scene",))
    ep = season.episodes[2][0]
    season.quote(ep, 30.0, season.episodes[1][0])
    assert season.segments(2)["recap"].end_s == INTRO[0]
    for other in (0, 3):
        _copy(season, season.episodes[other][0], 300.0, ep, INTRO[0] - 5.0, 5.0)
    assert season.segments(2)["recap"].end_s == INTRO[0]


def test_one_long_scene_a_sibling_also_has_is_no_recap() -> None:
    # Episode 2 opens on 30 s that episode 1 has as one stretch of its story (a cold open on the music of one of
    # its scenes): no "previously on", which cuts between scenes; three clips of it, reordered, are one.
    season = Season(n=4, tails=("scene",))
    ep, source = season.episodes[2][0], season.episodes[1][0]
    ep.sound[: 30 * CODES_PER_S] = season.codes(30)
    ep.put(0.0, source.sound[200 * CODES_PER_S : 230 * CODES_PER_S].copy(), season.rng)
    assert "recap" not in season.segments(2)
    for i, from_s in enumerate((220.0, 200.0, 210.0)):
        ep.put(10.0 * i, source.sound[round(from_s * CODES_PER_S) :][: 10 * CODES_PER_S].copy(), season.rng)
    recap = season.segments(2)["recap"]
    assert recap.start_s == 0.0 and abs(recap.end_s - 30.0) <= 2.0, recap


def test_cards_that_lead_into_the_sounds_credits_start_them_and_others_replace_or_leave_them() -> None:
    # Silent credits: the sound found them late (its first seconds are silence no sibling repeats closely).
    heard = Segment("credits", 221.0, 237.1, 0.57, ("repetition", "sound"), True)
    preview = Segment("preview", 150.0, 170.0, 0.5, ("repetition", "quotes"))
    led = segments.with_card([preview, heard], 218.3, 220.2, float("inf"), 237.1)
    assert led is not None and led[0] == preview
    assert (led[1].start_s, led[1].end_s, led[1].final) == (218.3, 237.1, True)
    assert led[1].signals == ("repetition", "sound", "pictures", "card")
    # Cards inside what the sound found, or apart from it before (an act break's text over black), change nothing.
    assert segments.with_card([heard], 224.0, 225.0, float("inf"), 237.1) is None
    assert segments.with_card([heard], 180.0, 182.0, 200.0, 237.1) is None
    # Cards after it replace it: the sound's was a cue some episodes share before their silent credits.
    cue = Segment("credits", 200.0, 212.0, 0.5, ("repetition", "sound"))
    after = segments.with_card([cue], 215.0, 216.0, float("inf"), 237.1)
    assert after is not None and [(s.start_s, s.end_s, s.signals) for s in after] == [(215.0, 237.1, segments.CARD)]
    # Without the sound's: the cards' run, final when it runs to the end.
    alone = segments.with_card([], 180.0, 181.0, 210.0, 240.0)
    assert alone is not None and [(s.start_s, s.end_s, s.final) for s in alone] == [(180.0, 210.0, False)]

"""Recap, credits and preview from the season's repetition of the episode's sound (the intro is found before, by
the season rule or the network, and is an input here).

What each kind is, as the season's sound shows it (read with detector.repetition over the codes of the analysed
span and the ending, `Fingerprints.sound()`, against each sibling's; the middle of a longer episode is not read, so
a clip quoted from there is not seen):
- credits: a run near the end of the episode that most siblings repeat closely near *their* end (the credits
  music), each at one offset; the credits music under the last scene's dialogue repeats less closely. The intro's theme reprised over a final scene repeats too, but at the siblings' intros, so it is
  not credits; a score cue or montage some episodes also use near their end is shared by fewer, or comes before.
- recap ("Previously on"): before the intro, clips that a sibling has as story: after that sibling's intro and
  before its credits. A cold open is story of this episode only; a later episode's recap quoting this episode's
  story matches at that sibling's *start*, so it is not taken for this episode's recap.
- preview ("Next time on"): right before the credits, after their start, or closing the episode, clips that a
  sibling has as story.
- Where the file names give the episodes' order (S01E03; detector.season.episode_number), a recap's clips come
  from earlier episodes only, their cold opens included, and a preview's from the next episode only: a season's
  first episode has no recap, its last no preview.
Both quoted kinds are clips repeated closely by few siblings; seconds most siblings repeat closely (intro, credits)
are never a quote, but inside a recap or a preview they do not cut it in two (the season's score under a clip).
The siblings' intros and credits are placed from the offsets at which they repeat this episode's.

Sound only: a credits card over silence, or credits over footage whose music no sibling shares, is not found here.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np

from detector import boundaries, landmarks
from detector.fingerprint import Fingerprints
from detector.intervals import true_runs
from detector.repetition import AUDIO_MATCH, repetition_scores
from detector.result import ENDING_S, Intro, Segment
from detector.season import places

MIN_CREDITS_S = 8.0  # a shorter shared run near the end is a sting or a cue, not credits
# Credits are the same mix in every episode and repeat as closely as an intro does; the season's credits music
# under a last scene's dialogue repeats too, with a quarter of its bits changed (docs/evaluation.md).
CREDITS_SIMILARITY = 0.6
CREDITS_EDGE_SPAN_S = 30.0  # the credits' first seconds, whose codes place their start (past them: a silent tail)
MIN_QUOTED_S = 4.0  # seconds of quoted clips a recap or a preview needs (a single 2 s match is chance)
# ... and a recap that opens the episode and runs into the intro, where "previously on" is, this many: the codes
# catch 1-2 s of each 2-3 s clip, and a short recap has two or three (data/seg-tune The Stone Frontier E03).
MIN_FRAMED_QUOTED_S = 3.0
# A quoted clip is a copy of the sibling's sound, dialogue and all; a score cue the show uses again under other
# dialogue repeats too, but less closely.
QUOTE_SIMILARITY = 0.6
# A sibling that repeats a second of a quote about as closely as the quoted sibling does (within this) shares it: a
# score cue or a song the season plays under several scenes is repeated alike by all of them, a copied clip best
# by its source.
QUOTE_MARGIN = 0.2
QUOTE_GAP_S = 4.0  # clips of one recap or preview are cut together; a wider gap ends it
# Seconds between quotes that the quoted sibling repeats less closely (a quiet word, another encode), or that most
# siblings share (the season's score under the clip), neither start nor end a recap or a preview, and
# do not count as a gap in one, up to MAX_BRIDGED_GAP_S: past that, story that shares the season's score with the
# next episode joined the preview (data/seg-tune2).
BRIDGE_SIMILARITY = 0.5
MAX_BRIDGED_GAP_S = 6.0
SHARED_GAP_S = 3.0  # gaps of this length inside a run of credits music are closed (a quiet bar, a swap of cue)
# A run of shared sound ends where most siblings go on repeating it at other offsets than before: another piece of
# music begins (a score cue or a montage the season also uses, just before the credits).
OFFSET_JUMP_S = 1.5
# Credits are what the season shares most at its ends: runs shared by clearly fewer siblings than the best (a score
# cue some episodes use) are not taken; among the rest, the last (the credits close the story).
SUPPORT_MARGIN = 0.2
# A run starts where as many siblings repeat it closely as repeat its credits, when that is this many seconds in
# (less: a cue's fade-in).
MIN_STEP_S = 3
# Credits shared by fewer of the siblings than this are checked against the pictures (detector.cards): in a season
# whose credits are silent, a score cue a few episodes end with is all the sound can share.
SURE_CREDITS = 0.75
# What the siblings that share a run of weak credits (support under SURE_CREDITS) have after it, in the median: a
# post-credits scene or a preview is short. A score cue a few episodes share is followed by more of their story.
MAX_AFTER_CREDITS_S = 30.0
# ... and what the siblings that share any run have after it: a post-credits scene and a preview run a minute at
# most; score that most episodes play a minute or two before their credits is not the credits (data/seg-val6, The
# Crimson Harbor E05: a montage without credits after it, 56-119 s before the siblings' ends).
MAX_AFTER_S = 60.0
CARD = ("pictures", "card")  # the signals of credits a run of cards shows
CARD_CONFIDENCE = 0.8
FINAL_TAIL_S = 4.0  # credits whose music ends this close to the end of the file run to its end
EDGE_SNAP_S = 2.0  # a recap ending this close to the intro ends there; a preview this close to the end, at it
# A recap whose quotes start this close to 0 starts at 0: "previously on" opens the episode, and what comes before
# its first match is a clip the matchers missed (a quiet one: 3-4 s late on data/seg-tune) or a logo.
RECAP_START_SNAP_S = 5.0
PREVIEW_TAIL_S = 15.0  # a preview after the credits that ends this close to the end of the file runs to it
# "Previously on" opens the episode (after a logo at most): quotes that start later, before the intro, are a cold
# open that a sibling's preview or recap quotes in turn.
RECAP_LATEST_START_S = 10.0
# "Previously on" cuts between scenes: quotes that are one stretch of one sibling at one offset, this long or
# longer, are a scene both episodes have (a cold open on the music of a sibling's scene, data/real-seg-tune).
MAX_RECAP_CLIP_S = 20
# Where a sibling's story starts when this episode's intro does not place it: this share into it.
STORY_FALLBACK_SHARE = 0.1
SILENT_SHARE = 0.9  # a tail with this share of silent codes holds nothing but credits (a card, or nothing)
# A whole episode's sound has the intro, the credits and every quoted clip at offsets of their own: more candidate
# offsets per sibling than the intro's matching needs.
WHOLE_MATCH = replace(AUDIO_MATCH, max_offsets=48)
# The rules read the episode's opening (its recap, and the intro whose offsets place the siblings' story) and its
# ending; the target's sound between them is not matched (on a 44-minute episode, two thirds of what was read).
OPENING_READ_S = 120.0  # after the intro's end, or the file's start: a recap without an intro runs up to here
READ_MARGIN_S = 10.0  # before the ending: the matcher's windows reach this far


@dataclass(frozen=True, eq=False)
class _Season:
    """The target's sound against its siblings': per sibling, which seconds match and where in the sibling."""

    matched: np.ndarray  # (n_siblings, n_seconds) bool
    at_s: np.ndarray  # (n_siblings, n_seconds): the sibling's time of the match (NaN where none)
    lengths_s: np.ndarray  # (n_siblings,) the siblings' lengths
    similarities: np.ndarray  # (n_siblings, n_seconds) how closely each sibling repeats each second (0..1)

    @property
    def n_seconds(self) -> int:
        return self.matched.shape[1]

    @property
    def similarity(self) -> np.ndarray:
        """(n_seconds,) how closely the best-matching sibling repeats each second (0..1)."""
        return self.similarities.max(axis=0)

    def offsets_over(self, start_s: float, end_s: float) -> np.ndarray:
        """(n_siblings,) the median offset (sibling time - target time) over [start_s, end_s), NaN where the
        sibling does not repeat at least half of it."""
        a, b = int(start_s), max(int(start_s) + 1, int(np.ceil(end_s)))
        offsets = np.full(len(self.matched), np.nan)
        for j in range(len(self.matched)):
            seconds = np.flatnonzero(self.matched[j, a:b]) + a
            if len(seconds) >= 0.5 * (b - a):
                offsets[j] = float(np.median(self.at_s[j, seconds] - seconds))
        return offsets


def find_segments(
    target: Fingerprints, siblings: Sequence[Fingerprints], intro: Intro | None, duration_s: float
) -> tuple[Segment, ...]:
    """The recap, credits and preview of an episode, each at most once, in time order; () without siblings whose
    whole sound is known, or when the target's is not."""
    known = [s for s in siblings if len(s.rest_audio)]
    if not known or not len(target.rest_audio):
        return ()
    season = _match(target, known, _unread(target, intro, duration_s))
    story_from = _sibling_times(season, intro)  # where each sibling's story starts (after its intro)
    credits = _credits(season, target, intro, duration_s)
    story_until = season.lengths_s.copy()  # where each sibling's story ends (its credits)
    if credits is not None:
        credits_offsets = season.offsets_over(credits.start_s, credits.end_s)
        story_until = np.where(np.isfinite(credits_offsets), credits.start_s + credits_offsets, story_until)
    # A recap quotes earlier episodes, a preview the next: where the names give the order, only those count (the
    # one after a season's last episode is not there, so neither is its preview).
    earlier, following, unknown = places(target.episode, [s.episode for s in known])
    # An earlier episode's cold open is story a recap may quote: with the order known, what sits before an earlier
    # episode's intro is not a later episode's recap quoting this one. Not when this episode's intro is not known:
    # the siblings' intros are placed from it, and an intro the season shares with few would be taken for a quote.
    recap_from = np.where(earlier & (intro is not None), 0.0, story_from)
    clips = _clips(target, known, _unread(target, intro, duration_s))
    found: list[Segment] = []
    recap = _recap(*_quoted(season, clips, recap_from, story_until, earlier | unknown), intro)
    if recap is not None and _one_scene(season, recap, _story(season, recap_from, story_until, earlier | unknown)):
        recap = None
    if recap is not None:
        found.append(recap)
    ending = ending_from(duration_s, intro)
    preview = _preview(
        *_quoted(season, clips, story_from, story_until, following | unknown), ending, credits, duration_s
    )
    if credits is not None:
        if preview is not None and preview.start_s >= credits.start_s:
            # What follows the credits is the preview: they end where it starts, and are not the last thing.
            credits = replace(credits, end_s=min(credits.end_s, preview.start_s), final=False)
        if credits.duration_s >= MIN_CREDITS_S:
            # The rules above work in whole seconds, as they were tuned; the start shown is the codes' own.
            start_s = _sharp_start(season, target, known, earlier | following | unknown, credits)
            if preview is not None and preview.end_s == credits.start_s:  # a preview right before them
                preview = replace(preview, end_s=max(preview.start_s + 1.0, start_s))
            found.append(replace(credits, start_s=start_s))
    if preview is not None:
        found.append(preview)
    return tuple(sorted(found, key=lambda s: s.start_s))


def with_credits(found: Sequence[Segment], credits: Segment) -> tuple[Segment, ...]:
    """`found` (no credits among them) with credits found another way (detector.cards): a preview after their
    start ends them, as in find_segments."""
    preview = next((s for s in found if s.kind == "preview"), None)
    if preview is not None and preview.start_s >= credits.start_s:
        if preview.start_s - credits.start_s < MIN_CREDITS_S:
            return tuple(found)
        credits = replace(credits, end_s=min(credits.end_s, preview.start_s), final=False)
    return tuple(sorted([*found, credits], key=lambda s: s.start_s))


def with_card(
    found: Sequence[Segment], start_s: float, first_s: float, end_s: float, duration_s: float
) -> tuple[Segment, ...] | None:
    """`found` with the credits a run of cards on a dark background shows (detector.cards): its first dark frame
    start_s, its first key frame first_s, and end_s, the first key frame after it that is not dark (inf: none).
    Cards after what the sound took for the credits replace it (a cue some episodes share before their silent
    credits); cards that start before it and run into it start it, and the sound's end stands (it hears what
    follows): its first seconds were silent, or over sound no sibling shares. None: cards inside it, or apart from
    it before, change nothing."""
    heard = next((s for s in found if s.kind == "credits"), None)
    if heard is not None and first_s < heard.end_s:
        if first_s >= heard.start_s or end_s <= heard.start_s:
            return None
        credits = replace(
            heard, start_s=min(start_s, heard.start_s), confidence=CARD_CONFIDENCE, signals=(*heard.signals, *CARD)
        )
    else:
        final = duration_s - end_s <= FINAL_TAIL_S
        credits = Segment("credits", start_s, duration_s if final else end_s, CARD_CONFIDENCE, CARD, final)
    return with_credits([s for s in found if s.kind != "credits"], credits)


def _unread(target: Fingerprints, intro: Intro | None, duration_s: float) -> tuple[int, int]:
    """[start, end) whole seconds of the target that no rule reads: from OPENING_READ_S after the intro's end (or
    the file's start) to READ_MARGIN_S before the ending; empty when they meet."""
    start = int(np.ceil((intro.end_s if intro is not None else 0.0) + OPENING_READ_S))
    end = int(ending_from(duration_s, intro) - READ_MARGIN_S)
    return (start, end) if end > start else (0, 0)


def _match(target: Fingerprints, siblings: Sequence[Fingerprints], unread: tuple[int, int]) -> _Season:
    """The target's sound, less its `unread` seconds, against the siblings' whole sound."""
    empty = np.zeros(0, np.uint64)
    per_s = round(1 / target.audio_step_s)
    codes = target.sound()
    a, b = unread
    read = Fingerprints(np.concatenate([codes[: a * per_s], codes[b * per_s :]]), empty, target.audio_step_s)
    others = [Fingerprints(s.sound(), empty, s.audio_step_s) for s in siblings]
    repetition = repetition_scores(read, others, audio=WHOLE_MATCH)
    matched = (repetition.audio_match >= 0.5) & np.isfinite(repetition.audio_offset_s)
    at_s = np.arange(repetition.n_seconds)[None, :] + repetition.audio_offset_s  # in the sibling: no shift

    def whole(x: np.ndarray, fill: float | bool) -> np.ndarray:  # the unread seconds put back, as not matched
        gap = np.full((*x.shape[:-1], b - a), fill, dtype=x.dtype)
        return np.concatenate([x[..., :a], gap, x[..., a:]], axis=-1)

    lengths_s = np.array([len(s.audio) * s.audio_step_s for s in others])
    at_s = np.where(matched, at_s, np.nan)
    assert repetition.audio_similarities is not None
    return _Season(whole(matched, False), whole(at_s, np.nan), lengths_s, whole(repetition.audio_similarities, 0.0))


def _sibling_times(season: _Season, intro: Intro | None) -> np.ndarray:
    """(n_siblings,) where each sibling's story starts: the end of its intro, placed by the offset at which it
    repeats the target's, in its first half; STORY_FALLBACK_SHARE into it when that is not known (no intro here,
    the sibling lacks it, or plays it only in its ending: credits on the show's theme)."""
    fallback = STORY_FALLBACK_SHARE * season.lengths_s
    if intro is None:
        return fallback
    ends = intro.end_s + season.offsets_over(intro.start_s, intro.end_s)
    opening = np.isfinite(ends) & (ends <= 0.5 * season.lengths_s)
    return np.where(opening, ends, fallback)


def ending_from(duration_s: float, intro: Intro | None) -> float:
    start = max(duration_s / 2, duration_s - ENDING_S)
    return max(start, intro.end_s) if intro is not None else start


def _credits(season: _Season, target: Fingerprints, intro: Intro | None, duration_s: float) -> Segment | None:
    """A run near the end that at least half of the siblings repeat near their own end, at one offset each (and,
    shared by fewer than SURE_CREDITS of them, close to their end): of those shared by (nearly) the most siblings,
    the last."""
    n = season.n_seconds
    start = int(np.ceil(ending_from(duration_s, intro)))
    if start >= n:
        return None
    sibling_ending = np.maximum(0.5 * season.lengths_s, season.lengths_s - ENDING_S)[:, None]
    at_ending = season.matched & (np.nan_to_num(season.at_s, nan=-1.0) >= sibling_ending)
    support = at_ending.mean(axis=0)
    shared = np.zeros(n, dtype=bool)
    shared[start:] = support[start:] >= 0.5
    offsets = np.where(at_ending, season.at_s - np.arange(n)[None, :], np.nan)
    runs = [
        (a, b)
        for a, b in _consistent_runs(shared, offsets)
        if b - a >= MIN_CREDITS_S
        and np.median(season.similarity[a:b]) >= CREDITS_SIMILARITY
        and _ends_siblings(season, a, b, MAX_AFTER_CREDITS_S if support[a:b].mean() < SURE_CREDITS else MAX_AFTER_S)
    ]
    if not runs:
        return None
    best = max(float(support[a:b].mean()) for a, b in runs)
    a, b = max((r for r in runs if support[r[0] : r[1]].mean() >= best - SUPPORT_MARGIN), key=lambda r: r[0])
    a = _closely_from(season, at_ending, a, b)
    confidence = float(np.clip(support[a:b].mean(), 0, 1))
    end_s, final = float(b), False
    if duration_s - end_s <= FINAL_TAIL_S or _silent(target, end_s, duration_s):
        end_s, final = duration_s, True
    signals = ("repetition", "sound") + (("silent-tail",) if final and duration_s - b > FINAL_TAIL_S else ())
    return Segment("credits", float(a), end_s, confidence, signals, final)


def _closely_from(season: _Season, at_ending: np.ndarray, a: int, b: int) -> int:
    """Where the run [a, b) starts to be repeated closely by as many siblings as its credits are: score the
    season plays under the last scenes of a few episodes, right before their credits, joins the run at offsets
    that happen to agree; the credits themselves are the same mix everywhere (CREDITS_SIMILARITY). `a` when the
    step is under MIN_STEP_S in (a cue's fade-in)."""
    close = (at_ending[:, a:b] & (season.similarities[:, a:b] >= CREDITS_SIMILARITY)).mean(axis=0)
    window = int(MIN_CREDITS_S)
    if len(close) < window:
        return a
    rolling = np.convolve(close, np.ones(window) / window, mode="valid")  # rolling[i]: mean of close[i:i+window]
    level = float(rolling.max()) - SUPPORT_MARGIN
    starts = np.flatnonzero((close[: len(rolling)] >= level) & (rolling >= level))
    if not len(starts) or starts[0] < MIN_STEP_S:
        return a
    return a + int(starts[0])


def _ends_siblings(season: _Season, a: int, b: int, max_after_s: float) -> bool:
    """The siblings that repeat most of [a, b) have at most max_after_s after where they repeat it (the median over
    them): credits close an episode but for a post-credits scene or a preview; a score cue that a few episodes
    share has more of their story after it."""
    after = [
        length - np.nanmax(at)
        for at, length in zip(season.at_s[:, a:b], season.lengths_s, strict=True)
        if np.isfinite(at).mean() >= 0.5
    ]
    return bool(after) and float(np.median(after)) <= max_after_s


def _sharp_start(
    season: _Season, target: Fingerprints, siblings: Sequence[Fingerprints], placed: np.ndarray, credits: Segment
) -> float:
    """Where the credits' sound starts to be shared, to a tenth of a second: where the codes of the siblings that
    repeat their first CREDITS_EDGE_SPAN_S start agreeing with the target's (detector.boundaries). A second counts
    as repeated when half its codes match, so the run of whole seconds starts up to a second before that. Their
    start as found when the codes give none within boundaries.MAX_SHIFT_S of it.

    Only the siblings in `placed` (n_siblings,) count: the earlier ones, the next, and those of unknown order,
    whose arrival decides a settled episode again (daemon.worker), so that a season's results do not depend on
    the order its episodes arrived in (the median moves by a tenth with the siblings)."""
    span = (credits.start_s, min(credits.end_s, credits.start_s + CREDITS_EDGE_SPAN_S))
    offsets = season.offsets_over(*span)
    sharing = [
        (s.sound(), float(o)) for s, o, ok in zip(siblings, offsets, placed, strict=True) if ok and np.isfinite(o)
    ]
    edges = boundaries.shared_edges(target.sound(), sharing, *span, target.audio_step_s)
    if edges is None or abs(edges[0] - credits.start_s) > boundaries.MAX_SHIFT_S or edges[0] >= credits.end_s:
        return credits.start_s
    return round(edges[0], 2)


def _silent(target: Fingerprints, start_s: float, end_s: float) -> bool:
    codes = target.sound()
    step = target.audio_step_s
    tail = codes[int(start_s / step) : int(end_s / step)]
    return len(tail) > 0 and float(np.mean(tail == 0)) >= SILENT_SHARE


def _quoted(
    season: _Season,
    clips: list[list[landmarks.Quote]] | None,
    story_from: np.ndarray,
    story_until: np.ndarray,
    sources: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """(n_seconds,) bool each: the quoted seconds, and those that only bridge quotes.

    Quoted: seconds that a sibling among `sources` (n_siblings,) has as story, between story_from and story_until
    in it, and repeats closely (the audio codes) or sample for sample (the landmarks' clips); and that fewer than
    half of the siblings repeat about as closely as it does (QUOTE_MARGIN; what most repeat is the season's own:
    the intro, the credits, a score cue; a sibling that repeats a second loosely, the season's score under other
    lines, does not make it so). So a scene that a preview and a later episode's recap both quote is lost to the
    preview in a season of four or five.
    Bridging: the other seconds such a sibling has as story and repeats at least BRIDGE_SIMILARITY closely."""
    story = _story(season, story_from, story_until, sources)
    source_similarity = np.where(story & (season.similarities >= QUOTE_SIMILARITY), season.similarities, 0.0).max(0)
    quoted = source_similarity > 0
    centres = np.arange(season.n_seconds) + 0.5
    for j, found in enumerate(clips or []):
        if not sources[j]:
            continue
        for clip in found:
            if story_from[j] <= clip.start_s + clip.offset_s and clip.end_s + clip.offset_s <= story_until[j]:
                quoted |= (centres >= clip.start_s) & (centres < clip.end_s)
    sharing = season.matched & (season.similarities >= source_similarity - QUOTE_MARGIN)
    quoted &= sharing.mean(axis=0) < 0.5
    heard = (story & (season.similarities >= BRIDGE_SIMILARITY)).any(axis=0)
    return quoted, heard & ~quoted


def _story(season: _Season, story_from: np.ndarray, story_until: np.ndarray, sources: np.ndarray) -> np.ndarray:
    """(n_siblings, n_seconds) bool: the siblings among `sources` repeat the second, and have it as story."""
    at = np.nan_to_num(season.at_s, nan=-1.0)
    return season.matched & (at >= story_from[:, None]) & (at < story_until[:, None]) & sources[:, None]


def _one_scene(season: _Season, recap: Segment, story: np.ndarray) -> bool:
    """The recap's quotes are one scene of one sibling: at least MAX_RECAP_CLIP_S of its seconds, and nine in ten
    of those it quotes closely, are repeated best by one sibling at one offset (within OFFSET_JUMP_S)."""
    a, b = int(recap.start_s), min(int(np.ceil(recap.end_s)), season.n_seconds)
    similarities = np.where(story[:, a:b], season.similarities[:, a:b], 0.0)
    seconds = np.flatnonzero(similarities.max(axis=0) >= QUOTE_SIMILARITY)
    if len(seconds) < MAX_RECAP_CLIP_S:
        return False
    best = similarities[:, seconds].argmax(axis=0)
    offsets = season.at_s[best, seconds + a] - (seconds + a)
    sibling = int(np.bincount(best).argmax())
    offset = float(np.median(offsets[best == sibling]))
    same = (best == sibling) & (np.abs(offsets - offset) <= OFFSET_JUMP_S)
    return int(same.sum()) >= MAX_RECAP_CLIP_S and float(same.mean()) >= 0.9


def _clips(
    target: Fingerprints, siblings: Sequence[Fingerprints], unread: tuple[int, int]
) -> list[list[landmarks.Quote]] | None:
    """Per sibling, the clips of the target (less its `unread` seconds) it has sample for sample (spectral-peak
    landmarks: short clips that the codes miss), anywhere in it; None when the target's peaks are not known."""
    if not len(target.peaks):
        return None
    seconds = landmarks.unpack(target.peaks)[0] * landmarks.FRAME_S
    mine = landmarks.pairs(target.peaks[(seconds < unread[0]) | (seconds >= unread[1])])
    return [
        landmarks.quotes(mine, landmarks.pairs(sibling.peaks, jitter=True)) if len(sibling.peaks) else []
        for sibling in siblings
    ]


def _recap(quoted: np.ndarray, bridging: np.ndarray, intro: Intro | None) -> Segment | None:
    """The first run of quoted clips, if it opens the episode: up to the intro, or where the quotes stop in an
    episode without one ("previously on", then the story). A run that opens the episode and runs into the intro
    needs MIN_FRAMED_QUOTED_S of quotes, any other MIN_QUOTED_S."""
    before = quoted.copy()
    if intro is not None:
        before[int(intro.start_s) :] = False

    def reaches_intro(b: int) -> bool:
        # Its last clip up to the intro is the recap's where the quoted sibling goes on hearing it (bridging): the
        # season's score under the clip's last seconds made them no quote (data/seg-tune2).
        while intro is not None and b < intro.start_s and bridging[b]:
            b += 1
        return intro is not None and intro.start_s - b <= EDGE_SNAP_S

    clusters = [
        (a, b)
        for a, b in _runs(before, QUOTE_GAP_S, bridging)
        if before[a:b].sum() >= (MIN_FRAMED_QUOTED_S if a <= RECAP_START_SNAP_S and reaches_intro(b) else MIN_QUOTED_S)
    ]
    if not clusters:
        return None
    a, b = clusters[0]
    if a > RECAP_LATEST_START_S:
        return None
    start_s = 0.0 if a <= RECAP_START_SNAP_S else float(a)
    end_s = intro.start_s if intro is not None and reaches_intro(b) else float(b)
    if end_s <= start_s:
        return None
    share = float(before[a:b].mean())
    return Segment("recap", start_s, end_s, share, ("repetition", "quotes"))


def _preview(
    quoted: np.ndarray, bridging: np.ndarray, from_s: float, credits: Segment | None, duration_s: float
) -> Segment | None:
    after = np.zeros_like(quoted)
    after[int(from_s) :] = quoted[int(from_s) :]
    clusters = [
        c
        for c in _runs(after, QUOTE_GAP_S, bridging)
        if after[c[0] : c[1]].sum() >= MIN_QUOTED_S and _placed_as_preview(c, credits, duration_s)
    ]
    if not clusters:
        return None
    a, b = max(clusters, key=lambda c: int(after[c[0] : c[1]].sum()))
    if credits is not None and a < credits.start_s:
        # Just before the credits (within QUOTE_GAP_S of them, _placed_as_preview): it ends where they start, its
        # last clip matched or not, as one after them runs to the end.
        b = int(np.ceil(credits.start_s))
    # After the credits it closes the episode: the clips at its end that were not matched are still the preview.
    after_credits = credits is not None and a >= credits.start_s and duration_s - b <= PREVIEW_TAIL_S
    end_s = duration_s if after_credits or duration_s - b <= EDGE_SNAP_S else float(b)
    share = float(after[a:b].mean())
    return Segment("preview", float(a), end_s, share, ("repetition", "quotes"))


def _placed_as_preview(cluster: tuple[int, int], credits: Segment | None, duration_s: float) -> bool:
    """A "next time on" comes right before the end credits, after their start, or closes the episode: quotes
    anywhere else in the ending are story that happens to repeat (a flashback, a cue under the same lines)."""
    if credits is not None and cluster[1] >= credits.start_s - QUOTE_GAP_S:
        return True
    return duration_s - cluster[1] <= QUOTE_GAP_S


def _consistent_runs(shared: np.ndarray, offsets: np.ndarray) -> list[tuple[int, int]]:
    """[start, end) runs of shared seconds (gaps up to SHARED_GAP_S closed), cut where another piece of music
    begins: most of the siblings that repeat both sides repeat the second at none of the offsets (n_siblings,
    n_seconds; NaN: not repeated) they repeat the first at. Music built on a loop matches its siblings one loop
    apart too, back and forth: its offsets recur on both sides, and it is not cut."""
    runs: list[tuple[int, int]] = []
    for a, b in _runs(shared, SHARED_GAP_S):
        seconds = np.flatnonzero(shared[a:b]) + a
        start = 0  # index into seconds of the current run's first
        for i in range(1, len(seconds)):
            if _apart(offsets[:, seconds[start:i]], offsets[:, seconds[i:]]):
                runs.append((int(seconds[start]), int(seconds[i - 1]) + 1))
                start = i
        runs.append((int(seconds[start]), b))
    return runs


def _apart(before: np.ndarray, after: np.ndarray) -> bool:
    """(n_siblings, k) offsets each: most siblings that have some on both sides have none within OFFSET_JUMP_S of
    each other."""
    compared = apart = 0
    for x, y in zip(before, after, strict=True):
        x, y = np.unique(x[np.isfinite(x)]), np.unique(y[np.isfinite(y)])  # a run holds few offsets, many times
        if len(x) and len(y):
            compared += 1
            apart += bool(np.abs(x[:, None] - y[None, :]).min() > OFFSET_JUMP_S)
    return compared > 0 and apart > compared / 2


def _runs(mask: np.ndarray, max_gap_s: float, bridging: np.ndarray | None = None) -> list[tuple[int, int]]:
    """[start, end) of the True runs of a per-second mask, runs closer than max_gap_s merged; with `bridging`
    (per second), also runs up to MAX_BRIDGED_GAP_S apart with at most max_gap_s of their gap outside it."""
    merged: list[tuple[int, int]] = []
    for a, b in true_runs(mask):
        gap = a - merged[-1][1] if merged else 0
        if merged and bridging is not None and gap <= MAX_BRIDGED_GAP_S:
            gap -= int(bridging[merged[-1][1] : a].sum())
        if merged and gap <= max_gap_s:
            merged[-1] = (merged[-1][0], b)
        else:
            merged.append((a, b))
    return merged

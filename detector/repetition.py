"""Per-second cross-episode repetition: how strongly each second's sound and picture recur in sibling episodes.

For each sibling, stages are: candidate offsets (an inverted index of 16-bit pieces of the codes votes for
sibling_time - target_time, as Intro Skipper's index does, section 1.3 of the anchors note) -> verification (bit error
of the aligned codes, averaged over a short window, thresholded, runs cleaned) -> per-second match fraction,
similarity and offset. Cost per sibling is a sort of its codes plus a fixed number of aligned comparisons: linear in
episode length and in the number of siblings.

Recaps also repeat (clips of earlier episodes' bodies), cold opens do not: the per-sibling evidence is kept so that the
consumer can require support from at least half of the siblings.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import scipy.ndimage

from detector.fingerprint import Fingerprints

SHARED_RUN = 0.5  # a sibling shares a run when it repeats at least this share of its seconds
_KEY_BITS = 16  # the inverted index keys on 16-bit pieces of a code: one piece survives where the whole code does not


@dataclass(frozen=True)
class MatchParams:
    """How one kind of fingerprint is matched. Times are in seconds and converted to steps of the fingerprint."""

    bits: int  # bits per code
    window_s: float  # bit error is averaged over this window before thresholding
    min_run_s: float  # shorter matched runs are dropped
    max_gap_s: float  # shorter unmatched gaps inside a run are closed
    min_votes: int  # index hits (summed over 3 neighbouring offsets) for an offset to be a candidate
    max_key_occurrences: int  # index keys more frequent than this in a sibling are ignored (stationary sound)
    max_bit_error: float = 0.3  # a window matches when its mean bit error is at most this (unrelated content: ~0.5)
    max_offsets: int = 16  # candidate offsets verified per sibling


# Chosen on real music against AAC re-encodes (see detector/fingerprint.py): matched windows ~0.1-0.2, unrelated
# 0.5 +- 0.05.
AUDIO_MATCH = MatchParams(bits=32, window_s=1.0, min_run_s=2.0, max_gap_s=1.0, min_votes=6, max_key_occurrences=32)
# One picture per second: a sibling's offset is rarely a whole number of seconds, so seconds that straddle a cut
# mismatch; a 3 s window rides over them.
PICTURE_MATCH = MatchParams(bits=64, window_s=3.0, min_run_s=3.0, max_gap_s=2.0, min_votes=3, max_key_occurrences=8)


@dataclass(frozen=True, eq=False)  # arrays inside: compare fields explicitly
class RepetitionFeatures:
    """Per-second repetition evidence for one target episode; index = second, like the picture hash.

    Per-sibling arrays are (n_siblings, n_seconds); `*_match` is the fraction of the second that matched (0..1),
    `*_offset_s` the sibling time minus the target time of the best match (NaN where none).
    """

    FEATURE_NAMES: ClassVar[tuple[str, ...]] = (
        "audio_support",
        "audio_similarity",
        "picture_support",
        "picture_similarity",
        "has_siblings",
    )

    audio_support: np.ndarray  # (n_seconds,) mean over siblings of audio_match
    audio_similarity: np.ndarray  # (n_seconds,) best match strength over siblings, 0..1
    picture_support: np.ndarray
    picture_similarity: np.ndarray
    audio_match: np.ndarray  # (n_siblings, n_seconds)
    audio_offset_s: np.ndarray  # (n_siblings, n_seconds)
    picture_match: np.ndarray
    picture_offset_s: np.ndarray
    # (n_siblings,) seconds of each sibling's analysed span (its codes end there); None: not known.
    sibling_seconds: np.ndarray | None = None
    # (n_siblings, n_seconds) each sibling's audio similarity (audio_similarity is their maximum); None: not kept.
    audio_similarities: np.ndarray | None = None

    @property
    def n_seconds(self) -> int:
        return len(self.audio_support)

    @property
    def n_siblings(self) -> int:
        return len(self.audio_match)

    def matrix(self) -> np.ndarray:
        """(n_seconds, len(FEATURE_NAMES)) float32, columns in FEATURE_NAMES order, for the network's input."""
        has_siblings = np.full(self.n_seconds, float(self.n_siblings > 0))
        columns = [self.audio_support, self.audio_similarity, self.picture_support, self.picture_similarity]
        return np.stack([*columns, has_siblings], axis=1).astype(np.float32)

    def sharing(self, start: int, end: int) -> list[tuple[int, float]]:
        """Siblings that repeat at least SHARED_RUN of the seconds [start, end), most first, each with its median
        offset (seconds) there."""
        if self.n_siblings == 0:
            return []
        shares = self.audio_match[:, start:end].mean(axis=1)
        found = []
        for j in np.argsort(-shares, kind="stable"):
            offsets = self.audio_offset_s[j, start:end]
            if shares[j] >= SHARED_RUN and np.isfinite(offsets).any():
                found.append((int(j), float(np.nanmedian(offsets))))
        return found

    def landing_s(self, j: int, start: int, end: int) -> np.ndarray:
        """Where sibling j repeats the seconds [start, end) that it repeats: the centre of each in its time, each
        at its own offset (a cue the sibling plays twice lands in two places; `sharing`'s median, between them)."""
        offsets = self.audio_offset_s[j, start:end]
        centres = np.arange(start, end) + 0.5
        return (centres + offsets)[np.isfinite(offsets)]

    def supported(self, min_fraction: float = 0.5) -> np.ndarray:
        """(n_seconds,) bool: audio or picture recurs in at least min_fraction of the siblings (False if none)."""
        if self.n_siblings == 0:
            return np.zeros(self.n_seconds, dtype=bool)
        either = np.maximum(self.audio_match, self.picture_match) >= 0.5
        return either.mean(axis=0) >= min_fraction


COPY_SHARE = 0.6  # a sibling repeating this share of the target's seconds at one offset may be a copy of it ...
COPY_OWN_SHARE = 0.25  # ... and is one when this share of them is the target's own: repeated by no other episode
COPY_SPREAD_S = 1.0  # "one offset": within this of the median offset (a re-encode drifts by a frame or two)
COPY_REFERENCE_S = 8.0  # an episode sharing at least this much (the shortest intro) shows what the season shares


def copies(repetition: RepetitionFeatures) -> list[int]:
    """Siblings that are copies of the target (a stream copy, another quality, a re-release cut by a few seconds).

    A copy repeats most of the target's seconds at one offset, and among them the target's own story, which the
    season's other episodes do not repeat. The second test keeps a sibling whose intro fills most of a short first
    half from passing for a copy. Without another episode that shares something with the target (its intro, a
    recap) to compare with, nothing is called a copy: a wrong copy would cost a season its context.
    """
    aligned = []
    for j in range(repetition.n_siblings):
        matched = (repetition.audio_match[j] >= 0.5) & np.isfinite(repetition.audio_offset_s[j])
        offset = np.median(repetition.audio_offset_s[j][matched]) if matched.any() else 0.0
        aligned.append(matched & (np.abs(repetition.audio_offset_s[j] - offset) <= COPY_SPREAD_S))
    n = repetition.n_seconds
    candidates = [j for j, mask in enumerate(aligned) if mask.sum() >= COPY_SHARE * n]
    matched_s = (repetition.audio_match >= 0.5).sum(axis=1)
    others = [j for j in range(repetition.n_siblings) if j not in candidates and matched_s[j] >= COPY_REFERENCE_S]
    if not candidates or not others:
        return []
    shared = (repetition.audio_match[others] >= 0.5).any(axis=0)
    return [j for j in candidates if (aligned[j] & ~shared).sum() >= COPY_OWN_SHARE * n]


def season_context(
    target: Fingerprints, siblings: Sequence[Fingerprints]
) -> tuple[list[Fingerprints], RepetitionFeatures, int]:
    """The siblings that are other episodes (copies of the target left out: a copy repeats everything, so every run
    would look like the intro), the target's repetition features against them, and how many copies were left out."""
    repetition = repetition_scores(target, siblings)
    left_out = set(copies(repetition))
    if not left_out:
        return list(siblings), repetition, 0
    others = [fp for j, fp in enumerate(siblings) if j not in left_out]
    return others, repetition_scores(target, others), len(left_out)


CHANGE_SHARE = 0.3  # a content change: at least this share of the siblings start, stop or jump to another offset
CHANGE_WINDOW_S = 3  # matching is judged over this many seconds on each side, so that a hiccup is not a change
MIN_SIBLINGS_FOR_CHANGES = 3  # with fewer, one sibling's hiccup would look like a change
LOOP_FLIP_S = 8  # the longest flip of a theme matching itself (_steady_offsets): the shortest intro we target


def content_changes(repetition: RepetitionFeatures) -> np.ndarray:
    """Seconds t where the repeated content changes: comparing the CHANGE_WINDOW_S seconds before t with those
    from t, at least CHANGE_SHARE of the siblings start or stop matching or jump to another offset, and something
    both ends and begins (siblings merely dropping out is the end of sharing, not a change). An intro that runs
    straight into a score cue that other episodes also use is one run of support; this is where it splits.
    """
    n, w = repetition.n_seconds, CHANGE_WINDOW_S
    if repetition.n_siblings < MIN_SIBLINGS_FOR_CHANGES or n < 2 * w + 1:
        return np.zeros(0, dtype=np.int64)
    matched = repetition.audio_match >= 0.5  # (n_siblings, n_seconds)
    windows = np.lib.stride_tricks.sliding_window_view(matched, w, axis=1)  # (n_siblings, n - w + 1, w)
    steady = _steady_offsets(np.where(matched, repetition.audio_offset_s, np.nan), w)
    offsets = np.lib.stride_tricks.sliding_window_view(steady, w, axis=1)
    held = windows.mean(axis=2) > 0.5
    with np.errstate(invalid="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN windows: no offset there
        offset = np.nanmedian(offsets, axis=2)
    t = np.arange(w, n - w + 1)
    before, after = held[:, t - w], held[:, t]
    started, stopped = ~before & after, before & ~after
    with np.errstate(invalid="ignore"):
        jumped = before & after & (np.abs(offset[:, t] - offset[:, t - w]) > 1.0)
        if repetition.sibling_seconds is not None:
            # A sibling whose span ends inside the run can match the rest of it only elsewhere (a looped theme, one
            # loop earlier): its alignment ran out, the content did not change (data/sketch-val, an intro that ends
            # with one sibling's first half).
            jumped &= ~(t + w + offset[:, t - w] > repetition.sibling_seconds[:, None])
    share = (started | stopped | jumped).mean(axis=0)
    change = (share >= CHANGE_SHARE) & (started | jumped).any(axis=0) & (stopped | jumped).any(axis=0)
    # One second per change: the strongest of each stretch of neighbouring candidates.
    picked: list[int] = []
    for i in np.flatnonzero(change)[np.argsort(-share[change], kind="stable")]:
        if all(abs(int(t[i]) - p) > w for p in picked):
            picked.append(int(t[i]))
    return np.array(sorted(picked), dtype=np.int64)


def _steady_offsets(offset_s: np.ndarray, longest: int) -> np.ndarray:
    """(n_siblings, n_seconds) offsets (NaN: not matched) with every flip of at most `longest` seconds that returns
    to the offset it left put back to that offset. A looped theme matches itself one loop later, and where a few
    seconds of it happen to match that loop better than the run's alignment, the offset flips there and back: two
    seconds of five flipped read as a content change and cut the intro in three (data/sketch-tune). A flip between
    two different offsets is left alone: that is content changing, and where it changes is kept to the second.

    Longer flips (up to LOOP_FLIP_S), and flips at the first seconds of a match, are put back only when every
    second of them lands inside the stretch of the sibling that the alignment they are put back to covers over the
    whole match: a theme whose first bars come back later in it, matched there for its first seconds or for a few
    in the middle (data/seg-val8 The Salt Hotel: three of five intros cut). A flip at a match's first seconds put
    back without that condition moved a change on data/proc-late-val; one at its last seconds is left alone: put
    back, the loops of a looped score ran together into a run that outranked the intro (data/seg-val6 The Bright
    Theatre)."""
    steady = offset_s.copy()
    for row in steady:
        known = ~np.isnan(row)
        # Runs of consecutive matched seconds at one offset (to 1 s): [starts[k], ends[k]).
        breaks = np.flatnonzero(~known[1:] | ~known[:-1] | (np.abs(np.diff(row)) > 1.0)) + 1
        bounds = np.concatenate([[0], breaks, [len(row)]])
        starts, ends = bounds[:-1], bounds[1:]
        for a, b in zip(starts, ends, strict=True):
            if not known[a] or b - a > max(longest, LOOP_FLIP_S):
                continue
            before = row[a - 1] if a > 0 else np.nan
            after = row[b] if b < len(row) else np.nan
            if abs(before - after) <= 1.0 and (b - a <= longest or _inside_its_match(row, a, b, before)):
                row[a:b] = before
            elif np.isnan(before) and not np.isnan(after) and _inside_its_match(row, a, b, after):
                row[a:b] = after  # the first seconds of a match
    return steady


def _inside_its_match(row: np.ndarray, a: int, b: int, offset_s: float) -> bool:
    """Whether the seconds [a, b) of one sibling's offsets land inside the sibling's stretch that `offset_s` maps
    the whole match around them (the matched seconds on either side) onto."""
    known = ~np.isnan(row)
    first = a - int(np.argmin(known[a::-1])) + 1 if not known[: a + 1].all() else 0
    last = b + int(np.argmin(known[b:])) if not known[b:].all() else len(row)
    landing = np.arange(a, b) + row[a:b]
    return bool(np.all((landing >= first + offset_s - 1.0) & (landing <= last + offset_s)))


def repetition_scores(
    target: Fingerprints,
    siblings: Sequence[Fingerprints],
    audio: MatchParams = AUDIO_MATCH,
    picture: MatchParams = PICTURE_MATCH,
) -> RepetitionFeatures:
    """Repetition features of `target` against `siblings` (other episodes of the season; not the target itself)."""
    n_seconds = target.n_seconds
    for sibling in siblings:
        if sibling.audio_step_s != target.audio_step_s:
            raise ValueError(f"audio step {sibling.audio_step_s} s differs from the target's")
    step_s = target.audio_step_s
    code_second = np.floor(np.arange(len(target.audio)) * step_s + 1e-9).astype(np.int64)

    per_sibling = []
    for sibling in siblings:
        audio_hit = _match_one(target.audio, sibling.audio, audio, step_s)
        # Sound and picture of a repeated segment share their offset: verify the picture there too.
        audio_offsets_s = np.unique(audio_hit.offsets) * step_s
        extra = np.unique(np.concatenate([np.floor(audio_offsets_s), np.ceil(audio_offsets_s)])).astype(np.int64)
        picture_hit = _match_one(target.picture, sibling.picture, picture, 1.0, extra)
        per_sibling.append(
            (
                *_to_seconds(audio_hit, code_second, n_seconds, step_s),
                *_to_seconds(picture_hit, np.arange(len(target.picture)), n_seconds, 1.0),
            )
        )
    empty = np.zeros((0, n_seconds), dtype=np.float32)
    stacked = [np.stack(column).astype(np.float32) for column in zip(*per_sibling, strict=True)]
    audio_match, audio_similarity, audio_offset_s, picture_match, picture_similarity, picture_offset_s = (
        stacked or [empty] * 6
    )
    # A sibling analysed from its sound alone has no picture hashes (all 0): it says nothing about the pictures.
    with_pictures = np.array([bool(np.any(sibling.picture)) for sibling in siblings], dtype=bool)
    return RepetitionFeatures(
        audio_support=_mean_or_zero(audio_match, n_seconds),
        audio_similarity=_max_or_zero(audio_similarity, n_seconds),
        picture_support=_mean_or_zero(picture_match[with_pictures] if len(siblings) else picture_match, n_seconds),
        picture_similarity=_max_or_zero(picture_similarity, n_seconds),
        audio_match=audio_match,
        audio_offset_s=audio_offset_s,
        picture_match=picture_match,
        picture_offset_s=picture_offset_s,
        sibling_seconds=np.array([sibling.n_seconds for sibling in siblings], dtype=np.int64),
        audio_similarities=audio_similarity,
    )


@dataclass(frozen=True, eq=False)
class _Hit:
    """Per target code: matched at some verified offset, the best similarity (0..1) and the offset kept (steps)."""

    matched: np.ndarray  # (n,) bool
    similarity: np.ndarray  # (n,) float32
    offset: np.ndarray  # (n,) int64, meaningful where matched
    offsets: np.ndarray  # offsets (steps) that matched anywhere


NEAR_BEST = 0.1  # similarities this close to a code's best count as equally good offsets (see _match_one)


def _match_one(
    target: np.ndarray,
    sibling: np.ndarray,
    params: MatchParams,
    step_s: float,
    extra_offsets: np.ndarray | None = None,
) -> _Hit:
    """Stages for one sibling: candidate offsets -> aligned verification -> best offset per target code."""
    n = len(target)
    nothing = _Hit(np.zeros(n, bool), np.zeros(n, np.float32), np.zeros(n, np.int64), np.zeros(0, np.int64))
    if n == 0 or len(sibling) == 0:  # e.g. the pictures of fingerprints made from the sound alone
        return nothing
    candidates = _candidate_offsets(target, sibling, params)
    if extra_offsets is not None:
        candidates = np.unique(np.concatenate([candidates, extra_offsets]))
    if len(candidates) == 0:
        return nothing
    matched, similarity = _verify(target, sibling, candidates, params, step_s)  # (k, n) each
    # A theme built on a loop matches itself one loop later, and per code the best of those offsets flips back and
    # forth, which content_changes reads as the content changing every few seconds. Among offsets within
    # NEAR_BEST of a code's best, the one that holds the most codes overall wins: the alignment of the whole run.
    coverage = matched.sum(axis=1)
    near = matched & (similarity >= similarity.max(axis=0) - NEAR_BEST)
    best = np.argmax(np.where(near, coverage[:, None], -1), axis=0)
    return _Hit(
        matched=np.logical_or.reduce(matched, axis=0),
        similarity=similarity.max(axis=0),  # how well the code repeats, whichever offset is kept
        offset=candidates[best],
        offsets=candidates[np.logical_or.reduce(matched, axis=1)],
    )


def _candidate_offsets(target: np.ndarray, sibling: np.ndarray, params: MatchParams) -> np.ndarray:
    """Offsets (sibling index - target index) where many 16-bit pieces of codes coincide, strongest first."""
    shift = len(target) - 1  # offsets run from -(len(target) - 1) to len(sibling) - 1
    votes = np.zeros(len(target) + len(sibling) - 1, dtype=np.int64)
    target_pos, sibling_pos = np.flatnonzero(target), np.flatnonzero(sibling)  # 0 = no information
    for piece in range(params.bits // _KEY_BITS):
        target_keys = _piece(target[target_pos], piece)
        sibling_keys = _piece(sibling[sibling_pos], piece)
        # Inverted index as a direct-address table: 16-bit keys sort in linear time (radix) and need no search.
        order = np.argsort(sibling_keys, kind="stable")
        key_counts = np.bincount(sibling_keys, minlength=1 << _KEY_BITS)
        key_first = np.cumsum(key_counts) - key_counts
        counts = key_counts[target_keys]
        counts[counts > params.max_key_occurrences] = 0
        first = key_first[target_keys]
        # Every (target code, sibling code) pair that shares the key, without a Python loop.
        pair_target = np.repeat(target_pos, counts)
        pair_index = np.arange(counts.sum()) + np.repeat(first - np.cumsum(counts) + counts, counts)
        pair_sibling = sibling_pos[order[pair_index]]
        votes += np.bincount(pair_sibling - pair_target + shift, minlength=len(votes))
    # A fractional offset splits its votes between two neighbours: sum three.
    votes3 = np.convolve(votes, np.ones(3, dtype=np.int64), mode="same")
    strong = np.flatnonzero(votes3 >= params.min_votes)
    picked: list[int] = []
    for index in strong[np.argsort(-votes3[strong], kind="stable")]:
        if len(picked) == params.max_offsets:
            break
        if all(abs(int(index) - other) > 2 for other in picked):
            picked.append(int(index))
    # The strongest single offset of the three.
    refined = [max(i - 1, 0) + int(np.argmax(votes[max(i - 1, 0) : i + 2])) for i in picked]
    return np.array(refined, dtype=np.int64) - shift


def _piece(codes: np.ndarray, piece: int) -> np.ndarray:
    """Bits [16 * piece, 16 * piece + 16) of each code, as uint16."""
    return ((codes.astype(np.uint64) >> np.uint64(piece * _KEY_BITS)) & np.uint64(0xFFFF)).astype(np.uint16)


def _verify(
    target: np.ndarray, sibling: np.ndarray, offsets: np.ndarray, params: MatchParams, step_s: float
) -> tuple[np.ndarray, np.ndarray]:
    """(k, n) matched mask and similarity of the target against the sibling shifted by each offset."""
    position = np.arange(len(target))[None, :] + offsets[:, None]  # (k, n) sibling index
    inside = (position >= 0) & (position < len(sibling))
    aligned = sibling[np.clip(position, 0, len(sibling) - 1)]
    known = inside & (aligned != 0) & (target != 0)[None, :]
    distance = np.bitwise_count(np.bitwise_xor(aligned, target[None, :])).astype(np.float32) / params.bits
    # Silence, flat frames and the area outside the sibling count as "unrelated" (0.5), not as a mismatch.
    # "nearest": an intro at the very start of the target is not diluted by imagined content before it.
    error = scipy.ndimage.uniform_filter1d(
        np.where(known, distance, np.float32(0.5)), max(1, round(params.window_s / step_s)), axis=1, mode="nearest"
    )
    matched = _clean_runs(
        (error <= params.max_bit_error) & inside,
        min_run=max(1, round(params.min_run_s / step_s)),
        max_gap=round(params.max_gap_s / step_s),
    )
    similarity = np.where(matched, np.clip(1 - 2 * error, 0, 1), 0).astype(np.float32)
    return matched, similarity


def _clean_runs(mask: np.ndarray, min_run: int, max_gap: int) -> np.ndarray:
    """(k, n) bool: close False gaps of at most max_gap between True runs, then drop True runs under min_run."""
    cleaned = np.zeros_like(mask)
    for row, row_mask in enumerate(mask):
        starts, ends = _runs(row_mask)
        if len(starts) == 0:
            continue
        # Merge runs separated by short gaps.
        keep_break = (starts[1:] - ends[:-1]) > max_gap
        run_starts = starts[np.concatenate([[True], keep_break])]
        run_ends = ends[np.concatenate([keep_break, [True]])]
        for start, end in zip(run_starts, run_ends, strict=True):
            if end - start >= min_run:
                cleaned[row, start:end] = True
    return cleaned


def _runs(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Start and end (exclusive) indices of the True runs of a 1-d mask."""
    edges = np.diff(np.concatenate([[0], mask.astype(np.int8), [0]]))
    return np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)


def _to_seconds(
    hit: _Hit, code_second: np.ndarray, n_seconds: int, step_s: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-code hit -> per-second match fraction, mean similarity and offset of the best code (NaN if none)."""
    inside = code_second < n_seconds
    second = code_second[inside]
    codes_per_second = np.maximum(np.bincount(second, minlength=n_seconds), 1)
    match = np.bincount(second, hit.matched[inside], minlength=n_seconds) / codes_per_second
    similarity = np.bincount(second, hit.similarity[inside], minlength=n_seconds) / codes_per_second
    offset_s = np.full(n_seconds, np.nan)
    matched = np.flatnonzero(hit.matched[inside])
    if len(matched):
        # Sorted by second, then similarity: the last code of each second is its best.
        order = matched[np.lexsort((hit.similarity[inside][matched], second[matched]))]
        last = np.concatenate([second[order][1:] != second[order][:-1], [True]])
        offset_s[second[order[last]]] = hit.offset[inside][order[last]] * step_s
    return match, similarity, offset_s


def _mean_or_zero(per_sibling: np.ndarray, n_seconds: int) -> np.ndarray:
    if len(per_sibling) == 0:
        return np.zeros(n_seconds, dtype=np.float32)
    return per_sibling.mean(axis=0).astype(np.float32)


def _max_or_zero(per_sibling: np.ndarray, n_seconds: int) -> np.ndarray:
    if len(per_sibling) == 0:
        return np.zeros(n_seconds, dtype=np.float32)
    return per_sibling.max(axis=0).astype(np.float32)

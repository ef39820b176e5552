"""The "segments" structure (issue 18): end credits, previews, post-credits scenes, recaps and hard negatives, in
the procedural generator and in the second recipe (corpus/sketch.py), labelled in truth.json.

The rendered files are checked, not the plans alone: the credits' music really recurs across a season, a preview
really is the next episode's body, an act card really is text on black.
"""

from __future__ import annotations

import itertools
import json
from dataclasses import replace
from pathlib import Path

import av
import numpy as np
import pytest
from scipy.signal import fftconvolve

from corpus import sketch
from corpus.plan import EpisodePlan
from corpus.procedural import make_season, plan_corpus, procedural_catalog, to_truth
from corpus.profile import PROCEDURAL, PROCEDURAL_LATE, PROCEDURAL_SEGMENTS, REAL, REAL_LATE, STRUCTURES
from detector.labels import EpisodeTruth, IntroSpan, SegmentSpan, load_truth
from tests.clips import PREVIEW_SEASON, decoded_sound

RATE = 8000  # decode everything to one rate, so that 44.1 and 48 kHz episodes compare sample by sample

# Small and quick: every episode has credits (music, so that they can recur) and all but the last a preview after
# them; the hard negatives mid-episode are on, the ones just before the credits off (the control below compares
# the last scenes of two episodes, which a theme reprise would make alike).
SEASON_PROFILE = replace(PREVIEW_SEASON, p_black_transition=1.0, p_act_card=1.0)
SEASON_SEED = 4


@pytest.fixture(scope="module")
def season(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[EpisodeTruth]]:
    root = tmp_path_factory.mktemp("segments")
    return root, make_season(root, episodes=3, seed=SEASON_SEED, container="mixed", profile=SEASON_PROFILE)


def _decode(path: Path) -> np.ndarray:
    return decoded_sound(path, RATE).astype(np.float64)


def _span(audio: np.ndarray, start_s: float, end_s: float) -> np.ndarray:
    return audio[int(start_s * RATE) : int(end_s * RATE)]


def _correlation(a: np.ndarray, b: np.ndarray, max_lag: int = 40) -> float:
    """Normalised correlation at the best lag within +-5 ms (resampling and AAC framing shift a sample)."""
    n = min(a.size, b.size) - 2 * max_lag
    a = a[max_lag : max_lag + n] / (np.linalg.norm(a[max_lag : max_lag + n]) + 1e-12)
    best = 0.0
    for lag in range(-max_lag, max_lag + 1):
        piece = b[max_lag + lag : max_lag + lag + n]
        best = max(best, float(np.dot(a, piece)) / (float(np.linalg.norm(piece)) + 1e-12))
    return best


def _find(needle: np.ndarray, haystack: np.ndarray) -> tuple[float, float]:
    """Where `needle` best matches in `haystack` (seconds) and how well (normalised correlation)."""
    corr = fftconvolve(haystack, needle[::-1], mode="valid")
    energy = np.cumsum(np.concatenate([[0.0], haystack**2]))
    window = np.sqrt(np.maximum(energy[needle.size :] - energy[: -needle.size], 0.0))
    norm = float(np.linalg.norm(needle))
    # Near-silent windows (a black transition) would divide by almost nothing: they match nothing.
    ncc = np.where(window > 0.1 * norm, corr / (window * norm + 1e-12), 0.0)
    k = int(np.argmax(ncc))
    return float(ncc[k]), k / RATE


def _frame_at(path: Path, t_s: float) -> np.ndarray:
    """The luma plane of the first frame at or after `t_s`."""
    with av.open(str(path)) as container:
        for frame in container.decode(video=0):
            if frame.time is not None and frame.time >= t_s:
                return np.asarray(frame.to_ndarray(format="gray"))
    raise AssertionError(f"{path}: no frame at {t_s} s")


def _plans() -> list[EpisodePlan]:
    """The plans `season` rendered (make_season: one show, one opening)."""
    profile = replace(SEASON_PROFILE, p_two_openings=0.0)
    return plan_corpus(procedural_catalog(), profile, "train", 1, 3, SEASON_SEED, "mixed")


# ---- the procedural generator -------------------------------------------------------------------------------------


def test_a_segments_season_labels_its_recap_credits_and_previews(season: tuple[Path, list[EpisodeTruth]]) -> None:
    root, truths = season
    assert load_truth(root) == truths
    raw = json.loads((root / "truth.json").read_text())
    assert all("segments" in ep for ep in raw["episodes"])
    for k, ep in enumerate(truths):
        assert ep.segments is not None
        assert ep.intro is None or ep.intro.end_s <= ep.duration_s / 2
        credits, preview = ep.segment("credits"), ep.segment("preview")
        assert credits is not None and credits.start_s >= ep.duration_s / 2 and "credits" in ep.tags
        assert {"black_transition", "act_card"} & set(ep.tags)  # one may not fit between the others
        if k < len(truths) - 1:  # a preview after the credits, so the credits are not the end
            assert preview is not None and preview.start_s == credits.end_s and preview.end_s == ep.duration_s
            assert not credits.final and "preview" in ep.tags
        else:  # the last episode of a season has no next one to preview
            assert preview is None and credits.final and credits.end_s == ep.duration_s
        recap = ep.segment("recap")
        assert (recap is not None) == ("recap" in ep.tags)
        assert recap is None or (recap.start_s == 0.0 and ep.intro is not None and recap.end_s <= ep.intro.start_s)
        with av.open(str(root / ep.path)) as container:
            assert container.duration is not None
            assert abs(container.duration / av.time_base - ep.duration_s) < 0.2


def test_the_credits_music_recurs_across_the_season_and_the_last_scenes_do_not(
    season: tuple[Path, list[EpisodeTruth]],
) -> None:
    root, truths = season
    audio = {ep.path: _decode(root / ep.path) for ep in truths}
    spans = [ep.segment("credits") for ep in truths]
    length = min(s.end_s - s.start_s for s in spans if s is not None) - 4.0  # before any episode's fade-out
    clips = [
        _span(audio[ep.path], s.start_s + 0.5, s.start_s + length) for ep, s in zip(truths, spans, strict=True) if s
    ]
    for clip in clips[1:]:
        assert _correlation(clips[0], clip) > 0.95
    # Control: the last scene before the credits is each episode's own.
    before = [_span(audio[ep.path], s.start_s - 8.0, s.start_s - 1.0) for ep, s in zip(truths, spans, strict=True) if s]
    assert _correlation(before[0], before[1]) < 0.5


def test_a_preview_is_cut_from_the_next_episodes_body(season: tuple[Path, list[EpisodeTruth]]) -> None:
    root, truths = season
    for ep, nxt in itertools.pairwise(truths):
        preview = ep.segment("preview")
        assert preview is not None and nxt.intro is not None
        own = _decode(root / ep.path)
        snippet = _span(own, preview.start_s + 0.05, preview.start_s + 1.9).copy()  # in the first clip (>= 2 s)
        score, at_s = _find(snippet, _decode(root / nxt.path))
        credits = nxt.segment("credits")
        assert credits is not None
        assert score > 0.9, f"{ep.path}: the preview's first clip is not in the next episode ({score:.2f})"
        assert nxt.intro.end_s - 0.1 <= at_s <= credits.start_s, f"found at {at_s:.1f} s, not in the body"
        # Control: the episode itself, its preview silenced, holds no such passage.
        own[int(preview.start_s * RATE) :] = 0.0
        assert _find(snippet, own)[0] < 0.6


def test_a_line_spoken_in_two_episodes_is_two_takes(season: tuple[Path, list[EpisodeTruth]]) -> None:
    """The material has few lines a voice: without takes a season's stories would repeat each other sample for
    sample, and a recap's quotes could not be told from the rest of the story."""
    root, _ = season
    plans = _plans()
    spoken = [
        (plan, e) for plan in plans for e in plan.timeline.audio if "/line/" in e.source and e.at_s >= plan.body_start_s
    ]
    assert all(e.speed != 1.0 and 0.015 <= abs(e.speed - 1.0) <= 0.04 for _, e in spoken)
    twice = next(
        (a, b)
        for a, b in itertools.combinations(spoken, 2)
        if a[0] is not b[0] and a[1].source == b[1].source and min(a[1].dur_s, b[1].dur_s) >= 1.5
    )
    (plan_a, line_a), (plan_b, line_b) = twice
    # Its first 1.2 s in one episode is not found in the other one's sound.
    snippet = _span(_decode(root / plan_a.relpath), line_a.at_s + 0.1, line_a.at_s + 1.3).copy()
    score, at_s = _find(snippet, _decode(root / plan_b.relpath))
    assert score < 0.8 or abs(at_s - line_b.at_s) > 1.0, f"{line_a.source}: the same take twice ({score:.2f})"
    # Takes are drawn from no random stream: without them the plans are the same, but for the speeds.
    plain = plan_corpus(
        procedural_catalog(),
        replace(SEASON_PROFILE, p_two_openings=0.0, takes=False),
        "train",
        1,
        3,
        SEASON_SEED,
        "mixed",
    )
    assert [_at_speed_1(p) for p in plans] == [_at_speed_1(p) for p in plain]


def _at_speed_1(plan: EpisodePlan) -> EpisodePlan:
    """The plan with every take as recorded (a recap's clip of a take starts elsewhere in its source)."""
    audio = tuple(replace(e, speed=1.0, src_start_s=0.0) if "/line/" in e.source else e for e in plan.timeline.audio)
    return replace(plan, timeline=replace(plan.timeline, audio=audio))


def test_act_cards_are_text_on_black_mid_episode(season: tuple[Path, list[EpisodeTruth]]) -> None:
    root, truths = season
    with_card = [(ep, plan) for ep, plan in zip(truths, _plans(), strict=True) if "act_card" in ep.tags]
    assert with_card
    for ep, plan in with_card:
        assert plan.relpath.rsplit(".", 1)[0] == ep.path.rsplit(".", 1)[0]
        cards = [t for t in plan.timeline.texts if t.style == "title" and ep.intro and t.at_s > ep.intro.end_s]
        assert len(cards) == 1
        luma = _frame_at(root / ep.path, cards[0].at_s + cards[0].dur_s / 2)
        assert np.median(luma) <= 20 and luma.max() > 150  # black, with bright letters
        credits = ep.segment("credits")
        assert ep.intro is not None and credits is not None and ep.intro.end_s < cards[0].at_s < credits.start_s


def test_a_segments_corpus_has_every_variant_within_its_promises() -> None:
    """Plans only (no rendering): every variant appears, in its place, and old structures stay unlabelled."""
    plans = plan_corpus(procedural_catalog(), PROCEDURAL_SEGMENTS, "val", 6, 5, 3, "mixed")
    tags = {t for p in plans for t in p.tags}
    assert {
        "credits_black",
        "credits_scene",
        "credits_scroll",
        "credits_cards",
        "credits_silent",
        "credits_theme",
        "post_credits",
        "no_credits",
        "preview",
        "preview_before_credits",
        "black_transition",
        "act_card",
        "montage",
        "theme_reprise",
        "recap",
    } <= tags
    by_show: dict[str, list[EpisodePlan]] = {}
    for p in plans:
        by_show.setdefault(p.show, []).append(p)
        assert p.segments is not None
        assert p.intro is None or p.intro.end_s <= p.duration_s / 2
        assert all(s.start_s >= p.duration_s / 2 for s in p.segments if s.kind != "recap")
        assert all(e.end_s <= p.duration_s + 1e-6 for e in p.timeline.audio)
        assert ("no_credits" in p.tags) != any(s.kind == "credits" for s in p.segments)
        assert ("preview" in p.tags) == any(s.kind == "preview" for s in p.segments)
    for season in by_show.values():
        assert not any(s.kind == "preview" for s in season[-1].segments or ())
        cues = {
            e.source
            for p in season
            for s in p.segments or ()
            if s.kind == "credits"
            for e in p.timeline.audio
            if abs(e.at_s - s.start_s) < 1e-6 and e.source.startswith("synth/music")
        }
        assert len(cues) <= 1  # one credits cue a season
    assert to_truth(plans[0]).segments == plans[0].segments


@pytest.mark.parametrize("structure", ["standard", "late"])
def test_older_structures_leave_segments_unlabelled(structure: str) -> None:
    for plan in plan_corpus(procedural_catalog(), STRUCTURES[structure][1], "train", 2, 4, 1, "mixed"):
        assert plan.segments is None and plan.body_end_s is None
        assert to_truth(plan).segments is None
    assert not any(p.segments for p in (PROCEDURAL, PROCEDURAL_LATE, REAL, REAL_LATE))
    assert STRUCTURES["segments"][0].segments and STRUCTURES["segments"][1].segments


def test_endings_draw_nothing_where_segments_are_off() -> None:
    """The new fields change nothing unless `segments` is on: the existing profiles' plans are what they were."""
    catalog = procedural_catalog()
    noisy = replace(PROCEDURAL, p_credits=1.0, p_preview=1.0, p_black_transition=1.0, p_montage=1.0)
    assert plan_corpus(catalog, noisy, "train", 2, 4, 5, "mixed") == plan_corpus(
        catalog, PROCEDURAL, "train", 2, 4, 5, "mixed"
    )


# ---- the second recipe --------------------------------------------------------------------------------------------


def _sketch_season(seed: int) -> list[sketch.SketchEpisode]:
    """Three short episodes (100 s, the intro at 10 s), with segments."""
    plain = [
        replace(sketch.plan_episode("Glass Comet", k, seed), duration_s=100.0, intro=IntroSpan(10.0, 22.0))
        for k in (1, 2, 3)
    ]
    return sketch.with_segments(plain, seed)


def _sketch_seed() -> int:
    """The first seed whose first two episodes have credits and whose first has a preview after them."""
    for seed in range(200):
        eps = _sketch_season(seed)
        first, second = (ep.segments or () for ep in eps[:2])
        if [s.kind for s in first] == ["credits", "preview"] and any(s.kind == "credits" for s in second):
            return seed
    raise AssertionError("no seed gives the season the test needs")


@pytest.fixture(scope="module")
def sketch_season(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[sketch.SketchEpisode]]:
    root = tmp_path_factory.mktemp("sketch")
    seed = _sketch_seed()
    eps = _sketch_season(seed)[:2]
    for ep in eps:
        sketch.render(ep, root / ep.relpath, seed)
    return root, eps


def test_sketch_credits_recur_and_its_preview_is_the_next_episodes_story(
    sketch_season: tuple[Path, list[sketch.SketchEpisode]],
) -> None:
    root, (first, second) = sketch_season
    a, b = _decode(root / first.relpath), _decode(root / second.relpath)
    credits = [next(s for s in ep.segments or () if s.kind == "credits") for ep in (first, second)]
    length = min(s.end_s - s.start_s for s in credits) - 3.0
    assert length > 5.0
    assert (
        _correlation(
            _span(a, credits[0].start_s, credits[0].start_s + length),
            _span(b, credits[1].start_s, credits[1].start_s + length),
        )
        > 0.95
    )
    preview = next(s for s in first.segments or () if s.kind == "preview")
    score, at_s = _find(_span(a, preview.start_s + 0.05, preview.start_s + 1.9), b)
    assert score > 0.9
    assert any(x <= at_s <= y for x, y in sketch.story_spans(second)), f"found at {at_s:.1f} s, not in the story"
    # The credits are the second half's, dot-matrix names on their field: some bright dots in a dark frame.
    luma = _frame_at(root / first.relpath, credits[0].start_s + length / 2)
    assert (luma > 150).mean() > 0.002
    assert credits[0].start_s >= first.duration_s / 2


def test_sketch_segments_are_opt_in_and_labelled() -> None:
    plain = sketch.plan_season("Night River", 4, 61)
    assert all(ep.segments is None and not ep.pieces and not ep.tags for ep in plain)
    eps = sketch.plan_season("Night River", 4, 61, segments=True)
    for old, new in zip(plain, eps, strict=True):  # the same episodes, with an ending
        assert (old.relpath, old.duration_s, old.intro, old.position) == (
            new.relpath,
            new.duration_s,
            new.intro,
            new.position,
        )
        assert new.segments is not None
        assert all(s.start_s >= new.duration_s / 2 for s in new.segments if s.kind != "recap")
        for s in new.segments:
            if s.kind == "recap":
                assert s.start_s == 0.0 and (new.intro is None or s.end_s <= new.intro.start_s)
    assert not any(s.kind == "preview" for s in eps[-1].segments or ())
    assert all(isinstance(s, SegmentSpan) for ep in eps for s in ep.segments or ())

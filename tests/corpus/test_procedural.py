"""The procedural corpus: real, decodable media whose truth matches what was rendered."""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np
import pytest

from corpus.catalog import Catalog, Track, partition
from corpus.procedural import make_season, plan_corpus, procedural_catalog
from corpus.profile import PROCEDURAL
from detector.labels import EpisodeTruth, IntroSpan, load_truth, write_truth
from tests.clips import decoded_sound

RATE = 16000  # decode everything to one rate, so that 44.1 and 48 kHz episodes compare sample by sample


@pytest.fixture(scope="module")
def season(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[EpisodeTruth]]:
    root = tmp_path_factory.mktemp("season")
    return root, make_season(root, episodes=4, seed=3, container="mixed")


def _decode_audio(path: Path, start_s: float, end_s: float) -> np.ndarray:
    return decoded_sound(path, RATE)[int(start_s * RATE) : int(end_s * RATE)]


def _best_correlation(a: np.ndarray, b: np.ndarray, max_lag: int = 80) -> float:
    """Normalised correlation at the best lag within +-5 ms (resampling and AAC framing shift a sample)."""
    n = min(a.size, b.size) - 2 * max_lag
    return max(
        float(np.dot(a[max_lag : max_lag + n], b[max_lag + lag : max_lag + lag + n]))
        for lag in range(-max_lag, max_lag + 1)
    )


def test_episodes_open_with_both_streams_and_planned_duration(season: tuple[Path, list[EpisodeTruth]]) -> None:
    root, truths = season
    assert len(truths) == 4
    for ep in truths:
        with av.open(str(root / ep.path)) as container:
            assert container.streams.video and container.streams.audio
            video = container.streams.video[0]
            assert video.codec_context.name == "h264"
            assert container.streams.audio[0].codec_context.name == "aac"
            assert container.duration is not None
            assert abs(container.duration / av.time_base - ep.duration_s) < 0.2
            n_frames = sum(1 for _ in container.decode(video=0))
            assert video.average_rate is not None
            assert abs(n_frames / float(video.average_rate) - ep.duration_s) < 0.2


def test_intro_in_first_half(season: tuple[Path, list[EpisodeTruth]]) -> None:
    _, truths = season
    for ep in truths:
        if ep.intro is not None:
            assert 0 <= ep.intro.start_s < ep.intro.end_s <= ep.duration_s / 2


def test_intros_are_identical_audio_across_the_season(season: tuple[Path, list[EpisodeTruth]]) -> None:
    root, truths = season
    with_intro = [ep for ep in truths if ep.intro is not None]
    assert len(with_intro) >= 2
    clips = []
    for ep in with_intro:
        assert ep.intro is not None
        # Skip the fades (episodes differ in loudness, so normalise) and compare the middle of the theme.
        clip = _decode_audio(root / ep.path, ep.intro.start_s + 1.0, ep.intro.end_s - 1.0)
        clips.append(clip / (np.linalg.norm(clip) + 1e-9))
    for clip in clips[1:]:
        assert _best_correlation(clips[0], clip) > 0.95
    # Control: the body right after the intro is not the same across episodes.
    a, b = with_intro[0], with_intro[1]
    assert a.intro is not None and b.intro is not None
    body_a = _decode_audio(root / a.path, a.intro.end_s + 2, a.intro.end_s + 8)
    body_b = _decode_audio(root / b.path, b.intro.end_s + 2, b.intro.end_s + 8)
    n = min(body_a.size, body_b.size)
    corr = np.dot(body_a[:n], body_b[:n]) / (np.linalg.norm(body_a[:n]) * np.linalg.norm(body_b[:n]) + 1e-9)
    assert abs(float(corr)) < 0.5


def test_truth_round_trips(tmp_path: Path, season: tuple[Path, list[EpisodeTruth]]) -> None:
    root, truths = season
    assert load_truth(root / "truth.json") == truths
    assert load_truth(root) == truths
    extra = [*truths, EpisodeTruth("x/y.mkv", "x", "Season 01", 61.5, None, ("no_intro",))]
    write_truth(tmp_path / "truth.json", extra)
    assert load_truth(tmp_path / "truth.json") == extra
    assert extra[0].intro is None or isinstance(extra[0].intro, IntroSpan)


def test_plans_are_reproducible_and_splits_disjoint() -> None:
    catalog = procedural_catalog()
    a = plan_corpus(catalog, PROCEDURAL, "train", 3, 4, 7, "mixed")
    assert a == plan_corpus(catalog, PROCEDURAL, "train", 3, 4, 7, "mixed")
    train, val = partition(catalog, "train"), partition(catalog, "val")
    assert not {t.id for t in train.music} & {t.id for t in val.music}
    assert not set(train.voices()) & set(val.voices())
    assert not set(train.photos) & set(val.photos)
    val_plans = plan_corpus(catalog, PROCEDURAL, "val", 3, 4, 7, "mixed")
    assert not {p.show for p in a} & {p.show for p in val_plans}


def test_many_seasons_keep_their_promises() -> None:
    """Across many seeds: intros in the first half, a mix of every tag, recaps cut from earlier bodies."""
    plans = plan_corpus(procedural_catalog(), PROCEDURAL, "train", 12, 6, 1, "mixed")
    tags = {t for p in plans for t in p.tags}
    assert {"cold_open", "recap", "short_intro", "no_intro", "two_openings", "music_scene", "captions"} <= tags
    for p in plans:
        assert p.intro is None or p.intro.end_s <= p.duration_s / 2
        assert all(e.end_s <= p.duration_s + 1e-6 for e in p.timeline.audio)


def test_long_episode_is_a_realistic_encode(tmp_path: Path) -> None:
    """The benchmark's episode, shortened: H.264 High with B-frames, intro within the first half."""
    from corpus.build import long_episode

    truth = long_episode(tmp_path / "long.mkv", minutes=0.4, width=320, height=180, assets=None)
    assert truth.intro is not None and truth.intro.end_s <= truth.duration_s / 2
    with av.open(str(tmp_path / "long.mkv")) as container:
        video = container.streams.video[0]
        assert (video.width, video.height) == (320, 180)
        assert video.codec_context.profile == "High"
        assert container.duration is not None
        assert abs(container.duration / av.time_base - truth.duration_s) < 0.2


def test_a_build_resumes_and_an_interrupted_one_is_a_usable_corpus(tmp_path: Path) -> None:
    from corpus.material import Material
    from corpus.procedural import render_plans

    plans = plan_corpus(procedural_catalog(), PROCEDURAL, "train", 1, 3, 5, "mkv")
    render_plans(plans[:2], Material(), tmp_path)  # as if stopped after two episodes
    assert [t.path for t in load_truth(tmp_path)] == [p.relpath for p in plans[:2]]
    first = tmp_path / plans[0].relpath
    before = first.stat().st_mtime_ns
    truths = render_plans(plans, Material(), tmp_path)  # the same command again: resumes
    assert first.stat().st_mtime_ns == before  # finished files are kept
    assert (tmp_path / plans[2].relpath).exists()
    assert load_truth(tmp_path) == truths and len(truths) == 3


def test_a_track_with_a_fixed_split_goes_only_to_that_side_and_leaves_the_other_unchanged() -> None:
    ranked = tuple(Track(f"a/{i}", 60.0, "a") for i in range(6))
    fixed = tuple(Track(f"b/{i}", 60.0, "b", split="train") for i in range(4))
    before = Catalog(ranked, (), ())
    after = Catalog(ranked + fixed, (), ())
    assert partition(after, "val") == partition(before, "val")  # a held-out corpus rebuilds as it was
    assert partition(after, "train").music == partition(before, "train").music + fixed

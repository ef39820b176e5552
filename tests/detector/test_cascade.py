"""The cascade: with enough stored siblings, an episode is decided from its sound, and its pictures are decoded only
around the intro's ends, exactly when the network's scores cannot change the answer."""

import dataclasses
from pathlib import Path

import numpy as np
import pytest
import torch

import detector.inference as inference
from detector import Detector
from detector.decode import COUNTS
from detector.fingerprint import Fingerprints
from detector.repetition import repetition_scores
from detector.season import MemoryStore
from detector.season_rule import SeasonRuleParams, decided_by_sound, locate_repeated_intro, repeated_candidates
from tests.detector.test_season_rule import N_SECONDS, codes, episode


def score_vectors(candidates: list, rng: np.random.Generator) -> list[np.ndarray]:
    """Scores that push each candidate up and the others down, plus flat and random ones."""
    vectors = [np.zeros(N_SECONDS), np.ones(N_SECONDS), rng.random(N_SECONDS)]
    for c in candidates:
        favour = np.zeros(N_SECONDS)
        favour[int(c.start_s) : int(np.ceil(c.end_s))] = 1.0
        vectors.append(favour)
    return vectors


@pytest.mark.parametrize("refine", [False, True])
@pytest.mark.parametrize("seed", range(6))
def test_what_the_sound_decides_is_what_any_scores_give(seed: int, refine: bool):
    rng = np.random.default_rng(seed)
    theme, cue = codes(rng, rng.uniform(15, 60)), codes(rng, rng.uniform(9, 30))
    target = episode(rng, theme, rng.uniform(0, 60), (cue, rng.uniform(120, 160)))
    siblings = [episode(rng, theme, rng.uniform(0, 80)) for _ in range(3)]
    # A score cue that one sibling reuses in its story: repeated, but held as story by the season.
    siblings.append(episode(rng, theme, rng.uniform(0, 30), (cue, rng.uniform(100, 160))))
    repetition = repetition_scores(target, siblings)
    params = SeasonRuleParams(refine=refine)
    certain, intro = decided_by_sound(target, siblings, repetition, params)
    assert certain and intro is not None
    candidates = repeated_candidates(np.zeros(N_SECONDS), repetition.audio_support, params)
    for scores in score_vectors(candidates, rng):
        found = locate_repeated_intro(scores, target, siblings, repetition, params)
        assert found is not None and (found.start_s, found.end_s) == (intro.start_s, intro.end_s)


def test_nothing_repeated_is_left_to_the_network():
    # The network may still be sure of an intro of the episode's own (season_rule.network_only_intro).
    rng = np.random.default_rng(1)
    target = episode(rng, codes(rng, 1), 0.0)
    siblings = [episode(rng, codes(rng, 1), 0.0) for _ in range(3)]
    assert decided_by_sound(target, siblings, repetition_scores(target, siblings), SeasonRuleParams()) == (False, None)


def test_two_intro_like_runs_of_about_the_same_length_are_left_to_the_network():
    # Half the season opens with one theme, half with another; the target has both, 20 s and 21 s long: which one
    # is its intro is the network's call, so the sound alone must not answer.
    rng = np.random.default_rng(2)
    first, second = codes(rng, 20), codes(rng, 21)
    target = episode(rng, first, 10.0, (second, 100.0))
    siblings = [
        episode(rng, first, 0.0),
        episode(rng, first, 5.0),
        episode(rng, second, 0.0),
        episode(rng, second, 8.0),
    ]
    repetition = repetition_scores(target, siblings)
    params = SeasonRuleParams()
    assert decided_by_sound(target, siblings, repetition, params) == (False, None)
    answers = set()
    for scores in score_vectors(repeated_candidates(np.zeros(N_SECONDS), repetition.audio_support, params), rng):
        found = locate_repeated_intro(scores, target, siblings, repetition, params)
        answers.add(None if found is None else round(found.start_s))
    assert answers == {10, 100}  # the scores do decide between them


def test_a_sibling_without_pictures_says_nothing_about_the_pictures():
    rng = np.random.default_rng(4)
    theme = codes(rng, 30)
    target = episode(rng, theme, 10.0)
    with_pictures = [episode(rng, theme, 0.0) for _ in range(3)]
    sound_only = episode(rng, theme, 20.0)
    sound_only = Fingerprints(audio=sound_only.audio, picture=np.zeros(N_SECONDS, np.uint64))
    alone = repetition_scores(target, with_pictures)
    mixed = repetition_scores(target, [*with_pictures, sound_only])
    np.testing.assert_array_equal(alone.picture_support, mixed.picture_support)
    assert mixed.audio_support.max() > 0  # its sound still counts


@pytest.fixture(scope="module")
def season_of_ten(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    from corpus.procedural import make_season

    out = tmp_path_factory.mktemp("ten")
    return sorted(out / t.path for t in make_season(out, episodes=10, seed=11))


def test_a_first_scan_of_ten_episodes_one_at_a_time_decodes_each_file_once(season_of_ten: list[Path]):
    # As the daemon does: each episode its own detection, the others its siblings. The first one analyses its
    # nine siblings with their pictures and keeps the analyses (they are the next targets); itself, with nine
    # siblings stored, it is decided from its sound. It is the second episode: the pilot has no intro, and where
    # nothing repeats the network is asked for an opening of the episode's own (its pictures decoded).
    order = [*season_of_ten[1:], season_of_ten[0]]
    detector = Detector.load(threads=1)
    before = dataclasses.replace(COUNTS)
    results = [detector.detect(p, [s for s in order if s != p]) for p in order]
    assert COUNTS.picture_passes - before.picture_passes == len(season_of_ten) - 1
    assert COUNTS.sound_passes - before.sound_passes == 1
    # The second half's sound (credits, previews), once per file too.
    assert COUNTS.rest_passes - before.rest_passes == len(season_of_ten)
    assert "sound" in results[0].signals and all("network" in r.signals for r in results[1:])


def test_a_new_episode_with_stored_siblings_is_decided_by_its_sound_as_the_network_would(
    season_of_ten: list[Path], monkeypatch: pytest.MonkeyPatch
):
    full = Detector.load(threads=1, cascade=False)
    whole = dict(full.detect_season(season_of_ten))  # stores every episode's fingerprints
    cascade = Detector.load(threads=1, store=full.store)
    decoded: list[Path] = []
    spans: list[int] = []
    real_extract, real_pictures = inference.extract, inference.decode_pictures

    def counting_extract(path, *args, **kwargs):  # type: ignore[no-untyped-def]
        decoded.append(Path(path))
        return real_extract(path, *args, **kwargs)

    ending_keyframes: dict[Path, float] = {}

    def counting_pictures(path, windows, keyframes=False):  # type: ignore[no-untyped-def]
        if keyframes:  # the end's key frames, looking for credits on a card (none in this season)
            (ending_keyframes[Path(path)],) = (start for start, _ in windows)
        else:
            spans.append(len(windows))
        return real_pictures(path, windows, keyframes)

    monkeypatch.setattr(inference, "extract", counting_extract)
    monkeypatch.setattr(inference, "decode_pictures", counting_pictures)
    durations_s = {}
    for path in season_of_ten:
        found = cascade.detect(path, [p for p in season_of_ten if p != path])
        durations_s[path] = found.duration_s
        expected = whole[path]
        assert not isinstance(expected, Exception)
        assert found.intro == expected.intro or (
            found.intro is not None
            and expected.intro is not None
            and (found.intro.start_s, found.intro.end_s) == (expected.intro.start_s, expected.intro.end_s)
        )
        assert len(found.scores) == len(expected.scores)  # the per-second repetition support, for `show`
        if expected.intro is None:  # nothing repeats: whether it has an opening of its own is the network's call
            assert "network" in found.signals and "sound" not in found.signals
        else:
            assert "sound" in found.signals and "network" not in found.signals
    without = [p for p in season_of_ten if whole[p].intro is None]  # type: ignore[union-attr]
    assert len(without) == 2  # the pilot and the special
    assert decoded == without  # no picture of the others' span was decoded ...
    assert spans and set(spans) == {2}  # ... only the windows around the two ends, once per intro found ...
    assert set(ending_keyframes) == set(season_of_ten)  # ... and the key frames of the second half
    assert all(start >= durations_s[path] / 2 for path, start in ending_keyframes.items())


def test_when_the_scores_could_change_the_answer_the_pictures_are_decoded(
    season_of_ten: list[Path], monkeypatch: pytest.MonkeyPatch
):
    full = Detector.load(threads=1, cascade=False)
    whole = dict(full.detect_season(season_of_ten))
    cascade = Detector.load(threads=1, store=full.store)
    monkeypatch.setattr(inference, "decided_by_sound", lambda *args: (False, None))
    target = season_of_ten[0]
    found = cascade.detect(target, season_of_ten[1:])
    assert "network" in found.signals and "sound" not in found.signals
    assert found == whole[target]


@pytest.mark.parametrize("decides", [True, False])
def test_two_threads_give_what_one_does_and_decode_the_ending_once(
    season_of_ten: list[Path], monkeypatch: pytest.MonkeyPatch, decides: bool
):
    """With two threads the ending's sound is decoded on a thread of its own while the intro's ends are placed:
    the same result and the same stored fingerprints as on one thread. When the sound cannot decide, the ending is
    not decoded in the sound's step, only with the pictures."""
    full = Detector.load(threads=1, cascade=False)
    whole = dict(full.detect_season(season_of_ten))
    target = next(p for p in season_of_ten if whole[p].intro is not None)  # type: ignore[union-attr]
    siblings = [p for p in season_of_ten if p != target]
    if not decides:
        monkeypatch.setattr(inference, "decided_by_sound", lambda *args: (False, None))
    threads_before = torch.get_num_threads()
    found, stored = [], []
    try:
        for threads in (1, 2):
            store = MemoryStore()
            for sibling in siblings:
                store.put(sibling, full.store.get(sibling))  # type: ignore[arg-type]
            detector = Detector.load(threads=threads, store=store)
            before = dataclasses.replace(COUNTS)
            found.append(detector.detect(target, siblings))
            assert COUNTS.rest_passes - before.rest_passes == 1
            stored.append(store.get(target).to_bytes())  # type: ignore[union-attr]
    finally:
        torch.set_num_threads(threads_before)
    assert ("sound" in found[0].signals) == decides
    assert found[0] == found[1] and stored[0] == stored[1]
    assert len(Fingerprints.from_bytes(stored[0]).rest_audio) > 0  # the ending's codes are stored

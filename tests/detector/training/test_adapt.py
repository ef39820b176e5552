"""Fitting the lone-episode network to a library (detector.training.adapt): which results label, and the fit."""

from pathlib import Path

import numpy as np
import pytest
import torch

from detector.checkpoint import Checkpoint
from detector.intervals import find_intro
from detector.model import IntroNet, ModelDims
from detector.training.adapt import (
    AdaptConfig,
    Embedded,
    LibraryResult,
    PseudoLabel,
    fit,
    fit_library,
    pseudo_labels,
    show_of,
)
from detector.weights import MODELS

RULE = ("network", "repetition", "edges")


def result(season: str, n: int, intro=(10.0, 40.0), confidence=0.9, signals=RULE) -> LibraryResult:  # type: ignore[no-untyped-def]
    return LibraryResult(Path(f"/tv/{season}/e{n}.mkv"), f"/tv/{season}", intro, confidence, signals)


def test_only_a_seasons_repetition_labels_and_only_in_seasons_it_decided_three_times():
    results = [
        *(result("A/Season 1", n) for n in range(3)),
        result("A/Season 1", 3, intro=None, confidence=None),  # the season says: no intro (a special)
        result("A/Season 1", 4, signals=("network",)),  # decided alone
        result("A/Season 1", 5, signals=("network", "repetition", "network-only")),  # the season model's own
        result("A/Season 1", 6, confidence=0.3),  # the rule doubted it
        result("A/Season 1", 7, intro=None, confidence=None, signals=("network", "repetition", "too-long")),
        *(result("B/Season 2", n) for n in range(2)),  # two: a shared scene could pass for an intro
        result("B/Season 2", 2, signals=("repetition", "sound", "edges")),  # the cascade: sound alone
    ]
    labels = pseudo_labels(results)
    assert [(label.path.name, label.intro) for label in labels] == [
        ("e0.mkv", (10.0, 40.0)),
        ("e1.mkv", (10.0, 40.0)),
        ("e2.mkv", (10.0, 40.0)),
        ("e3.mkv", None),
        ("e0.mkv", (10.0, 40.0)),
        ("e1.mkv", (10.0, 40.0)),
        ("e2.mkv", (10.0, 40.0)),
    ]
    assert {label.show for label in labels} == {"/tv/A", "/tv/B"}


def test_the_seasons_of_a_show_are_one_show():
    assert show_of("/tv/Show/Season 01") == show_of("/tv/Show/Specials") == show_of("/tv/Show/S02") == "/tv/Show"
    assert show_of("/tv/Miniseries") == "/tv/Miniseries"


# A library whose intros the shipped network cannot know: every second's embedding is noise around the show's
# story vector (its make's, a little apart) or around one vector all the library's intros share, the intro anywhere
# in the first 100 s.
N_SECONDS, DIM = 160, 1000


def _library(shows: int, per_show: int, seed: int) -> list[Embedded]:
    theme = np.random.default_rng(0).random(DIM).astype(np.float32) * 2
    make = np.random.default_rng(100).random(DIM).astype(np.float32) * 2  # what the library's stories share
    rng = np.random.default_rng(seed)
    episodes = []
    for s in range(shows):
        story = make + 0.3 * rng.random(DIM).astype(np.float32)
        for e in range(per_show):
            x = story + 0.3 * rng.standard_normal((N_SECONDS, DIM)).astype(np.float32)
            intro = None
            if e % 4 != 3:
                start = int(rng.integers(0, 100))
                x[start : start + 30] = theme + 0.3 * rng.standard_normal((30, DIM)).astype(np.float32)
                intro = (float(start), float(start + 30))
            episodes.append(
                Embedded(Path(f"/tv/{seed}-{s}/e{e}.mkv"), f"{seed}-{s}", intro, torch.from_numpy(x).clamp(0).half())
            )
    return episodes


@pytest.fixture(scope="module")
def seed() -> Checkpoint:
    return Checkpoint.load(MODELS["seed"])


def _within_2s(model: IntroNet, checkpoint: Checkpoint, episodes: list[Embedded]) -> int:
    right = 0
    with torch.inference_mode():
        for e in episodes:
            scores = torch.sigmoid(model.classify(e.embedding.float().unsqueeze(0))[0]).numpy()
            found = find_intro(scores, checkpoint.intervals)
            if e.intro is None:
                right += found is None
            elif found is not None:
                right += abs(found.start_s - e.intro[0]) <= 2 and abs(found.end_s - e.intro[1]) <= 2
    return right


def test_fitting_teaches_the_library_and_leaves_the_cnns_as_they_were(seed: Checkpoint):
    library = _library(shows=4, per_show=4, seed=1)
    adapted = fit(seed, library, AdaptConfig(epochs=3), progress=lambda _: None)
    assert adapted.improved and adapted.tune_loss_after < adapted.tune_loss_before
    # Every labelled episode was judged, each by a network fitted without its show.
    assert (adapted.before.intros, adapted.before.without) == (12, 4) and adapted.after.right > adapted.before.right
    new = adapted.checkpoint
    assert new.version.startswith("seed-") and "+adapt-" in new.version and new.dims == seed.dims
    assert new.card["adapted_from"] == seed.version and new.card["pseudo_labels"]["episodes"] == 16
    for key, tensor in seed.state_dict.items():
        same = torch.equal(tensor, new.state_dict[key])
        assert same == (key.startswith(("audio.", "image."))), key  # CNNs kept, LSTM and head trained
    # Shows the fit never saw, with the same kind of intro: the adapted network finds them, the shipped one does not.
    unseen = _library(shows=2, per_show=4, seed=2)
    before = _within_2s(seed.network(), seed, unseen)
    after = _within_2s(new.network(), new, unseen)
    assert after >= 6 and after > before, (before, after)


def test_fitting_refuses_too_few_shows_and_a_season_model(seed: Checkpoint):
    with pytest.raises(ValueError, match="2 show"):
        fit(seed, _library(shows=2, per_show=3, seed=3), progress=lambda _: None)
    season = Checkpoint.load(MODELS["season"])
    with pytest.raises(ValueError, match="season model"):
        fit(season, _library(shows=3, per_show=3, seed=3), progress=lambda _: None)


def test_a_label_is_read_into_its_seconds():
    e = Embedded(Path("/tv/x.mkv"), "x", (2.0, 5.0), torch.zeros(6, 3).half())
    assert e.labels.tolist() == [0, 0, 1, 1, 1, 0]
    assert PseudoLabel(Path("/tv/x.mkv"), "x", None).intro is None
    assert IntroNet(ModelDims()).embedding_width == DIM


def _other_make(shows: int, seed: int) -> list[Embedded]:
    """Shows of another make (another story vector range), whose intros the shipped network already finds or not:
    their labels say no intro, and the network is not fitted to them when the first make's fit is kept."""
    rng = np.random.default_rng(seed)
    episodes = []
    for s in range(shows):
        story = 2 + rng.random(DIM).astype(np.float32)
        for e in range(3):
            x = story[::-1] * (np.arange(DIM) % 2) + 0.3 * rng.standard_normal((N_SECONDS, DIM)).astype(np.float32)
            episodes.append(Embedded(Path(f"/tv/o{s}/e{e}.mkv"), f"o{s}", None, torch.from_numpy(x).clamp(0).half()))
    return episodes


def test_a_library_of_two_makes_is_fitted_one_make_at_a_time(seed: Checkpoint):
    alike, other = _library(shows=4, per_show=4, seed=1), _other_make(shows=3, seed=5)
    messages: list[str] = []
    adapted = fit_library(seed, [*other, *alike], AdaptConfig(epochs=3), progress=messages.append)
    assert messages[0] == "fitting 4 of 7 shows (alike)" and adapted.improved
    assert adapted.checkpoint.card["fit_shows"] == ["1-0", "1-1", "1-2", "1-3"]
    assert sorted(show for fold in adapted.checkpoint.card["folds"] for show in fold) == ["1-0", "1-1", "1-2", "1-3"]
    domain = adapted.checkpoint.domain
    assert domain is not None and domain.signatures.shape[0] == 16  # the fitted make's episodes only
    assert not any(domain.contains(e.embedding) for e in other)

"""A lone model fitted to a library decides only the episodes that look like that library (detector.domain); the
shipped model decides the others."""

from dataclasses import replace
from pathlib import Path

import pytest
import torch

from detector.checkpoint import Checkpoint
from detector.domain import REACH, Domain, fitted_domain, makes, signature
from detector.inference import Detector
from detector.weights import MODELS
from tests.clips import write_clip


def _episode(centre: torch.Tensor, seed: int) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return (centre + 0.5 * torch.randn(120, centre.shape[0], generator=g)).clamp(min=0)


def test_an_episode_is_the_librarys_when_it_comes_as_close_as_the_librarys_shows_come_to_each_other():
    g = torch.Generator().manual_seed(0)
    make, other_make = torch.rand(1000, generator=g), torch.rand(1000, generator=g)
    shows = [make + 0.05 * torch.rand(1000, generator=g) for _ in range(4)]
    episodes = [_episode(show, seed=10 * s + e) for s, show in enumerate(shows) for e in range(3)]
    domain = fitted_domain(episodes, [str(s) for s in range(4) for _ in range(3)])
    nearest = 1.0 - domain.min_similarity
    assert 0 < nearest / REACH < 0.01  # the shows of one make are close
    assert domain.contains(_episode(make + 0.05 * torch.rand(1000, generator=g), seed=99))  # a new show of the make
    assert not domain.contains(_episode(other_make, seed=98))
    assert signature(torch.ones(5, 3)).norm().item() == pytest.approx(1.0)


def test_shows_are_grouped_by_make_largest_first():
    g = torch.Generator().manual_seed(1)
    make, other_make = torch.rand(1000, generator=g), torch.rand(1000, generator=g)
    embeddings, shows = [], []
    for name, centre in [("a1", make), ("b1", other_make), ("a2", make), ("a3", make), ("b2", other_make)]:
        show = centre + 0.05 * torch.rand(1000, generator=g)
        embeddings += [_episode(show, seed=len(shows)), _episode(show, seed=len(shows) + 1)]
        shows += [name, name]
    assert makes(embeddings, shows) == [["a1", "a2", "a3"], ["b1", "b2"]]


def test_the_domain_travels_with_the_weights(tmp_path: Path):
    seed = Checkpoint.load(MODELS["seed"])
    domain = Domain(torch.nn.functional.normalize(torch.rand(3, 1000), dim=1), 0.97)
    replace(seed, version="seed-x+adapt-1", domain=domain).save(tmp_path / "adapt.pt")
    loaded = Checkpoint.load(tmp_path / "adapt.pt")
    assert loaded.domain is not None and loaded.domain.min_similarity == 0.97
    assert torch.allclose(loaded.domain.signatures, domain.signatures, atol=1e-3)
    assert Checkpoint.load(MODELS["seed"]).domain is None


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_clip(tmp_path_factory.mktemp("domain") / "clip.mkv", 40.0)


def _fitted(tmp_path: Path, clip: Path, inside: bool) -> Path:
    """A "fitted" lone model that never marks an intro (its head's bias at -20), whose library is either the clip
    itself or something nothing like it."""
    seed = Checkpoint.load(MODELS["seed"])
    embedding = Detector.load(MODELS["seed"], cascade=False, segments=False, threads=1).analyse(clip).embedding
    signatures = signature(embedding).unsqueeze(0) if inside else -signature(embedding).unsqueeze(0)
    state = {**seed.state_dict, "head.bias": torch.full_like(seed.state_dict["head.bias"], -20.0)}
    path = tmp_path / f"adapt-{inside}.pt"
    replace(seed, version="seed-x+adapt-1", state_dict=state, domain=Domain(signatures, 0.99)).save(path)
    return path


def test_an_episode_unlike_the_library_goes_to_the_shipped_model(tmp_path: Path, clip: Path):
    shipped = Detector.load(threads=1).detect(clip)
    assert shipped.intro is not None  # what the shipped lone model marks on this clip

    inside = Detector.load(lone_weights=_fitted(tmp_path, clip, inside=True), threads=1).detect(clip)
    assert inside.intro is None and "outside-library" not in inside.signals  # the fitted model decided

    outside = Detector.load(lone_weights=_fitted(tmp_path, clip, inside=False), threads=1).detect(clip)
    assert "outside-library" in outside.signals
    assert outside.intro == shipped.intro and outside.scores == shipped.scores

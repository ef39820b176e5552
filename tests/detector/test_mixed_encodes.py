"""A season whose episodes were encoded differently (sample rate, channels, loudness, picture size, frame rate,
variable frame rate, quality, container): the intros found with the season as context must not move against those of the season encoded alike.
Episodes with a cold open (procedural season, seed 14: intros at about 7 s), so that the start is measured, not
pinned at 0."""

from __future__ import annotations

from pathlib import Path

import pytest

from detector import Detection, Detector
from tests.clips import reencode, remux

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def cold_open_season(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    from corpus.procedural import make_season

    out = tmp_path_factory.mktemp("cold-open-season")
    truths = make_season(out, episodes=3, seed=14)
    return sorted(out / t.path for t in truths)


def intros(paths: list[Path]) -> list[tuple[float, float]]:
    detector = Detector.load(threads=1)
    found: dict[Path, Detection] = {}
    for path, result in detector.detect_season(paths):
        assert isinstance(result, Detection), result
        found[path] = result
    spans = []
    for path in paths:
        intro = found[path].intro
        assert intro is not None, path
        spans.append((intro.start_s, intro.end_s))
    return spans


def test_a_season_of_mixed_encodes_gets_the_intros_of_the_season_encoded_alike(
    cold_open_season: list[Path], tmp_path: Path
) -> None:
    alike = intros(cold_open_season)
    assert all(start > 5.0 for start, _ in alike), alike  # the cold opens are there
    first, second, third = cold_open_season
    mixed_folder = tmp_path / "mixed"
    mixed_folder.mkdir()
    mixed = [
        remux(first, mixed_folder / (first.stem + ".mp4")),  # another container
        reencode(second, mixed_folder / second.name, height=360, crf=30, sample_rate=44_100, gain=0.25, fps=12),
        reencode(
            third, mixed_folder / third.name, height=180, crf=36, sample_rate=22_050, gain=2.0, layout="mono", vfr=True
        ),
    ]
    for (start, end), (start_alike, end_alike) in zip(intros(mixed), alike, strict=True):
        assert abs(start - start_alike) <= 1.0 and abs(end - end_alike) <= 1.0, (start, end, start_alike, end_alike)

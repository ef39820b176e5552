"""Media that should work: one episode encoded as real libraries hold it, each detected alone, gets the intro the
original gets. (Rotation metadata and 4K are not generated here: PyAV cannot write a display matrix, and a 4K
encode costs too much for the suite.)"""

from pathlib import Path

import pytest

from detector import Detector
from detector.result import Detection
from tests.clips import variant

pytestmark = pytest.mark.slow

SOUND = {  # the same picture; the sound in another layout, rate or clock
    "5.1.mkv": {"layout": "5.1"},
    "7.1.mkv": {"layout": "7.1"},
    "8khz-mono.mkv": {"layout": "mono", "sample_rate": 8000},
    "recording-at-10h.ts": {"start_s": 36_000.0},
}
PICTURE = {  # the same sound; the picture in another codec, shape or rate
    "hevc-10bit.mkv": {"vcodec": "libx265", "pix_fmt": "yuv420p10le"},
    "portrait.mp4": {"size": (96, 160)},
    "vfr.mkv": {"vfr": True},
}


@pytest.fixture(scope="module")
def detector() -> Detector:
    return Detector.load(threads=1)


@pytest.fixture(scope="module")
def original(detector: Detector, season_media: list[Path]) -> Detection:
    result = detector.detect(season_media[0])
    assert result.intro is not None
    return result


@pytest.mark.parametrize("name", [*SOUND, *PICTURE])
def test_every_valid_encoding_gives_the_same_intro(
    name: str, detector: Detector, original: Detection, season_media: list[Path], tmp_path: Path
) -> None:
    options = {**SOUND, **PICTURE}[name]
    result = detector.detect(variant(season_media[0], tmp_path / name, **options))  # type: ignore[arg-type]
    assert result.duration_s == pytest.approx(original.duration_s, abs=1.0)
    assert result.intro is not None and original.intro is not None
    assert result.intro.start_s == pytest.approx(original.intro.start_s, abs=1.0)
    assert result.intro.end_s == pytest.approx(original.intro.end_s, abs=1.0)

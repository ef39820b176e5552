"""Detector.detect episode by episode over a season: each file is decoded once, whatever the order."""

from pathlib import Path

import pytest

import detector.inference as inference
from detector import Detector


def test_a_first_scan_decodes_each_episode_once(season_media: list[Path], monkeypatch: pytest.MonkeyPatch):
    decoded: list[Path] = []
    real_extract = inference.extract

    def counting_extract(path, *args, **kwargs):  # type: ignore[no-untyped-def]
        decoded.append(Path(path))
        return real_extract(path, *args, **kwargs)

    monkeypatch.setattr(inference, "extract", counting_extract)
    detector = Detector.load(threads=1)
    results = [detector.detect(p, [s for s in season_media if s != p]) for p in season_media]
    assert sorted(decoded) == sorted(season_media)  # the first target's siblings were analysed once, then reused
    assert all("repetition" in r.signals for r in results)
    # A later detection of the same file (a re-scan) decodes it again: nothing stale is kept.
    detector.detect(season_media[0], season_media[1:])
    assert decoded.count(season_media[0]) == 2

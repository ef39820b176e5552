"""A lone episode's cascade: the key frames' pictures first, the exact ones where the lone model then finds an intro
(detector.inference, _exact_where_unsure). Same intro as every second's exact picture, a fraction of the frames."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from corpus.build import long_episode
from detector import Detector
from detector.decode import COUNTS
from detector.inference import _candidates
from detector.labels import EpisodeTruth

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def episode(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, EpisodeTruth]:
    """Four minutes with a release's GOP (keyint 250: a key frame every 10 s at most), small pictures."""
    path = tmp_path_factory.mktemp("lone") / "Show S01E01.mkv"
    return path, long_episode(path, minutes=4, width=320, height=180, seed=3, assets=None)


def test_a_lone_episode_gets_the_intro_of_every_exact_picture_from_a_fraction_of_them(
    episode: tuple[Path, EpisodeTruth],
) -> None:
    path, truth = episode
    assert truth.intro is not None
    found = {}
    for cascade in (False, True):
        detector = Detector.load(threads=1, cascade=cascade)
        before = COUNTS.video_frames
        analysis = detector.analyse(path, siblings=0)
        frames = COUNTS.video_frames - before
        found[cascade] = (detector.finish(analysis, []).intro, frames, analysis.fingerprints)
    (full, full_frames, full_fp), (cascade, cascade_frames, cascade_fp) = found[False], found[True]
    assert full is not None and cascade is not None
    assert (cascade.start_s, cascade.end_s) == (full.start_s, full.end_s)
    assert abs(cascade.start_s - truth.intro.start_s) <= 1.0 and abs(cascade.end_s - truth.intro.end_s) <= 1.0
    assert cascade_frames < full_frames / 2, (cascade_frames, full_frames)
    # The pictures' hashes: the exact pictures' where they were decoded, "no information" (0) elsewhere.
    assert full_fp is not None and cascade_fp is not None
    known = cascade_fp.picture != 0
    assert known[int(full.start_s) : int(full.end_s)].all() and not known.all()
    assert np.array_equal(cascade_fp.picture[known], full_fp.picture[known])


def test_the_runs_an_intro_can_be_in_come_surest_first() -> None:
    scores = np.zeros(100, np.float32)
    scores[10:20] = 0.9  # an intro's, by the DBSCAN threshold
    scores[40:45] = 1.0  # surer, but shorter: less in all
    scores[60:90] = 0.15  # what key frames can leave of a hidden intro: after every intro-like run
    assert _candidates(scores, 0.5) == [(10, 20), (40, 45), (60, 90)]

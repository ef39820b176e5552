import numpy as np

from detector.intervals import IntervalParams, find_intro


def scores(n: int, *spans: tuple[int, int, float]) -> np.ndarray:
    s = np.full(n, 0.05)
    for a, b, v in spans:
        s[a:b] = v
    return s


def test_one_block_gives_its_first_and_last_second():
    intro = find_intro(scores(120, (12, 71, 0.95)))
    assert intro is not None
    assert (intro.start_s, intro.end_s) == (12.0, 71.0)
    assert 0.9 < intro.confidence <= 0.95


def test_small_holes_are_bridged_by_eps():
    s = scores(120, (10, 50, 0.9))
    s[[20, 21, 33]] = 0.1
    intro = find_intro(s, IntervalParams(eps_s=3.0, min_samples=3))
    assert intro is not None and (intro.start_s, intro.end_s) == (10.0, 50.0)


def test_largest_cluster_wins_over_a_stray_music_scene():
    intro = find_intro(scores(300, (40, 100, 0.9), (200, 215, 0.9)))
    assert intro is not None and (intro.start_s, intro.end_s) == (40.0, 100.0)


def test_isolated_points_are_noise():
    s = scores(100)
    s[[5, 30, 60, 90]] = 0.99
    assert find_intro(s, IntervalParams(eps_s=2.0, min_samples=3)) is None


def test_no_positive_seconds_means_no_intro():
    assert find_intro(np.zeros(50)) is None
    assert find_intro(np.zeros(0)) is None


def test_threshold_decides_which_seconds_are_points():
    s = scores(100, (10, 40, 0.45))
    assert find_intro(s, IntervalParams(threshold=0.5)) is None
    intro = find_intro(s, IntervalParams(threshold=0.4))
    assert intro is not None and intro.start_s == 10.0


def test_too_short_cluster_is_rejected():
    assert find_intro(scores(100, (10, 13, 0.9)), IntervalParams(min_samples=2, min_duration_s=5.0)) is None

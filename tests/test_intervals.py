import numpy as np

from detector.intervals import IntervalParams, find_intro, find_repeated_intro, trim_to_core


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


def support_for(start_s: float, end_s: float, n: int, level: float = 1.0) -> np.ndarray:
    """Per-second share of each second inside [start_s, end_s), times level."""
    k = np.arange(n)
    return level * np.clip(np.minimum(k + 1, end_s) - np.maximum(k, start_s), 0, 1)


def test_trim_cuts_what_only_one_sibling_of_the_core_repeats():
    support = support_for(20, 60, 200, level=0.4)
    support[60:64] = 0.2  # one of two siblings goes on sharing the next scene's first seconds
    support[16:20] = 0.2
    assert trim_to_core(support, 16, 64) == (20, 60)
    assert trim_to_core(support_for(20, 60, 200), 20, 60) == (20, 60)


def test_repeated_segment_is_the_intro_when_siblings_exist():
    support = support_for(30.4, 75.2, 200, level=0.8)
    support[120:126] = 0.9  # a repeated sting: too short to be an intro
    intro = find_repeated_intro(np.full(200, 0.2), support)
    assert intro is not None and (intro.start_s, intro.end_s) == (30.0, 75.0)  # 75 is a fifth shared: trimmed


def test_network_chooses_between_repeated_segments():
    support = support_for(10, 30, 200) + support_for(100, 121, 200)  # a recap clip and the intro
    net = scores(200, (100, 121, 0.9))
    intro = find_repeated_intro(net, support)
    assert intro is not None and intro.start_s == 100.0


def test_nothing_repeats_means_no_intro_even_if_the_network_says_so():
    assert find_repeated_intro(scores(200, (10, 40, 0.99)), np.zeros(200)) is None

from pathlib import Path

import numpy as np

from detector.cuts import FADE_REACH_S, MAX_SNAP_S, black_frames, shot_cuts, snap, snap_intro, through_black, window
from detector.decode import decode_pictures
from detector.result import Intro
from tests.clips import write_clip

FPS = 25


def _shots(levels: list[int], seconds_each: float, drift: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """Flat grey shots one after another, each drifting a little per frame (a slow pan)."""
    n = int(seconds_each * FPS)
    pictures = [np.full((36, 64), level + drift * (i % n), np.float32) for level in levels for i in range(n)]
    return np.arange(len(pictures)) / FPS, np.stack(pictures)


def test_a_cut_is_found_at_the_first_frame_of_the_new_shot():
    times, pictures = _shots([40, 160, 90], 1.0, drift=0.3)
    assert np.allclose(shot_cuts(times, pictures), [1.0, 2.0])


def test_a_fade_is_not_a_cut():
    times = np.arange(50) / FPS
    pictures = np.stack([np.full((36, 64), 200 - 4 * i, np.float32) for i in range(50)])
    assert shot_cuts(times, pictures).size == 0


def test_too_few_frames_give_no_cut():
    assert shot_cuts(np.array([0.0, 0.04]), np.zeros((2, 36, 64))).size == 0


def test_snap_takes_the_nearest_cut_within_reach_only():
    cuts = np.array([10.0, 12.4, 13.1])
    assert snap(12.9, cuts) == 13.1
    assert snap(11.4, cuts) == 12.4
    assert snap(20.0, cuts) == 20.0
    assert snap(12.0, np.zeros(0)) == 12.0
    assert snap(10.0 + MAX_SNAP_S + 0.01, np.array([10.0])) == 10.0 + MAX_SNAP_S + 0.01


def test_snap_intro_counts_the_first_frame_as_a_cut_and_keeps_the_confidence():
    intro = Intro(start_s=0.6, end_s=52.3, confidence=0.8)
    start_span = _span(0.0, [(200, 2.6)])  # no cut: the file's first frame is one
    end_span = _span(50.32, [(200, 2.64), (100, 1.6)])  # a cut at 52.96
    snapped = snap_intro(intro, start_span, end_span)
    assert snapped == Intro(start_s=0.0, end_s=52.96, confidence=0.8)


def _span(first_s: float, levels_each_s: list[tuple[int, float]]) -> tuple[np.ndarray, np.ndarray]:
    """Frames from first_s: flat pictures of each (grey level, seconds)."""
    pictures = [np.full((36, 64), level, np.uint8) for level, secs in levels_each_s for _ in range(round(secs * FPS))]
    return first_s + np.arange(len(pictures)) / FPS, np.stack(pictures)


def test_black_next_to_the_intro_is_part_of_it():
    # Story (grey 120) until 30.0, black to 30.8, the title sequence from 30.8 to 60.0, black to 61.2, then story.
    start_span = _span(28.8, [(120, 1.2), (16, 0.8), (200, 2.0)])
    end_span = _span(58.0, [(200, 2.0), (16, 1.2), (120, 2.0)])
    intro = Intro(start_s=30.8, end_s=60.0, confidence=0.9)  # where the sound and the cuts put it
    framed = through_black(intro, start_span, end_span)
    assert framed == Intro(start_s=30.0, end_s=61.2, confidence=0.9)


def test_no_black_next_to_the_intro_leaves_it_alone():
    start_span = _span(28.8, [(120, 2.0), (200, 2.0)])
    end_span = _span(58.0, [(200, 2.0), (120, 2.0)])
    intro = Intro(start_s=30.8, end_s=60.0, confidence=0.9)
    assert through_black(intro, start_span, end_span) is intro


def test_black_from_the_files_first_frame_is_the_intros():
    intro = Intro(start_s=0.6, end_s=30.0, confidence=0.9)  # the sound's start, at the black's end
    framed = through_black(intro, _span(0.0, [(16, 0.6), (200, 2.0)]), _span(28.0, [(200, 2.0), (120, 2.0)]))
    assert framed.start_s == 0.0 and framed.end_s == 30.0


def test_black_running_past_the_decoded_span_moves_nothing():
    # All black to the span's edge, or from its start: no frame of story seen, so no black "between" (an all-black
    # picture track, as in tests/detector/test_intro_skipper_media.py).
    intro = Intro(start_s=10.0, end_s=60.0, confidence=0.9)
    framed = through_black(intro, _span(8.0, [(16, 2.0), (200, 2.0)]), _span(58.0, [(200, 2.0), (16, 2.0)]))
    assert framed is intro


def test_a_night_scene_is_not_black():
    night = np.full((36, 64), 10, np.uint8)
    night[5:9, 20:40] = 200  # a lit window: 3.5 % of the picture
    assert list(black_frames(np.stack([night, np.full((36, 64), 16, np.uint8)]))) == [False, True]


def test_the_ends_reach_further_outward_over_a_held_picture():
    # The theme fades in under the first title shot and out under the last: the sound's start is late and its end
    # early, by more than MAX_SNAP_S; over the held title shot the ends reach FADE_REACH_S outward.
    far = 2.2  # past MAX_SNAP_S, within FADE_REACH_S, on a frame (FPS)
    assert MAX_SNAP_S < far < FADE_REACH_S
    intro = Intro(start_s=30.0, end_s=60.0, confidence=0.9)
    start_span = _span(26.0, [(100, 4.0 - far), (200, 2 * far), (120, 2.0)])  # cuts at 27.8 and 32.2
    end_span = _span(56.0, [(140, 4.0 - far), (200, 2 * far), (100, 2.0)])  # cuts at 57.8 and 62.2
    snapped = snap_intro(intro, start_span, end_span)
    assert (snapped.start_s, snapped.end_s) == (30.0 - far, 60.0 + far)  # inward, 2.2 s is past MAX_SNAP_S


def test_a_dissolve_into_the_story_stops_the_outward_reach():
    # The title shot (200) dissolves into the story (100) from 60.0 to 61.0; the story cuts to its next shot at
    # 62.25: that cut is the story's, and the end stays where the sound put it.
    blend = [(round(200 - 100 * k / 25), 1 / FPS) for k in range(25)]
    end_span = _span(56.0, [(200, 4.0), *blend, (100, 1.24), (160, 2.0)])
    intro = Intro(start_s=10.0, end_s=60.0, confidence=0.9)
    snapped = snap_intro(intro, _span(6.0, [(100, 4.0), (200, 4.0)]), end_span)
    assert snapped.start_s == 10.0 and snapped.end_s == 60.0
    assert FADE_REACH_S > 62.24 - 60.0 > MAX_SNAP_S


def test_window_reaches_past_the_snap_limit_and_not_before_the_file():
    lo, hi = window(50.0)
    assert lo < 50.0 - MAX_SNAP_S and hi > 50.0 + MAX_SNAP_S
    assert window(0.3)[0] == 0.0


def test_cuts_in_a_real_file_are_placed_to_the_frame(tmp_path: Path):
    # write_clip changes the grey level every second: a cut at each whole second
    clip = write_clip(tmp_path / "cuts.mkv", 8.0, fps=FPS, bframes=3)
    [(times, pictures)] = decode_pictures(clip, [(2.5, 5.5)])
    assert pictures.shape[1:] == (36, 64) and times[0] >= 2.5 and times[-1] <= 5.5
    assert np.allclose(shot_cuts(times, pictures), [3.0, 4.0, 5.0], atol=0.5 / FPS)

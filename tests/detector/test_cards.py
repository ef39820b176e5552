"""Credits on a dark card from key frames: a long run of dark pictures with text is credits; a dark scene, a black
gap and an act-break card are not."""

from __future__ import annotations

import numpy as np

from detector.cards import card_mask, card_run, first_dark, first_lit

H, W = 36, 64
rng = np.random.default_rng(0)


def card() -> np.ndarray:
    picture = rng.integers(0, 20, (H, W)).astype(np.uint8)
    picture[rng.integers(5, 30), 10:50] = 230  # a line of names
    return picture


def black() -> np.ndarray:
    return np.zeros((H, W), np.uint8)


def dark_scene() -> np.ndarray:
    return rng.integers(20, 90, (H, W)).astype(np.uint8)  # dark, but mid tones everywhere


def scene() -> np.ndarray:
    return rng.integers(0, 255, (H, W)).astype(np.uint8)


def test_what_is_a_card() -> None:
    assert card_mask(np.stack([card(), black(), dark_scene(), scene()])).tolist() == [True, False, False, False]


def test_the_credits_are_the_long_run_of_cards_not_a_gap_or_an_act_break() -> None:
    # Key frames every 2 s over the last 200 s of an episode: an act-break card (4 s) and a black gap (2 s) in the
    # story, a dark scene, then 40 s of credit cards, then a post-credits scene.
    layout = [scene] * 20 + [card] * 2 + [scene] * 10 + [black] + [dark_scene] * 20 + [scene] * 27
    layout += [card, black] * 10 + [scene] * 20
    times = 400.0 + 2.0 * np.arange(len(layout))
    pictures = np.stack([make() for make in layout])
    run = card_run(times, pictures)
    assert run is not None
    before_s, first_s, end_s = run
    credits_at = 400.0 + 2.0 * 80
    assert (first_s, before_s, end_s) == (credits_at, credits_at - 2.0, credits_at + 40.0)


def test_credits_that_run_to_the_end_and_none_without_text() -> None:
    layout = [scene] * 10 + [card] * 10
    times = 2.0 * np.arange(len(layout))
    run = card_run(times, np.stack([m() for m in layout]))
    assert run is not None and run[2] == float("inf")
    assert card_run(times, np.stack([m() for m in [scene] * 10 + [black] * 10])) is None  # black, no names


def test_the_first_card_frame_is_placed_to_the_frame() -> None:
    times = np.arange(48) / 24
    pictures = np.stack([scene() for _ in range(30)] + [card() for _ in range(18)])
    assert first_dark(times, pictures, default_s=2.0) == 30 / 24
    assert first_dark(times, np.stack([scene() for _ in range(48)]), default_s=2.0) == 2.0


def test_small_scrolling_names_blurred_on_the_small_picture_are_text() -> None:
    # A line of small names on 64x36 blurs to a grey of ~100 over a few pixels, not a white line.
    picture = rng.integers(0, 20, (H, W)).astype(np.uint8)
    picture[18, 20:24] = 100
    assert card_mask(picture[None]).tolist() == [True]
    assert card_mask(dark_scene()[None]).tolist() == [False]


def test_scrolling_names_with_black_between_them_on_most_key_frames_are_credits() -> None:
    # 30 s of scrolling credits: a key frame every 2 s catches names on 6 of 15, black between them on the rest.
    layout = [scene] * 10 + [card, black, black, card, black] * 3 + [scene] * 5
    times = 2.0 * np.arange(len(layout))
    run = card_run(times, np.stack([m() for m in layout]))
    assert run is not None and run[1] == 20.0 and run[2] == 50.0


def test_a_dense_page_of_names_is_a_card_and_a_lit_night_scene_is_not() -> None:
    own = np.random.default_rng(1)
    # Six lines of names over the picture: a quarter of its pixels are letters and their blurred edges.
    page = own.integers(0, 20, (H, W)).astype(np.uint8)
    for row in range(3, H, 6):
        page[row, 8:56] = 200
        page[row - 1, 8:56] = 60
    # A night scene: nearly as dark, but its other pixels are mid tones (lit walls, faces), and a few lights.
    night = own.integers(0, 35, (H, W)).astype(np.uint8)
    lit = own.random((H, W)) < 0.28
    night[lit] = own.integers(45, 75, int(lit.sum()))
    night[0, :4] = 250
    assert card_mask(np.stack([page, night])).tolist() == [True, False]


def test_the_first_picture_after_the_cards_is_placed_to_the_frame() -> None:
    times = np.arange(48) / 24
    pictures = np.stack([card() for _ in range(20)] + [black() for _ in range(6)] + [scene() for _ in range(22)])
    assert first_lit(times, pictures, default_s=2.0) == 26 / 24
    assert first_lit(times, np.stack([black() for _ in range(48)]), default_s=2.0) == 2.0

"""detector.speech: a lone intro that holds speech, narrowed to the music in it (issue 25)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from detector.fingerprint import Fingerprints
from detector.inference import Analysis
from detector.result import Intro
from detector.speech import MIN_STEADY_S, narrowed_to_music

SPEECH, MUSIC, SCORE = 0.3, -1.4, -0.2  # spectral change: a voice, a theme, story's score (episode-relative)


def _change(n: int, *runs: tuple[int, int, float], rest: float = SPEECH) -> np.ndarray:
    change = np.full(n, rest, np.float32)
    for a, b, level in runs:
        change[a:b] = level
    return change


def test_a_cold_open_marked_with_the_intro_is_cut_off() -> None:
    # The network marked 0-90 s (its position prior); speech until 20 s, a theme 20-50 s, speech again.
    scores = np.full(180, 0.9, np.float32)
    narrowed = narrowed_to_music(Intro(0.0, 90.0, 0.9), _change(180, (20, 50, MUSIC)), scores)
    assert narrowed is not None and (narrowed.start_s, narrowed.end_s) == (20.0, 50.0)


def test_the_music_may_reach_past_where_the_network_stopped() -> None:
    # The network's scores fell across the real intro (the 0-31 s for an intro at 20-50 s).
    scores = np.r_[np.full(31, 0.95), np.full(149, 0.1)].astype(np.float32)
    narrowed = narrowed_to_music(Intro(0.0, 31.0, 0.9), _change(180, (20, 50, MUSIC)), scores)
    assert narrowed is not None and (narrowed.start_s, narrowed.end_s) == (20.0, 50.0)
    assert narrowed.confidence < 0.9  # the network's own scores over the run, low past 31 s


def test_an_intro_that_is_all_music_stays_as_marked() -> None:
    scores = np.full(180, 0.9, np.float32)
    assert narrowed_to_music(Intro(30.0, 70.0, 0.9), _change(180, (30, 70, MUSIC)), scores) is None


def test_a_theme_around_a_steady_stretch_is_not_taken_for_speech() -> None:
    # A theme whose middle holds a long chord: the rest changes no faster than the episode's usual (score).
    scores = np.full(180, 0.9, np.float32)
    change = _change(180, (30, 100, SCORE), (50, 70, MUSIC))
    assert narrowed_to_music(Intro(30.0, 100.0, 0.9), change, scores) is None


def test_a_short_steady_run_in_speech_is_a_pause_not_an_intro() -> None:
    scores = np.full(180, 0.9, np.float32)
    change = _change(180, (40, 40 + MIN_STEADY_S - 3, MUSIC))
    assert narrowed_to_music(Intro(0.0, 90.0, 0.9), change, scores) is None


def test_the_change_survives_a_stored_analysis(tmp_path: Path) -> None:
    # An episode decided with one sibling is decided again from what is stored (revisit); its lone fallback must
    # see the same sound as when the file was decoded.
    path = tmp_path / "Show S01E01.mkv"
    prints = Fingerprints(audio=np.arange(40, dtype=np.uint32), picture=np.zeros(4, np.uint64))
    change = np.array([0.1, -0.5, -1.2, 0.3], np.float32)
    analysis = Analysis(path, 8.0, torch.ones(4, 3), prints, lone_embedding=torch.zeros(4, 3), sound_change=change)
    restored = Analysis.from_bytes(path, analysis.to_bytes("m", 1), "m")
    assert restored is not None
    assert restored[0].sound_change is not None and np.array_equal(restored[0].sound_change, change)
    assert restored[0].lone_embedding is not None and torch.equal(restored[0].lone_embedding, torch.zeros(4, 3))
    without = Analysis.from_bytes(path, Analysis(path, 8.0, torch.ones(4, 3), prints).to_bytes("m", 1), "m")
    assert without is not None and without[0].sound_change is None and without[0].lone_embedding is None

"""The Intro Skipper baseline's pure stages on hand-made Chromaprint points (no fpcalc needed)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from bench.intro_skipper import (
    POINT_S,
    IntroSkipperParams,
    Span,
    analysis_window_s,
    candidate_shifts,
    compare_episodes,
    longest_run,
    parse_fpcalc,
    reduce_season,
    refine_end_on_silence,
    silence_spans,
)
from detector.labels import EpisodeTruth, IntroSpan, load_truth, write_truth


def points_for(seconds: float) -> int:
    return round(seconds / POINT_S)


class Points:
    """Random raw points with a shared "intro" pasted in, slightly damaged (a few bits, as a re-encode does)."""

    def __init__(self, seed: int = 0, intro_s: float = 40) -> None:
        self.rng = np.random.default_rng(seed)
        self.intro = self.random(intro_s)

    def random(self, seconds: float) -> np.ndarray:
        return self.rng.integers(0, 2**32, points_for(seconds), dtype=np.uint32)

    def damaged(self, points: np.ndarray, max_bits: int = 3, share: float = 0.5) -> np.ndarray:
        """Flip up to max_bits bits in `share` of the points; the rest stay exact (the index needs some)."""
        out = points.copy()
        for i in np.flatnonzero(self.rng.random(len(points)) < share):
            for bit in self.rng.choice(32, self.rng.integers(1, max_bits + 1), replace=False):
                out[i] ^= np.uint32(1 << int(bit))
        return out

    def episode(self, intro_at_s: float | None, length_s: float = 300, segment: np.ndarray | None = None) -> np.ndarray:
        points = self.random(length_s)
        if intro_at_s is not None:
            shared = self.damaged(self.intro if segment is None else segment)
            start = points_for(intro_at_s)
            points[start : start + len(shared)] = shared
        return points


def test_analysis_window() -> None:
    assert analysis_window_s(44 * 60) == 600
    assert analysis_window_s(20 * 60) == 300
    assert analysis_window_s(4 * 60) == 240  # under 5 min: the whole file


def test_candidate_shifts_contain_the_true_shift() -> None:
    maker = Points()
    lhs, rhs = maker.episode(30), maker.episode(70)
    assert points_for(70) - points_for(30) in candidate_shifts(lhs, rhs)


def test_candidate_shifts_probe_neighbouring_values() -> None:
    lhs = np.array([100, 7, 8], dtype=np.uint32)
    rhs = np.array([1, 2, 102, 3], dtype=np.uint32)  # 102 = 100 + 2: found; +3 would not be
    assert list(candidate_shifts(lhs, rhs)) == [2]
    assert len(candidate_shifts(lhs, rhs + 1)) == 0


def test_longest_run_joins_gaps_up_to_the_skip() -> None:
    times = np.array([0, 1, 2, 5.4, 6, 20, 21, 22, 23, 24, 25])
    assert longest_run(times, 3.5) == Span(0, 6)  # the 3.4 s gap is joined: 6 s beats 20-25
    assert longest_run(times, 3.0) == Span(20, 25)
    assert longest_run(np.zeros(0), 3.5) is None


def test_compare_episodes_finds_the_shared_intro_on_both_sides() -> None:
    maker = Points()
    found = compare_episodes(maker.episode(30), maker.episode(70))
    assert found is not None
    lhs, rhs = found
    assert lhs.start_s == pytest.approx(30, abs=0.5) and lhs.end_s == pytest.approx(70, abs=0.5)
    assert rhs.start_s == pytest.approx(70, abs=0.5) and rhs.end_s == pytest.approx(110, abs=0.5)


def test_too_many_differing_bits_do_not_match() -> None:
    maker = Points()
    lhs = maker.episode(30)
    rhs = maker.random(300)
    damaged = maker.intro.copy()
    keep = np.arange(len(damaged)) % 2 == 0  # half exact (so the shift is found), half with 8 of 32 bits off
    damaged[~keep] ^= np.uint32(0xFF)
    rhs[points_for(70) : points_for(70) + len(damaged)] = damaged
    found = compare_episodes(lhs, rhs)
    assert found is not None  # exact points every 0.25 s: within the 3.5 s skip
    damaged[keep] ^= np.uint32(0xFF00)
    rhs[points_for(70) : points_for(70) + len(damaged)] = damaged
    assert compare_episodes(lhs, rhs) is None


def test_short_shared_segment_is_no_intro_and_early_start_snaps_to_zero() -> None:
    maker = Points(intro_s=10)  # under the 15 s minimum
    assert compare_episodes(maker.episode(30), maker.episode(70)) is None
    maker = Points(intro_s=40)
    found = compare_episodes(maker.episode(4), maker.episode(60))
    assert found is not None
    assert found[0].start_s == 0 and found[0].end_s == pytest.approx(44, abs=0.5)
    assert found[1].start_s == pytest.approx(60, abs=0.5)


def test_end_trimming_of_the_old_versions() -> None:
    maker = Points()
    lhs, rhs = maker.episode(30), maker.episode(70)
    trimmed = compare_episodes(lhs, rhs, IntroSkipperParams(trim_ends=True))
    assert trimmed is not None
    assert trimmed[0].end_s == pytest.approx(70 - 3.5, abs=0.5)  # 40 s: >= 30 s, < 90 s


def test_season_reduction() -> None:
    maker = Points()
    season = [maker.episode(30), maker.episode(None), maker.episode(0), maker.episode(100)]
    intros = reduce_season(season)
    assert intros[1] is None
    first, third, fourth = intros[0], intros[2], intros[3]
    assert first is not None and first.start_s == pytest.approx(30, abs=0.5)
    assert third is not None and third.start_s == 0
    assert fourth is not None and fourth.end_s == pytest.approx(140, abs=0.5)


def test_season_reduction_rejects_overlong_intros() -> None:
    maker = Points(intro_s=150)
    assert reduce_season([maker.episode(20), maker.episode(40)]) == [None, None]


def test_season_needs_two_episodes() -> None:
    assert reduce_season([Points().episode(30)]) == [None]
    assert reduce_season([]) == []


def test_silence_spans_like_silencedetect() -> None:
    rate = 1000
    samples = np.full(10 * rate, 0.1, dtype=np.float32)
    samples[2000:2500] = 0.001  # 0.5 s under -50 dB (0.00316)
    samples[6000:6050] = 0.0  # 0.05 s: under silencedetect's 0.1 s
    assert silence_spans(samples, rate) == [Span(2.0, 2.5)]


def test_end_moves_to_silence_in_the_last_15_s_only() -> None:
    intro = Span(10, 70)
    assert refine_end_on_silence(intro, [Span(64.0, 64.5)]) == Span(10, 64.0)
    assert refine_end_on_silence(intro, [Span(40.0, 41.0)]) == intro  # before the last 15 s
    assert refine_end_on_silence(intro, [Span(64.0, 64.2)]) == intro  # under 0.33 s
    assert refine_end_on_silence(intro, [Span(50, 51), Span(60, 61), Span(66, 67)]) == Span(10, 60)


def test_parse_fpcalc_accepts_exit_3_with_a_fingerprint() -> None:
    out = "DURATION=208\nFINGERPRINT=829218009,829226203,4294967295\n"
    assert list(parse_fpcalc(out, 3)) == [829218009, 829226203, 4294967295]
    assert parse_fpcalc(out, 0).dtype == np.uint32
    with pytest.raises(RuntimeError):
        parse_fpcalc("", 3)
    with pytest.raises(RuntimeError):
        parse_fpcalc(out, 2)


def test_compare_baseline_scores_seasons_with_the_detector_metrics(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import bench.compare as compare
    from detector.training.metrics import evaluate

    truth = [
        EpisodeTruth("Show/Season 01/E01.mkv", "Show", "01", 600, IntroSpan(10, 40)),
        EpisodeTruth("Show/Season 01/E02.mkv", "Show", "01", 600, IntroSpan(70, 100)),
        EpisodeTruth("Show/Season 01/E03.mkv", "Show", "01", 600, None),
        EpisodeTruth("Other/Season 02/E01.mkv", "Other", "02", 600, IntroSpan(0, 20)),
    ]
    write_truth(tmp_path / "truth.json", truth)
    answers = {
        "E01.mkv": (10.5, 40.5),  # within 1 s
        "E02.mkv": (70.0, 96.0),  # end 4 s off
        "E03.mkv": (5.0, 30.0),  # a false intro
    }
    seasons_seen = []

    def fake_detect_season(paths: list[Path]) -> dict[Path, tuple[float, float] | None]:
        seasons_seen.append(sorted(p.name for p in paths))
        return {p: answers.get(p.name) if "Other" not in str(p) else None for p in paths}

    monkeypatch.setattr(compare, "detect_season", fake_detect_season)
    report = evaluate([x.outcome for x in compare.baseline(tmp_path, load_truth(tmp_path))])
    assert sorted(seasons_seen) == [["E01.mkv"], ["E01.mkv", "E02.mkv", "E03.mkv"]]
    assert report.within_1s == pytest.approx(1 / 3)
    assert report.missed == 1 and report.false_intros == 1
    assert report.mae_end_s == pytest.approx((0.5 + 4) / 2)


def test_compare_refuses_to_run_the_anchor_without_fpcalc(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import bench.compare as compare

    monkeypatch.setattr(compare.shutil, "which", lambda name: None)
    with pytest.raises(SystemExit):
        compare.main([str(tmp_path)])
    err = capsys.readouterr().err
    assert "needs fpcalc" in err and "--no-baseline" in err

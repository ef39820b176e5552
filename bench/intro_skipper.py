"""Baseline: Jellyfin Intro Skipper's published intro algorithm (anchors note, sections 1.2-1.4, defaults 1.8).

    python -m bench.intro_skipper EPISODE... (one season)

Stages: Chromaprint raw points of the first min(25 %, 10 min) of each episode (fpcalc) -> pairwise comparison
(inverted index with +-2 value shift, XOR <= 6 differing bits, matches joined over gaps <= 3.5 s, longest range,
15-120 s, start <= 5 s snapped to 0) -> season reduction (each episode compared with the remaining ones until the
first valid match; each keeps its longest interval) -> end moved to the first silence >= 0.33 s at -50 dB in the
intro's last 15 s.

Where the plugin's versions differ we follow the newer one and say so: 0.1238 s per point (not 0.128), the range
pair of one shift kept together (the old code sorted both sides' lists separately), no end trimming (the old
"TODO: remove" -7 s / -3.5 s; `trim_ends=True` restores it).

The algorithm's functions are pure (arrays in, spans out); fpcalc and PyAV are used only by `detect_season`.
"""

from __future__ import annotations

import argparse
import logging
import subprocess
import sys
import tempfile
import wave
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import av
import numpy as np

# The label format's span (start_s, end_s, duration_s) serves the algorithm's matches and silences too.
from detector.labels import IntroSpan as Span

log = logging.getLogger(__name__)

# Chromaprint's default algorithm (TEST2): 4096-sample frames at 11025 Hz, hop 1/3 frame.
POINT_S = 4096 / 11025 / 3
# fpcalc numbers algorithms from 1 (it passes N - 1 to chromaprint_new): 2 is CHROMAPRINT_ALGORITHM_DEFAULT, the one
# FFmpeg's chromaprint muxer, and so the plugin, uses. fpcalc -algorithm 1 would be TEST1.
FPCALC_ALGORITHM = 2
SILENCE_SAMPLE_RATE = 16000


@dataclass(frozen=True)
class IntroSkipperParams:
    analysis_percent: float = 25.0  # AnalysisPercent
    analysis_length_limit_s: float = 600.0  # AnalysisLengthLimit (10 min)
    full_analysis_below_s: float = 300.0  # files shorter than 5 min are analysed whole
    point_s: float = POINT_S
    inverted_index_shift: int = 2  # InvertedIndexShift: integer +-2 on the point value, not bit flips
    max_point_differences: int = 6  # MaximumFingerprintPointDifferences (of 32 bits)
    max_time_skip_s: float = 3.5  # MaximumTimeSkip
    min_intro_s: float = 15.0  # MinimumIntroDuration
    max_intro_s: float = 120.0  # MaximumIntroDuration
    snap_to_zero_s: float = 5.0  # a start at or before this becomes 0
    trim_ends: bool = False  # v0.1.7's end trimming
    silence_noise_db: float = -50.0  # SilenceDetectionMaximumNoise
    silence_detect_min_s: float = 0.1  # silencedetect's own duration
    silence_min_s: float = 0.33  # SilenceDetectionMinimumDuration
    silence_search_s: float = 15.0  # only silence in the intro's last 15 s moves its end


DEFAULTS = IntroSkipperParams()


# ---------------------------------------------------------------------------------------------------------------
# The algorithm (pure)


def analysis_window_s(runtime_s: float, params: IntroSkipperParams = DEFAULTS) -> float:
    """Seconds fingerprinted from the start of an episode of this runtime."""
    if runtime_s < params.full_analysis_below_s:
        return runtime_s
    return min(runtime_s * params.analysis_percent / 100, params.analysis_length_limit_s)


def candidate_shifts(lhs: np.ndarray, rhs: np.ndarray, params: IntroSkipperParams = DEFAULTS) -> np.ndarray:
    """Unique rhs_index - lhs_index over the LHS point values v with v + i (|i| <= shift) present in RHS, each
    value standing for the last index where it occurs."""
    lhs_values, lhs_last = _last_index(lhs)
    rhs_values, rhs_last = _last_index(rhs)
    shifts = []
    for delta in range(-params.inverted_index_shift, params.inverted_index_shift + 1):
        probe = (lhs_values.astype(np.int64) + delta) % (1 << 32)  # uint32 wrap-around, as in C#
        where = np.searchsorted(rhs_values, probe)
        found = (where < len(rhs_values)) & (rhs_values[np.minimum(where, len(rhs_values) - 1)] == probe)
        shifts.append(rhs_last[where[found]] - lhs_last[found])
    return np.unique(np.concatenate(shifts)) if shifts else np.zeros(0, dtype=np.int64)


def _last_index(points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Sorted unique values and, for each, the last index where it occurs."""
    reversed_values = points[::-1].astype(np.int64)
    values, first_in_reversed = np.unique(reversed_values, return_index=True)
    return values, len(points) - 1 - first_in_reversed


def longest_run(times_s: np.ndarray, max_gap_s: float) -> Span | None:
    """The longest range of sorted times whose neighbours are at most max_gap_s apart."""
    if len(times_s) == 0:
        return None
    breaks = np.flatnonzero(np.diff(times_s) > max_gap_s)
    starts = np.concatenate([[0], breaks + 1])
    ends = np.concatenate([breaks, [len(times_s) - 1]])
    longest = int(np.argmax(times_s[ends] - times_s[starts]))
    return Span(float(times_s[starts[longest]]), float(times_s[ends[longest]]))


def contiguous_at_shift(
    lhs: np.ndarray, rhs: np.ndarray, shift: int, params: IntroSkipperParams = DEFAULTS
) -> tuple[Span, Span] | None:
    """Longest run of similar points with RHS shifted by `shift` points, or None when under the minimum length."""
    left_offset, right_offset = max(-shift, 0), max(shift, 0)
    # The plugin's limit: min of the lengths minus |shift|, a little short of the true overlap.
    n = min(len(lhs), len(rhs)) - abs(shift)
    if n <= 0:
        return None
    index = np.arange(n)
    differing = np.bitwise_count(
        lhs[left_offset : left_offset + n].astype(np.uint32) ^ rhs[right_offset : right_offset + n].astype(np.uint32)
    )
    similar = index[differing <= params.max_point_differences]
    lhs_run = longest_run((similar + left_offset) * params.point_s, params.max_time_skip_s)
    if lhs_run is None or lhs_run.duration_s < params.min_intro_s:
        return None
    shift_s = (right_offset - left_offset) * params.point_s
    rhs_run = Span(lhs_run.start_s + shift_s, lhs_run.end_s + shift_s)
    if params.trim_ends:
        trim_s = 2 * params.max_time_skip_s if lhs_run.duration_s >= 90 else params.max_time_skip_s
        if lhs_run.duration_s >= 30:
            lhs_run = Span(lhs_run.start_s, lhs_run.end_s - trim_s)
            rhs_run = Span(rhs_run.start_s, rhs_run.end_s - trim_s)
    return lhs_run, rhs_run


def compare_episodes(
    lhs: np.ndarray, rhs: np.ndarray, params: IntroSkipperParams = DEFAULTS
) -> tuple[Span, Span] | None:
    """The shared intro of two episodes: the longest range over all candidate shifts, starts near 0 snapped."""
    best: tuple[Span, Span] | None = None
    for shift in candidate_shifts(lhs, rhs, params):
        found = contiguous_at_shift(lhs, rhs, int(shift), params)
        if found is not None and (best is None or found[0].duration_s > best[0].duration_s):
            best = found
    if best is None:
        return None
    return _snap_start(best[0], params), _snap_start(best[1], params)


def _snap_start(span: Span, params: IntroSkipperParams) -> Span:
    return replace(span, start_s=0.0) if span.start_s <= params.snap_to_zero_s else span


def reduce_season(points: Sequence[np.ndarray], params: IntroSkipperParams = DEFAULTS) -> list[Span | None]:
    """Intro per episode: pop the first episode of the queue, compare it with each remaining one until the first
    valid match; both keep the longer of this and what they had. An episode never matched gets None."""
    intros: list[Span | None] = [None] * len(points)
    for current in range(len(points)):
        for remaining in range(current + 1, len(points)):
            found = compare_episodes(points[current], points[remaining], params)
            if found is None or found[1].duration_s > params.max_intro_s:
                continue
            for episode, span in ((current, found[0]), (remaining, found[1])):
                saved = intros[episode]
                if saved is None or span.duration_s > saved.duration_s:
                    intros[episode] = span
            break
    return intros


def silence_spans(samples: np.ndarray, sample_rate: int, params: IntroSkipperParams = DEFAULTS) -> list[Span]:
    """FFmpeg silencedetect: runs of samples quieter than the noise level, at least silence_detect_min_s long."""
    quiet = np.abs(samples) < 10 ** (params.silence_noise_db / 20)
    edges = np.diff(np.concatenate([[0], quiet.astype(np.int8), [0]]))
    starts, ends = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
    long_enough = (ends - starts) >= params.silence_detect_min_s * sample_rate
    return [Span(s / sample_rate, e / sample_rate) for s, e in zip(starts[long_enough], ends[long_enough], strict=True)]


def refine_end_on_silence(intro: Span, silences: Sequence[Span], params: IntroSkipperParams = DEFAULTS) -> Span:
    """Move the end to the start of the first silence >= silence_min_s that cuts into the intro's last 15 s."""
    window = Span(intro.end_s - params.silence_search_s, intro.end_s)
    for silence in silences:
        # The plugin's Intersects: the silence's start or end lies strictly inside the window.
        cuts_in = (window.start_s < silence.start_s < window.end_s) or (window.start_s < silence.end_s < window.end_s)
        if cuts_in and silence.duration_s >= params.silence_min_s and silence.start_s >= intro.start_s:
            return replace(intro, end_s=silence.start_s)
    return intro


def parse_fpcalc(stdout: str, returncode: int) -> np.ndarray:
    """Raw points from `fpcalc -raw` output. Debian 12's fpcalc 1.5.1 exits 3 at end of file while printing a valid
    fingerprint, so 3 is accepted when the fingerprint is there."""
    line = next((x for x in stdout.splitlines() if x.startswith("FINGERPRINT=")), None)
    if returncode not in (0, 3) or line is None:
        raise RuntimeError(f"fpcalc failed (exit {returncode})")
    values = line.removeprefix("FINGERPRINT=").strip()
    return np.array([int(v) for v in values.split(",")] if values else [], dtype=np.uint32)


# ---------------------------------------------------------------------------------------------------------------
# I/O: fpcalc and PyAV


def detect_season(
    paths: Sequence[Path | str], params: IntroSkipperParams = DEFAULTS
) -> dict[Path, tuple[float, float] | None]:
    """(start_s, end_s) or None for each episode of one season, the plugin's way."""
    episodes = [Path(p) for p in paths]
    points = []
    for path in episodes:
        try:
            points.append(fingerprint_file(path, analysis_window_s(media_duration_s(path), params)))
        except (RuntimeError, av.error.FFmpegError, OSError) as exc:
            # As the plugin does: an episode that cannot be fingerprinted takes part with no points.
            log.warning("%s: no fingerprint: %s", path, exc)
            points.append(np.zeros(0, dtype=np.uint32))
    results: dict[Path, tuple[float, float] | None] = {}
    for path, intro in zip(episodes, reduce_season(points, params), strict=True):
        if intro is not None:
            # The plugin decodes up to 2 s past the intro's end for silence.
            samples = decode_audio(path, intro.end_s + 2)
            intro = refine_end_on_silence(intro, silence_spans(samples, SILENCE_SAMPLE_RATE, params), params)
        results[path] = None if intro is None else (intro.start_s, intro.end_s)
    return results


def fingerprint_file(path: Path, length_s: float) -> np.ndarray:
    """fpcalc on the file; if it cannot read the container, on a WAV of the window decoded with PyAV."""
    try:
        return _run_fpcalc(path, length_s)
    except RuntimeError:
        with tempfile.TemporaryDirectory() as tmp:
            wav = Path(tmp) / "window.wav"
            _write_wav(wav, decode_audio(path, length_s, sample_rate=44100), 44100)
            return _run_fpcalc(wav, length_s)


def _run_fpcalc(path: Path, length_s: float) -> np.ndarray:
    command = ["fpcalc", "-raw", "-length", f"{length_s:.3f}", "-algorithm", str(FPCALC_ALGORITHM), str(path)]
    done = subprocess.run(command, capture_output=True, text=True, timeout=600, check=False)
    return parse_fpcalc(done.stdout, done.returncode)


def media_duration_s(path: Path) -> float:
    with av.open(str(path)) as container:
        if container.duration is not None and container.duration > 0:
            return float(container.duration / av.time_base)
        stream = container.streams.audio[0]
        if stream.duration is None or stream.time_base is None:
            raise RuntimeError("unknown duration")
        return float(stream.duration * stream.time_base)


def decode_audio(path: Path, duration_s: float, sample_rate: int = SILENCE_SAMPLE_RATE) -> np.ndarray:
    """The first duration_s seconds of the first audio stream, mono float32."""
    chunks = []
    wanted = int(duration_s * sample_rate)
    have = 0
    with av.open(str(path)) as container:
        resampler = av.AudioResampler(format="flt", layout="mono", rate=sample_rate)
        for frame in container.decode(container.streams.audio[0]):
            for out in resampler.resample(frame):
                chunk = out.to_ndarray().reshape(-1)
                chunks.append(chunk)
                have += len(chunk)
            if have >= wanted:
                break
    samples = np.concatenate(chunks) if chunks else np.zeros(0, dtype=np.float32)
    return samples[:wanted].astype(np.float32)


def _write_wav(path: Path, samples: np.ndarray, sample_rate: int) -> None:
    pcm = (np.clip(samples, -1, 1) * 32767).astype("<i2")
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(sample_rate)
        out.writeframes(pcm.tobytes())


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("episodes", nargs="+", type=Path, metavar="EPISODE", help="the episodes of one season")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(message)s")
    for path, intro in detect_season(args.episodes).items():
        print(f"{path}\t" + ("none" if intro is None else f"{intro[0]:.2f}\t{intro[1]:.2f}"))
    return 0


if __name__ == "__main__":
    sys.exit(main())

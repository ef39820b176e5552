"""Compact per-episode fingerprints for cross-episode repetition: audio codes every 0.1 s, a picture hash
per second.

Audio (Chromaprint-like, our own design): log band energies on a 33-band log-frequency scale (300-4000 Hz, the
range that survives low-bitrate AAC), smoothed over ~0.3 s, minus their local mean over ~3 s (so the bits describe
how the spectrum changes, not its tilt, the gain or the equaliser of an encode); bit b of code n is the sign of the
difference between adjacent bands b and b+1. Against a low-bitrate AAC re-encode with another gain and added noise,
the same music keeps about 9 of 10 bits (aligned or half a step off), unrelated music half of them. The long window
and the smoothing buy robustness to offsets that are not a multiple of the step, where a plain frame-difference code
loses it.

Picture: dHash (a 9x8 grey thumbnail, one bit per horizontal neighbour pair), robust to resolution and bitrate.

Code 0 (audio) and hash 0 (picture) mean "no information" (silence, a flat or black frame): such frames repeat in
every episode without being the same content, so the matcher ignores them.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from functools import cache

import numpy as np
import scipy.fft

SAMPLE_RATE = 16000
FP_STEP_S = 0.1  # one audio code per step; code n describes the window centred at n * FP_STEP_S
FP_HOP = round(FP_STEP_S * SAMPLE_RATE)  # 1600 samples
FP_WINDOW = 6144  # 384 ms at 16 kHz; longer than the step so that codes change slowly with the time offset
N_BANDS = 33  # 33 bands -> 32 adjacent differences -> 32 bits
F_MIN_HZ = 300.0
F_MAX_HZ = 4000.0
SMOOTH_FRAMES = 3  # ~0.3 s of smoothing before the contrast
CONTRAST_FRAMES = 31  # ~3.1 s local mean that is subtracted
SILENCE_DBFS = -60.0  # a window quieter than this (RMS re full scale) gets code 0

PICTURE_GRID = (8, 9)  # rows, columns of the dHash thumbnail -> 8 x 8 = 64 bits
PICTURE_MIN_CONTRAST = 1.0  # mean |neighbour difference| (grey levels) below which a frame is flat -> hash 0

_CHUNK_FRAMES = 512  # STFT frames per FFT batch: bounds memory to ~50 MB whatever the audio length
_PICTURES_PER_BATCH = 128  # ~15 MB as float
_FORMAT_MAGIC = b"IDFP"
# Bump when the codes change: stored fingerprints of another version are recomputed. 2: the sound after the
# analysed span (rest_audio), for the credits and previews. 3: the spectral peaks (detector.landmarks), for the
# clips a recap or a preview quotes.
_FORMAT_VERSION = 3
# magic, version, audio_step_s, n_audio, n_picture, rest_start_s, n_rest, n_peaks
_HEADER = struct.Struct("<4sBdIIdII")


@dataclass(frozen=True, eq=False)  # arrays inside: compare fields explicitly
class Fingerprints:
    """One episode's fingerprints. `audio[n]` covers time n * audio_step_s; `picture[s]` covers second s."""

    audio: np.ndarray  # (n_codes,) uint32
    picture: np.ndarray  # (n_seconds,) uint64
    audio_step_s: float = FP_STEP_S
    # The sound of the file's ending, to its end (result.ENDING_S): rest_audio[n] covers rest_start_s + n * step.
    # Empty: not known (a sibling says nothing about its end then). It starts where `audio` ends in an episode of up
    # to 20 minutes; in a longer one the middle between them is not read (fingerprints stored before read it all).
    rest_audio: np.ndarray = field(default_factory=lambda: np.zeros(0, np.uint32))
    rest_start_s: float = 0.0
    # The spectral peaks of all the sound read (`audio` and `rest_audio`), packed, in the file's frames
    # (detector.landmarks). Empty: not known (computed only when the segments are looked for).
    peaks: np.ndarray = field(default_factory=lambda: np.zeros(0, np.uint32))
    # (season, episode) from the file's name (detector.season.placed), None when not known. Not stored: a file
    # renamed keeps its fingerprints and gets its new place.
    episode: tuple[int, int] | None = None

    def sound(self) -> np.ndarray:
        """(n_codes,) uint32: the codes of the whole file from 0, `audio` then `rest_audio`, 0 ("no information")
        in a gap between them; just `audio` when the rest is not known."""
        if not len(self.rest_audio):
            return self.audio
        rest_at = round(self.rest_start_s / self.audio_step_s)
        gap = np.zeros(max(0, rest_at - len(self.audio)), np.uint32)
        return np.concatenate([self.audio[:rest_at], gap, self.rest_audio]).astype(np.uint32)

    @property
    def n_seconds(self) -> int:
        """Seconds covered: the picture's length, or the audio's when there is no picture."""
        if len(self.picture):
            return len(self.picture)
        return int(np.ceil(len(self.audio) * self.audio_step_s))

    def to_bytes(self) -> bytes:
        header = _HEADER.pack(
            _FORMAT_MAGIC,
            _FORMAT_VERSION,
            self.audio_step_s,
            len(self.audio),
            len(self.picture),
            self.rest_start_s,
            len(self.rest_audio),
            len(self.peaks),
        )
        audio = np.ascontiguousarray(self.audio, dtype="<u4").tobytes()
        picture = np.ascontiguousarray(self.picture, dtype="<u8").tobytes()
        rest = np.ascontiguousarray(self.rest_audio, dtype="<u4").tobytes()
        peaks = np.ascontiguousarray(self.peaks, dtype="<u4").tobytes()
        return header + audio + picture + rest + peaks

    @classmethod
    def from_bytes(cls, data: bytes) -> Fingerprints:
        """Raises ValueError for data of another format version (the caller recomputes) or truncated data."""
        if len(data) < _HEADER.size:
            raise ValueError("fingerprint data too short")
        magic, version = data[:4], data[4]
        if magic != _FORMAT_MAGIC or version != _FORMAT_VERSION:
            expected = f"{_FORMAT_MAGIC!r} v{_FORMAT_VERSION}"
            raise ValueError(f"fingerprint format {magic!r} v{version}, expected {expected}")
        _, _, step_s, n_audio, n_picture, rest_start_s, n_rest, n_peaks = _HEADER.unpack_from(data)
        if len(data) != _HEADER.size + 4 * n_audio + 8 * n_picture + 4 * n_rest + 4 * n_peaks:
            raise ValueError("fingerprint data has the wrong length")
        at = _HEADER.size
        audio = np.frombuffer(data, dtype="<u4", count=n_audio, offset=at)
        picture = np.frombuffer(data, dtype="<u8", count=n_picture, offset=at + 4 * n_audio)
        at += 4 * n_audio + 8 * n_picture
        rest = np.frombuffer(data, dtype="<u4", count=n_rest, offset=at)
        peaks = np.frombuffer(data, dtype="<u4", count=n_peaks, offset=at + 4 * n_rest)
        return cls(
            audio=audio.astype(np.uint32),
            picture=picture.astype(np.uint64),
            audio_step_s=step_s,
            rest_audio=rest.astype(np.uint32),
            rest_start_s=rest_start_s,
            peaks=peaks.astype(np.uint32),
        )


def fingerprint(samples: np.ndarray, frames: np.ndarray, sample_rate: int = SAMPLE_RATE) -> Fingerprints:
    """Both fingerprints of one episode's analysed part."""
    return Fingerprints(audio=audio_fingerprint(samples, sample_rate), picture=picture_hash(frames))


def audio_fingerprint(samples: np.ndarray, sample_rate: int = SAMPLE_RATE) -> np.ndarray:
    """(n_samples,) mono float at 16 kHz -> (n_codes,) uint32, one code per FP_STEP_S, centred at n * step."""
    if sample_rate != SAMPLE_RATE:
        raise ValueError(f"audio_fingerprint expects {SAMPLE_RATE} Hz audio, got {sample_rate}")
    return _codes(*_band_power(np.asarray(samples, dtype=np.float32)))


def _codes(power: np.ndarray, mean_square: np.ndarray) -> np.ndarray:
    """(n_codes, N_BANDS) band power and (n_codes,) mean square -> (n_codes,) uint32 codes."""
    if len(power) == 0:
        return np.zeros(0, dtype=np.uint32)
    # Tiny floor: keeps log finite on digital silence without changing anything audible.
    log_power = np.log(power + 1e-12)
    contrast = _moving_mean(log_power, SMOOTH_FRAMES) - _moving_mean(log_power, CONTRAST_FRAMES)
    bits = contrast[:, :-1] > contrast[:, 1:]  # (n_codes, 32)
    codes = _pack_bits(bits).astype(np.uint32)
    codes[mean_square < 10 ** (SILENCE_DBFS / 10)] = 0
    return codes


class AudioFingerprinter:
    """`audio_fingerprint` of audio that arrives in pieces (mono float at 16 kHz, in order): only the band powers
    (130 bytes per code) are kept, never the samples."""

    _HOPS_PER_WINDOW = -(-FP_WINDOW // FP_HOP)

    def __init__(self) -> None:
        self._pending = np.zeros(FP_WINDOW // 2, np.float32)  # the padded signal from window `_windows` on
        self._windows = 0  # band-power rows computed
        self._hops = 0  # hop mean squares computed
        self._samples = 0
        self._power: list[np.ndarray] = []
        self._hop_mean_square: list[np.ndarray] = []

    def add(self, samples: np.ndarray) -> None:
        self._samples += len(samples)
        self._pending = np.concatenate([self._pending, np.asarray(samples, dtype=np.float32)])
        self._advance(limit=None)

    def finish(self) -> np.ndarray:
        n_codes = -(-self._samples // FP_HOP)
        end = n_codes * FP_HOP + FP_WINDOW  # the padded signal's length, as `_band_power` pads it
        have = self._windows * FP_HOP + len(self._pending)
        self._pending = np.concatenate([self._pending, np.zeros(max(0, end - have), np.float32)])
        self._advance(limit=n_codes)
        power = np.concatenate(self._power) if self._power else np.zeros((0, N_BANDS), np.float32)
        hop_mean_square = np.concatenate(self._hop_mean_square) if self._hop_mean_square else np.zeros(0)
        width = self._HOPS_PER_WINDOW
        mean_square = np.convolve(hop_mean_square[: n_codes + width - 1], np.ones(width) / width, mode="valid")
        return _codes(power[:n_codes], mean_square[:n_codes])

    def _advance(self, limit: int | None) -> None:
        start = self._windows * FP_HOP  # of `_pending`, in the padded signal
        available = start + len(self._pending)
        n = max(0, (available - FP_WINDOW) // FP_HOP + 1 - self._windows)
        if limit is not None:
            n = min(n, limit - self._windows)
        if n > 0:
            windows = np.lib.stride_tricks.sliding_window_view(self._pending, FP_WINDOW)[::FP_HOP][:n]
            self._power.append(_window_power(windows))
        hops = available // FP_HOP - self._hops
        if hops > 0:
            first = self._hops * FP_HOP - start
            block = self._pending[first : first + hops * FP_HOP].reshape(hops, FP_HOP)
            self._hop_mean_square.append(np.einsum("ij,ij->i", block, block) / FP_HOP)
            self._hops += hops
        self._windows += max(0, n)
        # Keep from the next window on (hops are never behind windows: a window is longer than a hop).
        self._pending = self._pending[max(0, n) * FP_HOP :]


def picture_hash(frames: np.ndarray) -> np.ndarray:
    """(n_seconds, H, W, 3) uint8 RGB -> (n_seconds,) uint64 dHash; flat frames (black, fades) get 0."""
    if len(frames) == 0:
        return np.zeros(0, dtype=np.uint64)
    # In pieces: as float, half an hour of pictures would take 0.2 GB.
    batch = _PICTURES_PER_BATCH
    return np.concatenate([_picture_hash(frames[i : i + batch]) for i in range(0, len(frames), batch)])


def _picture_hash(frames: np.ndarray) -> np.ndarray:
    grey = frames[..., :3].astype(np.float32) @ np.array([0.299, 0.587, 0.114], dtype=np.float32)
    thumb = _area_downscale(grey, *PICTURE_GRID)  # (n, 8, 9)
    diff = thumb[:, :, 1:] - thumb[:, :, :-1]  # (n, 8, 8)
    hashes = _pack_bits(diff.reshape(len(frames), -1) > 0)
    hashes[np.abs(diff).mean(axis=(1, 2)) < PICTURE_MIN_CONTRAST] = 0
    return hashes


def _band_power(samples: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Power in N_BANDS triangular log-frequency bands, one row per FP_HOP, windows centred on its time, and
    each window's mean square (for the silence test)."""
    n_codes = int(np.ceil(len(samples) / FP_HOP))
    half = FP_WINDOW // 2
    padded = np.pad(samples, (half, half + n_codes * FP_HOP - len(samples)))
    windows = np.lib.stride_tricks.sliding_window_view(padded, FP_WINDOW)[::FP_HOP][:n_codes]
    power = _window_power(windows)
    # Mean square per hop, then over the hops a window spans (a few samples more than the window: fine for a
    # silence test).
    hops_per_window = -(-FP_WINDOW // FP_HOP)
    hops = padded[: (n_codes + hops_per_window - 1) * FP_HOP].reshape(-1, FP_HOP)
    hop_mean_square = np.einsum("ij,ij->i", hops, hops) / FP_HOP
    mean_square = np.convolve(hop_mean_square, np.ones(hops_per_window) / hops_per_window, mode="valid")
    return power, mean_square[:n_codes]


def _window_power(windows: np.ndarray) -> np.ndarray:
    """(n, FP_WINDOW) windows -> (n, N_BANDS) band power, in batches that bound the FFT's memory."""
    taper = np.hanning(FP_WINDOW).astype(np.float32)
    first_bin, last_bin, bands = _band_matrix()
    power = np.empty((len(windows), N_BANDS), dtype=np.float32)
    for start in range(0, len(windows), _CHUNK_FRAMES):
        # scipy's FFT keeps float32 (numpy's promotes to float64): 3x faster here.
        spectrum = scipy.fft.rfft(windows[start : start + _CHUNK_FRAMES] * taper, axis=1)[:, first_bin:last_bin]
        power[start : start + _CHUNK_FRAMES] = (spectrum.real**2 + spectrum.imag**2) @ bands
    return power


@cache
def _band_matrix() -> tuple[int, int, np.ndarray]:
    """Triangular filters with centres evenly spaced in log frequency: the FFT bins they use, [first, last), and
    their (last - first, N_BANDS) weights."""
    freqs_hz = np.fft.rfftfreq(FP_WINDOW, 1 / SAMPLE_RATE)
    edges_hz = np.geomspace(F_MIN_HZ, F_MAX_HZ, N_BANDS + 2)
    lo, mid, hi = edges_hz[:-2, None], edges_hz[1:-1, None], edges_hz[2:, None]
    rising = (freqs_hz - lo) / (mid - lo)
    falling = (hi - freqs_hz) / (hi - mid)
    weights = np.clip(np.minimum(rising, falling), 0.0, None)  # (N_BANDS, n_freqs)
    used = np.flatnonzero(weights.any(axis=0))
    first, last = int(used[0]), int(used[-1]) + 1
    return first, last, np.ascontiguousarray(weights[:, first:last].T, dtype=np.float32)


def _moving_mean(values: np.ndarray, width: int) -> np.ndarray:
    """Centred moving mean along axis 0, edges extended, same shape."""
    if width <= 1:
        return values
    before = width // 2
    padded = np.pad(values, ((before, width - 1 - before), (0, 0)), mode="edge")
    csum = np.cumsum(padded, axis=0, dtype=np.float64)
    csum = np.concatenate([np.zeros((1, values.shape[1])), csum])
    return ((csum[width:] - csum[:-width]) / width).astype(np.float32)


def _area_downscale(grey: np.ndarray, rows: int, cols: int) -> np.ndarray:
    """(n, H, W) -> (n, rows, cols) block means (block sizes differ by a pixel when sizes do not divide)."""
    row_edges = np.linspace(0, grey.shape[1], rows + 1).astype(int)
    col_edges = np.linspace(0, grey.shape[2], cols + 1).astype(int)
    sums = np.add.reduceat(np.add.reduceat(grey, row_edges[:-1], axis=1), col_edges[:-1], axis=2)
    areas = np.outer(np.diff(row_edges), np.diff(col_edges))
    return sums / areas


def _pack_bits(bits: np.ndarray) -> np.ndarray:
    """(n, k<=64) bool -> (n,) uint64 with column j as bit j."""
    weights = np.left_shift(np.uint64(1), np.arange(bits.shape[1], dtype=np.uint64))
    return (bits.astype(np.uint64) * weights).sum(axis=1, dtype=np.uint64)

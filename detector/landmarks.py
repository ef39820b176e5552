"""Spectral-peak landmarks: the fingerprint of short clips quoted from another episode (a recap's "previously on",
a preview's "next time on").

The audio codes (detector.fingerprint) describe how the spectrum changes against a ~3 s local mean: robust for an
intro or credits that run for tens of seconds, but a 2-3 s clip cut between other sounds gets codes that differ from
its source's in a third of their bits. Landmarks (Wang 2003, the Shazam paper) are local instead: the strongest
peaks of the spectrogram, each paired with the next few; a pair (its frequency, the frequency step and the time
between them) is a hash, and a clip copied from another episode shares many hashes with its source at one time
offset, whatever sound surrounds it. Only the peaks are kept (4 bytes each, ~10-14 a second); the pairs are made
when matching.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.fft

SAMPLE_RATE = 16000
WINDOW = 512  # 32 ms: bins of 31 Hz
# 16 ms, the unit of a peak's time (a "frame"). A clip is cut anywhere: with a coarser grid, a copy half a frame
# off its source keeps half of its peaks, not four fifths.
HOP = 256
FRAME_S = HOP / SAMPLE_RATE
F_MIN_HZ = 300.0  # the range that survives a low-bitrate AAC encode, as for the audio codes
F_MAX_HZ = 4000.0
PEAK_FRAMES = 21  # a peak is the maximum of its neighbourhood: +-10 frames (0.16 s) ...
PEAK_BINS = 15  # ... and +-7 bins (+-219 Hz) ...
# ... and this far above its frame's mean log power (nats; ~9 dB): a maximum of the noise floor moves with every
# encode. Nothing else decides (no "strongest N a second"), so a peak does not depend on the sound around it.
PEAK_ABOVE_MEAN = 2.0
BLOCK_FRAMES = 64  # peaks are picked a block at a time as the sound arrives
SILENCE_DBFS = -60.0  # no peaks in a frame quieter than this (RMS re full scale)
# Each peak is paired with every peak of its target zone: up to ~0.5 s later and within +-470 Hz. Every one, not
# the first few: a peak that one copy has and the other lacks would change which are first.
MAX_DT_FRAMES = 32
MAX_DF_BINS = 15
_SPECTRUM_ROWS = 512
_CANDIDATES = 48  # peaks after an anchor looked at (the zone holds ~7 at ~13 peaks a second)
_BIN_BITS = 9  # a peak is packed as frame << 9 | bin
# A hash that a sibling holds more often than this is a sound the show repeats everywhere (a tone, a loop): it says
# nothing about where a clip comes from.
MAX_HITS = 20
# A clip cut off the sibling's frame grid matches at two neighbouring offsets, and each peak may move a frame.
OFFSET_TOLERANCE_FRAMES = 2
MIN_PAIRS = 12  # hashes at one offset that make a quoted clip (random hashes agree by a handful) ...
MIN_CLIP_S = 1.0  # ... over at least this long (one syllable of a synthetic voice sounds like another's) ...
# ... and this share of the hashes the sibling has anywhere around them are at that offset. A copy shares its
# source's hashes at one offset; sound made of the same few notes or syllables shares them at many.
MIN_PURITY = 0.3
CLIP_GAP_FRAMES = 94  # ~1.5 s without a matching hash ends a clip


def _bin_range() -> tuple[int, int]:
    hz_per_bin = SAMPLE_RATE / WINDOW
    return int(np.floor(F_MIN_HZ / hz_per_bin)), int(np.ceil(F_MAX_HZ / hz_per_bin)) + 1


def spectral_peaks(samples: np.ndarray, sample_rate: int = SAMPLE_RATE) -> np.ndarray:
    """(n_samples,) mono float at 16 kHz -> (n_peaks,) uint32 packed peaks (frame << 9 | bin), sorted; frame k is
    centred on sample k * HOP."""
    if sample_rate != SAMPLE_RATE:
        raise ValueError(f"spectral_peaks expects {SAMPLE_RATE} Hz audio, got {sample_rate}")
    extractor = PeakExtractor()
    extractor.add(np.asarray(samples, dtype=np.float32))
    return extractor.finish()


class PeakExtractor:
    """`spectral_peaks` of audio that arrives in pieces (mono float at 16 kHz, in order), its first sample at
    frame `start_frame` of the file: only the spectrum of the frames not yet picked is held, never the samples."""

    def __init__(self, start_frame: int = 0) -> None:
        self.start_frame = start_frame
        self._pending = np.zeros(WINDOW // 2, np.float32)  # the padded signal from frame `_frames` on
        self._frames = 0  # spectrum rows computed
        self._samples = 0
        self._spectrum = np.zeros((0, _bin_range()[1] - _bin_range()[0]), np.float32)  # rows from `_row0`
        self._row0 = 0
        self._blocks = 0  # blocks whose peaks are picked
        self._peaks: list[np.ndarray] = []

    def add(self, samples: np.ndarray) -> None:
        self._samples += len(samples)
        self._pending = np.concatenate([self._pending, np.asarray(samples, dtype=np.float32)])
        self._advance(final=False)

    def finish(self) -> np.ndarray:
        n_frames = -(-self._samples // HOP)
        end = (n_frames - 1) * HOP + WINDOW  # the last frame's window, padded with zeros
        have = self._frames * HOP + len(self._pending)
        self._pending = np.concatenate([self._pending, np.zeros(max(0, end - have), np.float32)])
        self._advance(final=True, n_frames=n_frames)
        return np.concatenate(self._peaks) if self._peaks else np.zeros(0, np.uint32)

    def _advance(self, final: bool, n_frames: int | None = None) -> None:
        n = max(0, (len(self._pending) - WINDOW) // HOP + 1)
        if n_frames is not None:
            n = min(n, n_frames - self._frames)
        if n > 0:
            windows = np.lib.stride_tricks.sliding_window_view(self._pending, WINDOW)[::HOP][:n]
            self._spectrum = np.concatenate([self._spectrum, _log_spectrum(windows)])
            self._frames += n
            self._pending = self._pending[n * HOP :]
        # A block's peaks need the frames of its neighbourhood after it.
        ready = self._frames if final else max(0, self._frames - PEAK_FRAMES // 2)
        blocks = (ready if not final else ready + BLOCK_FRAMES - 1) // BLOCK_FRAMES
        if blocks > self._blocks:
            self._pick(self._blocks, blocks)
            self._blocks = blocks
            keep_from = max(self._row0, blocks * BLOCK_FRAMES - PEAK_FRAMES // 2)
            self._spectrum = self._spectrum[keep_from - self._row0 :]
            self._row0 = keep_from

    def _pick(self, first_block: int, end_block: int) -> None:
        lo = max(self._row0, first_block * BLOCK_FRAMES - PEAK_FRAMES // 2)
        spectrum = self._spectrum[lo - self._row0 :]
        local_max = _sliding_max(_sliding_max(spectrum, PEAK_BINS, axis=1), PEAK_FRAMES, axis=0)
        is_peak = (spectrum == local_max) & np.isfinite(spectrum)
        frames, bins = np.nonzero(is_peak)
        frames = frames + lo
        inside = (frames >= first_block * BLOCK_FRAMES) & (frames < min(end_block * BLOCK_FRAMES, self._frames))
        frames, bins = frames[inside], bins[inside]
        strength = spectrum[frames - lo, bins]
        level = np.where(np.isfinite(spectrum), spectrum, 0.0).mean(axis=1)
        loud = strength >= level[frames - lo] + PEAK_ABOVE_MEAN
        frames, bins = frames[loud] + self.start_frame, bins[loud] + _bin_range()[0]
        packed = (frames.astype(np.uint64) << np.uint64(_BIN_BITS)) | bins.astype(np.uint64)
        self._peaks.append(np.sort(packed).astype(np.uint32))


def _sliding_max(values: np.ndarray, size: int, axis: int) -> np.ndarray:
    """The maximum of each odd `size` window centred on each element along `axis`, -inf outside: what
    scipy.ndimage.maximum_filter gives, by doubling windows (a few whole-array numpy passes; 3x faster here)."""
    reach = size // 2
    padding = [(0, 0)] * values.ndim
    padding[axis] = (reach, reach)
    windowed = np.pad(values, padding, constant_values=-np.inf)
    n = values.shape[axis]

    def part(array: np.ndarray, start: int, length: int) -> np.ndarray:
        index = [slice(None)] * array.ndim
        index[axis] = slice(start, start + length)
        return array[tuple(index)]

    width = 1
    while width * 2 <= size:  # windowed[i] = the maximum of `width` elements from i
        length = windowed.shape[axis] - width
        windowed = np.maximum(part(windowed, 0, length), part(windowed, width, length))
        width *= 2
    return np.maximum(part(windowed, 0, n), part(windowed, size - width, n))


def _log_spectrum(windows: np.ndarray) -> np.ndarray:
    """(n, WINDOW) -> (n, bins in F_MIN_HZ..F_MAX_HZ) log power; -inf for a silent frame."""
    first, last = _bin_range()
    taper = np.hanning(WINDOW).astype(np.float32)
    log_power = np.empty((len(windows), last - first), np.float32)
    # A few hundred frames at a time: the tapered copies and their spectra stay in the cache (2x faster than at once).
    for at in range(0, len(windows), _SPECTRUM_ROWS):
        rows = windows[at : at + _SPECTRUM_ROWS]
        spectrum = scipy.fft.rfft(rows * taper, axis=1)[:, first:last]
        out = log_power[at : at + len(rows)]
        np.log(spectrum.real**2 + spectrum.imag**2 + 1e-10, out=out)
        mean_square = np.einsum("ij,ij->i", rows, rows) / WINDOW
        out[mean_square < 10 ** (SILENCE_DBFS / 10)] = -np.inf
    return log_power


def unpack(peaks: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Packed peaks -> (frames, bins), both int64."""
    peaks = np.asarray(peaks, dtype=np.int64)
    return peaks >> _BIN_BITS, peaks & ((1 << _BIN_BITS) - 1)


@dataclass(frozen=True)
class Pairs:
    """The landmark hashes of a set of peaks: hash, the anchor's frame and the paired peak's frame."""

    hashes: np.ndarray  # (n,) int64
    anchor: np.ndarray  # (n,) int64 frames
    target: np.ndarray  # (n,) int64 frames


def pairs(peaks: np.ndarray, jitter: bool = False) -> Pairs:
    """Each peak with every later peak in its target zone. jitter: each pair also under the
    hashes of the time steps one frame shorter and longer (a clip off the frame grid moves each peak by up to one
    frame, independently): for the side that is looked up.)"""
    frames, bins = unpack(np.sort(peaks))
    n = len(frames)
    anchors, targets = [], []
    for k in range(1, _CANDIDATES + 1):
        i = np.arange(n - k)
        j = i + k
        dt = frames[j] - frames[i]
        ok = (dt >= 1) & (dt <= MAX_DT_FRAMES) & (np.abs(bins[j] - bins[i]) <= MAX_DF_BINS)
        anchors.append(i[ok])
        targets.append(j[ok])
    a, b = np.concatenate(anchors), np.concatenate(targets)
    dt, df = frames[b] - frames[a], bins[b] - bins[a] + MAX_DF_BINS + 1
    if jitter:
        a, b, df = np.tile(a, 3), np.tile(b, 3), np.tile(df, 3)
        dt = np.concatenate([dt - 1, dt, dt + 1])
    hashes = (bins[a] << 14) | (df << 7) | dt
    return Pairs(hashes, frames[a], frames[b])


@dataclass(frozen=True)
class Quote:
    """A clip of the target found in a sibling: [start_s, end_s) in the target, at sibling time + offset_s."""

    start_s: float
    end_s: float
    offset_s: float  # sibling time - target time
    n_pairs: int  # hashes that agree
    share: float  # of the target's hashes anchored in the clip
    purity: float  # of the hashes anchored in the clip that the sibling has anywhere, the share at this offset


def quotes(target: Pairs, sibling: Pairs) -> list[Quote]:
    """The clips of `target` that `sibling` holds: runs of hashes that agree on one time offset."""
    order = np.argsort(sibling.hashes, kind="stable")
    keys, sib_frames = sibling.hashes[order], sibling.anchor[order]
    lo = np.searchsorted(keys, target.hashes, side="left")
    hi = np.searchsorted(keys, target.hashes, side="right")
    hits = hi - lo
    hits[hits > MAX_HITS] = 0
    which = np.repeat(np.arange(len(target.hashes)), hits)
    if not len(which):
        return []
    first = np.repeat(lo - np.concatenate([[0], np.cumsum(hits)[:-1]]), hits)
    at = sib_frames[first + np.arange(len(which))]
    offsets = at - target.anchor[which]
    found: list[Quote] = []
    matched_at = np.sort(target.anchor[which])
    used = np.zeros(len(which), bool)
    values, counts = np.unique(offsets, return_counts=True)
    # Most offsets are chance agreements of a hash or two. One with fewer than MIN_PAIRS hits within the tolerance
    # cannot make a clip, so it is not looked at (each look is a pass over every hit).
    total = np.concatenate([[0], np.cumsum(counts)])
    around = total[np.searchsorted(values, values + OFFSET_TOLERANCE_FRAMES, "right")]
    around -= total[np.searchsorted(values, values - OFFSET_TOLERANCE_FRAMES, "left")]
    order = np.argsort(-counts)
    for value in values[order[around[order] >= MIN_PAIRS]]:
        near = ~used & (np.abs(offsets - value) <= OFFSET_TOLERANCE_FRAMES)
        if near.sum() < MIN_PAIRS:
            continue
        used |= near
        idx = np.flatnonzero(near)
        idx = idx[np.argsort(target.anchor[which[idx]])]
        times = target.anchor[which[idx]]
        cuts = np.flatnonzero(np.diff(times) > CLIP_GAP_FRAMES) + 1
        for run in np.split(idx, cuts):
            pairs_in_run = np.unique(which[run])
            start = int(target.anchor[pairs_in_run].min())
            end = int(target.target[pairs_in_run].max())
            matched = int(np.searchsorted(matched_at, end, "right") - np.searchsorted(matched_at, start, "left"))
            purity = len(run) / max(1, matched)
            if len(pairs_in_run) < MIN_PAIRS or (end + 1 - start) * FRAME_S < MIN_CLIP_S or purity < MIN_PURITY:
                continue
            anchored = int(np.count_nonzero((target.anchor >= start) & (target.anchor <= end)))
            found.append(
                Quote(
                    start_s=start * FRAME_S,
                    end_s=(end + 1) * FRAME_S,
                    offset_s=float(np.median(offsets[run])) * FRAME_S,
                    n_pairs=len(pairs_in_run),
                    share=len(pairs_in_run) / max(1, anchored),
                    purity=purity,
                )
            )
    return sorted(found, key=lambda q: q.start_s)

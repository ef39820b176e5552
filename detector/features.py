"""What the network reads for one episode: the padded log-mel of the analysed span and one picture per second,
and the span's audio fingerprint codes. The audio is consumed as it is decoded (detector.decode.AudioSink), so
only these, never the waveform, are held for a whole span."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from detector.audio import SAMPLE_RATE, EpisodeLogMel
from detector.decode import FrameMode, decode
from detector.fingerprint import AudioFingerprinter, Fingerprints, picture_hash
from detector.memory import MemoryCeiling

BATCH_SAMPLES = 60 * SAMPLE_RATE


@dataclass(frozen=True)
class EpisodeFeatures:
    n_seconds: int  # analysed seconds (the first half)
    duration_s: float  # of the whole file
    mel: torch.Tensor  # (N_MELS, (n_seconds + WINDOW_S) * FRAMES_PER_SECOND) float32
    frames: torch.Tensor  # (n_seconds, FRAME_HEIGHT, FRAME_WIDTH, 3) uint8
    audio_codes: np.ndarray  # (n_codes,) uint32: detector.fingerprint.audio_fingerprint of the span's audio

    def fingerprints(self) -> Fingerprints:
        return Fingerprints(audio=self.audio_codes, picture=picture_hash(self.frames.numpy()))


class _Features:
    """The audio sink that turns the span's samples into the log-mel and the fingerprint codes as they come."""

    def __init__(self, path: Path, n_seconds: int, ceiling: MemoryCeiling | None) -> None:
        self.path = path
        self.ceiling = ceiling
        self.mel = EpisodeLogMel(n_seconds)
        self.codes = AudioFingerprinter()
        # The decoder hands over ~20 ms at a time; an STFT and an FFT batch per piece would cost more than both
        # on a whole batch, so pieces are gathered up to BATCH_SAMPLES first.
        self._batch: list[np.ndarray] = []
        self._batched = 0

    def add(self, samples: np.ndarray) -> None:
        self._batch.append(samples)
        self._batched += len(samples)
        if self._batched >= BATCH_SAMPLES:
            self.flush()

    def flush(self) -> None:
        if self._batch:
            samples = np.concatenate(self._batch)
            self._batch, self._batched = [], 0
            self.mel.add(samples)
            self.codes.add(samples)
        if self.ceiling is not None:
            self.ceiling.check(self.path)


def extract(
    path: str | Path,
    frame_mode: FrameMode = FrameMode.ALL,
    max_seconds: int | None = None,
    languages: Sequence[str] = (),
    ceiling: MemoryCeiling | None = None,
) -> EpisodeFeatures:
    """`ceiling`: a file that would take the process over it, or does, raises MemoryLimitError."""
    sink: _Features | None = None

    def features_for(n_seconds: int) -> _Features:
        nonlocal sink
        sink = _Features(Path(path), n_seconds, ceiling)
        return sink

    media = decode(path, frame_mode, max_seconds, languages, sink_for=features_for, ceiling=ceiling)
    assert sink is not None
    sink.flush()
    return EpisodeFeatures(
        n_seconds=media.n_seconds,
        duration_s=media.info.duration_s,
        mel=sink.mel.finish(),
        frames=torch.from_numpy(media.frames),
        audio_codes=sink.codes.finish(),
    )


def second_labels(n_seconds: int, start_s: float | None, end_s: float | None) -> np.ndarray:
    """1 for the seconds whose centre lies inside [start_s, end_s), else 0."""
    centres = np.arange(n_seconds) + 0.5
    if start_s is None or end_s is None:
        return np.zeros(n_seconds, np.float32)
    return ((centres >= start_s) & (centres < end_s)).astype(np.float32)

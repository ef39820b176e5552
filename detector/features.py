"""What the network reads for one episode: the padded log-mel of the analysed span and one picture per second,
and the span's audio fingerprint codes. The audio is consumed as it is decoded (detector.decode.AudioSink), so
only these, never the waveform, are held for a whole span. Inference goes further and embeds the pictures as they
are decoded (detector.decode.PictureSink): then only their embeddings are held, never the pictures."""

from __future__ import annotations

import contextlib
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import Executor, Future, ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import torch

from detector.audio import SAMPLE_RATE, EpisodeLogMel
from detector.decode import FRAME_HEIGHT, FRAME_WIDTH, FrameMode, decode, decode_sound_from
from detector.fingerprint import AudioFingerprinter, Fingerprints, picture_hash
from detector.landmarks import FRAME_S, PeakExtractor, unpack
from detector.memory import MemoryCeiling
from detector.model import IMAGE_CHUNK
from detector.result import ENDING_S

BATCH_SAMPLES = 60 * SAMPLE_RATE
MAX_QUEUED_BATCHES = 4  # batches decoded and not yet taken by a feature worker (15 MB)
# (N, FRAME_HEIGHT, FRAME_WIDTH, 3) uint8 pictures -> (N, embedding): a network's image CNN (IntroNet.embed_images).
PictureEmbedder = Callable[[torch.Tensor], torch.Tensor]


@dataclass(frozen=True)
class EpisodeFeatures:
    n_seconds: int  # analysed seconds (the first half)
    duration_s: float  # of the whole file
    mel: torch.Tensor  # (N_MELS, (n_seconds + WINDOW_S) * FRAMES_PER_SECOND) float32
    frames: torch.Tensor  # (n_seconds, FRAME_HEIGHT, FRAME_WIDTH, 3) uint8; none when they went to embedders
    audio_codes: np.ndarray  # (n_codes,) uint32: detector.fingerprint.audio_fingerprint of the span's audio
    # When the pictures went to embedders, as they were decoded: each one's (n_seconds, embedding), in the order
    # given, and the pictures' hashes (detector.fingerprint.picture_hash).
    picture_embeddings: tuple[torch.Tensor, ...] = ()
    picture_codes: np.ndarray | None = None
    rest: RestOfSound | None = None  # the codes of the sound after the span (with_rest=True)
    peaks: np.ndarray | None = None  # the span's spectral peaks (detector.landmarks; with_rest=True)

    def fingerprints(self) -> Fingerprints:
        picture = self.picture_codes if self.picture_codes is not None else picture_hash(self.frames.numpy())
        return _with_rest(Fingerprints(audio=self.audio_codes, picture=picture), self.peaks, self.rest)


@dataclass(frozen=True)
class SoundFeatures:
    """What the sound alone gives (the cascade's first step, detector.inference): the span's audio codes."""

    n_seconds: int
    duration_s: float
    audio_codes: np.ndarray  # (n_codes,) uint32
    rest: RestOfSound | None = None
    peaks: np.ndarray | None = None

    def fingerprints(self) -> Fingerprints:
        """With hash 0 ("no information") for every second's picture: none was decoded, and the matcher ignores
        0, so these count as no picture evidence, neither for nor against, wherever they are matched."""
        pictures = np.zeros(self.n_seconds, np.uint64)
        return _with_rest(Fingerprints(audio=self.audio_codes, picture=pictures), self.peaks, self.rest)


@dataclass(frozen=True)
class RestOfSound:
    """The audio codes of the sound after the analysed span, to the end of the file (see rest_of_sound)."""

    start_s: float
    codes: np.ndarray  # (n_codes,) uint32, code n at start_s + n * FP_STEP_S
    peaks: np.ndarray  # (n_peaks,) uint32 packed spectral peaks, in the file's frames


def _with_rest(fingerprints: Fingerprints, peaks: np.ndarray | None, rest: RestOfSound | None) -> Fingerprints:
    if rest is not None:
        fingerprints = replace(fingerprints, rest_audio=rest.codes, rest_start_s=rest.start_s)
    if peaks is not None:
        if rest is not None:  # the span's last window can reach past where the rest starts
            peaks = np.concatenate([peaks[unpack(peaks)[0] < round(rest.start_s / FRAME_S)], rest.peaks])
        fingerprints = replace(fingerprints, peaks=peaks.astype(np.uint32))
    return fingerprints


def rest_of_sound(
    path: str | Path,
    n_seconds: int,
    duration_s: float,
    languages: Sequence[str] = (),
    worker: Executor | None = None,
) -> RestOfSound | None:
    """The codes of the sound of the file's ending (its last ENDING_S, after the analysed span): the credits and a
    preview are there. Sound only. None for a file whose span is the whole of it. worker: as for _Features."""
    start_s = float(max(n_seconds, duration_s - ENDING_S))
    if duration_s - start_s < 1.0:
        return None
    # Batched: codes per decoded frame would cost 5x more.
    sink = _Features(Path(path), 0, None, mel=False, peaks_from_s=start_s, worker=worker)
    decode_sound_from(path, start_s, sink, languages)
    sink.flush()
    assert sink.peaks is not None
    return RestOfSound(start_s, sink.codes.finish(), sink.peaks.finish())


class _Features:
    """The audio sink that turns the span's samples into the log-mel and the fingerprint codes as they come."""

    def __init__(
        self,
        path: Path,
        n_seconds: int,
        ceiling: MemoryCeiling | None,
        mel: bool = True,
        peaks_from_s: float | None = None,
        worker: Executor | None = None,
    ) -> None:
        """peaks_from_s: also the spectral peaks, of sound that starts there in the file. worker: where the
        features of each batch are computed (one thread: batches in order), while the decoder goes on; None: here."""
        self.path = path
        self.ceiling = ceiling
        self.mel = EpisodeLogMel(n_seconds) if mel else None
        self.codes = AudioFingerprinter()
        self.peaks = PeakExtractor(round(peaks_from_s / FRAME_S)) if peaks_from_s is not None else None
        # The decoder hands over ~20 ms at a time; an STFT and an FFT batch per piece would cost more than both
        # on a whole batch, so pieces are gathered up to BATCH_SAMPLES first.
        self._batch: list[np.ndarray] = []
        self._batched = 0
        self._worker = worker
        self._queued: deque[Future[None]] = deque()

    def add(self, samples: np.ndarray) -> None:
        self._batch.append(samples)
        self._batched += len(samples)
        if self._batched >= BATCH_SAMPLES:
            self.flush(wait=False)

    def flush(self, wait: bool = True) -> None:
        """The batch so far into the features; wait: until every batch is in (then they may be read)."""
        if self._batch:
            samples = np.concatenate(self._batch)
            self._batch, self._batched = [], 0
            if self._worker is None:
                self._consume(samples)
            else:
                self._queued.append(self._worker.submit(self._consume, samples))
        # A worker that falls behind holds the batches it has not taken: a few, then the decoder waits.
        while self._queued and (wait or len(self._queued) > MAX_QUEUED_BATCHES):
            self._queued.popleft().result()
        if self.ceiling is not None:
            self.ceiling.check(self.path)

    def _consume(self, samples: np.ndarray) -> None:
        if self.mel is not None:
            self.mel.add(samples)
        self.codes.add(samples)
        if self.peaks is not None:
            self.peaks.add(samples)


class _EmbeddedPictures:
    """The picture sink that embeds the pictures as they are decoded, IMAGE_CHUNK at a time (the chunks that
    IntroNet.embed_images cuts a whole episode's pictures into, so the numbers are the same), and hashes them for
    the fingerprints. Only a chunk of pictures is held, never the span's (50 MB for half an hour)."""

    def __init__(self, embedders: Sequence[PictureEmbedder]) -> None:
        self.embedders = tuple(embedders)
        self._chunk = np.empty((IMAGE_CHUNK, FRAME_HEIGHT, FRAME_WIDTH, 3), np.uint8)
        self._filled = 0
        self._embeddings: list[list[torch.Tensor]] = [[] for _ in self.embedders]
        self._codes: list[np.ndarray] = []

    def add(self, picture: np.ndarray) -> None:
        self._chunk[self._filled] = picture
        self._filled += 1
        if self._filled == IMAGE_CHUNK:
            self._embed()

    def _embed(self) -> None:
        pictures = self._chunk[: self._filled]
        for embedder, embedded in zip(self.embedders, self._embeddings, strict=True):
            embedded.append(embedder(torch.from_numpy(pictures)))
        self._codes.append(picture_hash(pictures))
        self._filled = 0

    def finish(self) -> tuple[tuple[torch.Tensor, ...], np.ndarray]:
        """Each embedder's (n_pictures, embedding), and the pictures' hashes."""
        if self._filled:
            self._embed()
        codes = np.concatenate(self._codes) if self._codes else np.zeros(0, np.uint64)
        return tuple(torch.cat(embedded) for embedded in self._embeddings), codes


def extract(
    path: str | Path,
    frame_mode: FrameMode = FrameMode.ALL,
    max_seconds: int | None = None,
    languages: Sequence[str] = (),
    ceiling: MemoryCeiling | None = None,
    embedders: Sequence[PictureEmbedder] = (),
    with_rest: bool = False,
) -> EpisodeFeatures:
    """`ceiling`: a file that would take the process over it, or does, raises MemoryLimitError. `embedders`: the
    pictures go to them as they are decoded (EpisodeFeatures.picture_embeddings) and are not kept. with_rest: also
    the codes of the sound after the span (rest_of_sound)."""
    sink: _Features | None = None

    def features_for(n_seconds: int) -> _Features:
        nonlocal sink
        sink = _Features(Path(path), n_seconds, ceiling, peaks_from_s=0.0 if with_rest else None)
        return sink

    pictures = _EmbeddedPictures(embedders) if embedders else None
    media = decode(
        path, frame_mode, max_seconds, languages, sink_for=features_for, ceiling=ceiling, picture_sink=pictures
    )
    assert sink is not None and sink.mel is not None
    sink.flush()
    embeddings, codes = pictures.finish() if pictures is not None else ((), None)
    duration_s = media.info.duration_s
    rest = rest_of_sound(path, media.n_seconds, duration_s, languages) if with_rest else None
    return EpisodeFeatures(
        n_seconds=media.n_seconds,
        duration_s=media.info.duration_s,
        mel=sink.mel.finish(),
        frames=torch.from_numpy(media.frames),
        audio_codes=sink.codes.finish(),
        picture_embeddings=embeddings,
        picture_codes=codes,
        rest=rest,
        peaks=sink.peaks.finish() if sink.peaks is not None else None,
    )


def extract_sound(
    path: str | Path,
    languages: Sequence[str] = (),
    ceiling: MemoryCeiling | None = None,
    with_rest: bool = False,
    threaded: bool = False,
    with_peaks: bool | None = None,
) -> SoundFeatures:
    """The span's audio codes from its sound alone: no picture decoded, no log-mel computed. with_rest: also the
    codes of the sound after the span (rest_of_sound), decoded after it. with_peaks: the span's spectral peaks
    (default: with_rest; the cascade asks for the peaks alone and decodes the ending later, see
    detector.inference). threaded: the codes and peaks are computed on a second thread, a batch at a time, while
    the decoder goes on, for the same results: the FFTs let go of the GIL and take the other core.
    """
    peaks = with_rest if with_peaks is None else with_peaks
    sink: _Features | None = None
    with contextlib.ExitStack() as threads:
        worker = threads.enter_context(ThreadPoolExecutor(1, thread_name_prefix="sound")) if threaded else None

        def features_for(n_seconds: int) -> _Features:
            nonlocal sink
            sink = _Features(Path(path), n_seconds, ceiling, False, 0.0 if peaks else None, worker)
            return sink

        media = decode(path, languages=languages, sink_for=features_for, ceiling=ceiling, pictures=False)
        assert sink is not None
        sink.flush()
        rest = rest_of_sound(path, media.n_seconds, media.info.duration_s, languages, worker) if with_rest else None
    found = sink.peaks.finish() if sink.peaks is not None else None
    return SoundFeatures(media.n_seconds, media.info.duration_s, sink.codes.finish(), rest, found)


def second_labels(n_seconds: int, start_s: float | None, end_s: float | None) -> np.ndarray:
    """1 for the seconds whose centre lies inside [start_s, end_s), else 0."""
    centres = np.arange(n_seconds) + 0.5
    if start_s is None or end_s is None:
        return np.zeros(n_seconds, np.float32)
    return ((centres >= start_s) & (centres < end_s)).astype(np.float32)

"""Decoding with PyAV (bundled FFmpeg): the audio of the analysed span as mono SAMPLE_RATE floats, and one small
RGB picture per second. One pass over the file demuxes both streams and stops at the end of the span. Which
streams, and where time 0 is, `detector.streams` decides; every time here is seconds from that origin.

Decoding is most of the cost of a detection, so video packets are decoded with frame threading, and only the
frames that are shown at a whole second are scaled (at decode time, by swscale) and kept.
"""

from __future__ import annotations

import math
import os
import stat
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Protocol

import av
import numpy as np
from av.audio.frame import format_dtypes

from detector import streams
from detector.audio import SAMPLE_RATE
from detector.errors import DecodeError
from detector.memory import MemoryCeiling
from detector.result import MAX_ANALYSED_S

FRAME_HEIGHT = 72
FRAME_WIDTH = 128
# A file whose streams end this much earlier than its header says is taken as truncated / half-copied.
TRUNCATION_TOLERANCE_S = 2.0
# Decoded sound is resampled this many seconds at a time: one resampler call per decoded frame (~20 ms of sound)
# costs more in per-call overhead than the resampling itself, and batching gives the same samples.
RESAMPLE_BATCH_S = 2.0
NO_VIDEO = "no video stream (the detector needs the picture)"


class FrameMode(StrEnum):
    """Which video frames the decoder decodes (the picture kept for second k is the last one decoded at or before k).

    ALL decodes every frame: the exact picture shown at each second. REFERENCE skips the frames no other frame
    refers to (most B-frames) and the deblocking filter: half the cost on x264 releases, and the picture kept is at
    most a frame or two early, scaled to 128x72 it differs from ALL's by ~0.2 of 255 per pixel. KEYFRAMES decodes
    only key frames; far cheaper, and the picture is that of the last cut/keyframe before the second.
    """

    ALL = "all"
    REFERENCE = "reference"
    KEYFRAMES = "keyframes"


@dataclass(frozen=True)
class MediaInfo:
    path: Path
    duration_s: float
    has_audio: bool
    has_video: bool

    @property
    def analysed_s(self) -> int:
        """Whole seconds analysed: the first half of the episode (the seed design), at most MAX_ANALYSED_S."""
        return max(1, min(MAX_ANALYSED_S, math.floor(self.duration_s / 2)))


class AudioSink(Protocol):
    """Takes the span's audio as it is decoded: mono float32 at SAMPLE_RATE, in order, n_seconds * SAMPLE_RATE
    samples in all (silence added at the end of a short stream). What the detector keeps of it is far smaller than
    the samples (a log-mel, fingerprint codes), so a long span never has its whole waveform in memory."""

    def add(self, samples: np.ndarray) -> None: ...


class PictureSink(Protocol):
    """Takes the span's pictures as they are decoded: (FRAME_HEIGHT, FRAME_WIDTH, 3) uint8 RGB, one per second, in
    order, n_seconds in all (the last one repeated over a short stream's tail). The picture is the decoder's: copy
    what is kept of it."""

    def add(self, picture: np.ndarray) -> None: ...


@dataclass(frozen=True)
class DecodedMedia:
    info: MediaInfo
    n_seconds: int
    audio: np.ndarray  # (n_seconds * SAMPLE_RATE,) float32 mono; empty when it went to a sink
    frames: np.ndarray  # (n_seconds, FRAME_HEIGHT, FRAME_WIDTH, 3) uint8 RGB; none when they went to a sink
    audio_decode_s: float = 0.0  # wall time spent on each stream (for the benchmark)
    video_decode_s: float = 0.0
    video_frames_decoded: int = 0


@dataclass
class DecodeCounts:
    """The decoding this process has done: the benchmarks print it, and tests count passes over files with it."""

    sound_passes: int = 0  # decodes of a span's sound alone (the cascade's first step)
    rest_passes: int = 0  # decodes of the sound after the span (decode_sound_from: the end of an episode)
    picture_passes: int = 0  # decodes of a span with its pictures
    video_frames: int = 0  # video frames decoded, in spans and in windows around intro ends
    window_frames: int = 0  # ... of which around intro ends (decode_pictures)


COUNTS = DecodeCounts()


def _open(path: Path) -> av.container.InputContainer:
    try:
        st = path.stat()
    except FileNotFoundError:
        if path.is_symlink():
            raise DecodeError(path, f"a link to a file that is not there ({os.readlink(path)})") from None
        raise DecodeError(path, "file not found") from None
    except OSError as exc:
        raise DecodeError(path, f"cannot read: {exc.strerror}") from exc
    if stat.S_ISDIR(st.st_mode):
        raise DecodeError(path, "is a folder, not a media file")
    if not stat.S_ISREG(st.st_mode):  # a FIFO or a device would block the reader, or never end
        raise DecodeError(path, f"not a regular file ({_file_kind(st.st_mode)}), so not a media file")
    if st.st_size == 0:
        raise DecodeError(path, "empty file (0 bytes); still being copied?")
    try:
        return av.open(str(path), mode="r")
    except av.error.InvalidDataError as exc:
        raise DecodeError(path, "not a readable media file: invalid data (corrupt, or still being copied?)") from exc
    except PermissionError as exc:
        raise DecodeError(path, "no permission to read it (give the daemon's user read access)") from exc
    except (av.error.FFmpegError, OSError, UnicodeDecodeError) as exc:
        raise DecodeError(path, f"cannot open: {exc}") from exc


def _file_kind(mode: int) -> str:
    kinds = {stat.S_ISFIFO: "a named pipe", stat.S_ISSOCK: "a socket", stat.S_ISCHR: "a character device"}
    return next((name for test, name in kinds.items() if test(mode)), "a device")


def _duration_s(container: av.container.InputContainer) -> float | None:
    if container.duration is not None and container.duration > 0:
        return float(container.duration / av.time_base)
    lengths = [
        float(s.duration * s.time_base)
        for s in container.streams
        if s.duration is not None and s.time_base is not None and s.duration > 0
    ]
    return max(lengths) if lengths else None


def probe(path: str | Path) -> MediaInfo:
    path = Path(path)
    with _open(path) as container:
        return _info(path, container)


def _info(path: Path, container: av.container.InputContainer) -> MediaInfo:
    duration = _duration_s(container)
    if duration is None:
        raise DecodeError(path, "unknown duration (no usable header; truncated or still being written?)")
    return MediaInfo(
        path=path,
        duration_s=duration,
        has_audio=bool(container.streams.audio),
        has_video=streams.video_stream(container) is not None,  # cover art alone is no picture
    )


def decode(
    path: str | Path,
    frame_mode: FrameMode = FrameMode.ALL,
    max_seconds: int | None = None,
    languages: Sequence[str] = (),
    sink_for: Callable[[int], AudioSink] | None = None,
    ceiling: MemoryCeiling | None = None,
    picture_sink: PictureSink | None = None,
    pictures: bool = True,
) -> DecodedMedia:
    """Decode the analysed span (the first half, or max_seconds if smaller) of one file; `languages`: the audio
    languages to prefer (see detector.streams); `sink_for(n_seconds)`: where the audio goes instead of
    `DecodedMedia.audio`, given the span's length; `ceiling`: refuse a file that would take the process over it
    (MemoryLimitError); `picture_sink`: where the pictures go instead of `DecodedMedia.frames`. pictures=False: the
    sound alone (the cascade's first step, see detector.inference): no video frame is decoded, none is returned,
    and the file must still have a video stream."""
    path = Path(path)
    with _open(path) as container:
        info = _info(path, container)
        audio_track = streams.audio_stream(container, path, languages)
        picture = streams.video_stream(container)
        if audio_track is None:
            raise DecodeError(path, "no audio stream (the detector needs the sound)")
        if picture is None:
            raise DecodeError(path, NO_VIDEO)
        origin_s = streams.origin_s(container)
        n_seconds = info.analysed_s if max_seconds is None else min(info.analysed_s, max_seconds)
        if ceiling is not None:
            ceiling.admit(path, n_seconds, picture.codec_context.width, picture.codec_context.height)
        audio = _AudioOut(n_seconds * SAMPLE_RATE, None if sink_for is None else sink_for(n_seconds))
        frames = _Pictures(n_seconds, picture_sink)
        try:
            video = picture if pictures else None
            times, n_decoded = _decode_span(container, audio_track, video, origin_s, frame_mode, audio, frames)
            _check_tail(path, container, picture, origin_s, info)
        except av.error.FFmpegError as exc:
            raise DecodeError(path, f"decoding failed ({exc})") from exc
    if pictures:
        COUNTS.picture_passes += 1
    else:
        COUNTS.sound_passes += 1
    COUNTS.video_frames += n_decoded
    audio_end_s = audio.count / SAMPLE_RATE
    if audio_end_s < n_seconds - TRUNCATION_TOLERANCE_S:
        raise DecodeError(
            path, f"truncated: audio ends at {audio_end_s:.1f} s, the header says {info.duration_s:.1f} s"
        )
    if pictures and frames.count < n_seconds - TRUNCATION_TOLERANCE_S:
        raise DecodeError(path, f"truncated: video ends at {frames.count} s, the header says {info.duration_s:.1f} s")
    return DecodedMedia(
        info=info,
        n_seconds=n_seconds,
        audio=audio.finish(),
        frames=frames.finish(),
        audio_decode_s=times[0],
        video_decode_s=times[1],
        video_frames_decoded=n_decoded,
    )


def decode_sound_from(
    path: str | Path, start_s: float, sink: AudioSink, languages: Sequence[str] = ()
) -> tuple[float, float]:
    """The sound from start_s (seconds of the file's time line) to the end, into `sink` (mono float32 at
    SAMPLE_RATE, the first sample at start_s; silence where the stream starts late). No picture is decoded. Returns
    the seconds of sound handed over and the file's duration. What follows the analysed span: the end of an
    episode, where its credits and preview are (detector.segments)."""
    path = Path(path)
    with _open(path) as container:
        info = _info(path, container)
        audio_track = streams.audio_stream(container, path, languages)
        if audio_track is None:
            raise DecodeError(path, "no audio stream (the detector needs the sound)")
        origin_s = streams.origin_s(container)
        resampler = _Mono()
        wanted = max(0, round((info.duration_s - start_s) * SAMPLE_RATE))
        handed = 0
        try:
            container.seek(int((origin_s + start_s) * av.time_base), any_frame=False, backward=True)
            for packet in container.demux(audio_track):
                for frame in _safe_decode(packet):
                    assert isinstance(frame, av.AudioFrame)
                    for out in resampler.resample(frame):
                        handed += _hand_from(out, origin_s + start_s, handed, wanted, sink)
            for out in resampler.close():
                handed += _hand_from(out, origin_s + start_s, handed, wanted, sink)
        except av.error.FFmpegError as exc:
            raise DecodeError(path, f"decoding failed after {start_s:.0f} s ({exc})") from exc
    COUNTS.rest_passes += 1
    return handed / SAMPLE_RATE, info.duration_s


def _hand_from(frame: av.AudioFrame, from_s: float, handed: int, wanted: int, sink: AudioSink) -> int:
    """The part of a resampled frame at or after from_s; returns how many samples were handed over. Its time
    places only the first piece (silence before it where the stream starts late): after that the samples follow on,
    since container times are rounded (to the millisecond in Matroska) and placing every frame by them would drop
    or insert samples at each frame."""
    samples = frame.to_ndarray().reshape(-1)
    if handed == 0 and frame.time is not None:
        at = round((frame.time - from_s) * SAMPLE_RATE)
        if at + len(samples) <= 0:  # before the start: the seek lands on a key frame before it
            return 0
        samples = np.concatenate([np.zeros(at, np.float32), samples]) if at > 0 else samples[-at:]
    samples = samples[: max(0, wanted - handed)]
    if len(samples):
        sink.add(samples)
    return len(samples)


def _check_tail(
    path: Path, container: av.container.InputContainer, stream: av.VideoStream, origin_s: float, info: MediaInfo
) -> None:
    """A half-copied file has a header promising more than the data holds: look for a packet near the end."""
    target_s = max(0.0, info.duration_s - TRUNCATION_TOLERANCE_S - 1.0)
    container.seek(int((origin_s + target_s) * av.time_base), any_frame=False, backward=True)
    last_s = None
    for packet in container.demux(stream):
        if packet.pts is not None and packet.time_base is not None:
            last_s = float(packet.pts * packet.time_base) - origin_s
            if last_s >= target_s:
                return
    if last_s is None or last_s < target_s:
        ends = "no data" if last_s is None else f"data ends at {last_s:.1f} s"
        raise DecodeError(path, f"truncated: {ends}, the header says {info.duration_s:.1f} s (still being copied?)")


def _decode_span(
    container: av.container.InputContainer,
    audio_stream: av.AudioStream,
    video_stream: av.VideoStream | None,
    origin_s: float,
    frame_mode: FrameMode,
    audio: _AudioOut,
    pictures: _Pictures,
) -> tuple[tuple[float, float], int]:
    """Demux both streams (the audio alone when video_stream is None) until both have covered the span; returns
    the seconds spent decoding each and the number of video frames decoded."""
    n_seconds = pictures.n_seconds
    if video_stream is None:
        return _decode_audio(container, audio_stream, origin_s, n_seconds, audio), 0
    _configure(video_stream, frame_mode)
    resampler = _Mono()
    picker = _FramePicker(n_seconds, origin_s)
    audio_done = video_done = False
    audio_s = video_s = 0.0
    n_decoded = 0
    for packet in container.demux(audio_stream, video_stream):
        started = time.perf_counter()
        if packet.stream is audio_stream and not audio_done:
            for frame in _safe_decode(packet):
                assert isinstance(frame, av.AudioFrame)
                if frame.time is not None and frame.time - origin_s >= n_seconds:
                    audio_done = True
                    for out in resampler.flush():
                        audio.add(out.to_ndarray().reshape(-1))
                    break
                for out in resampler.resample(frame):
                    audio.add(out.to_ndarray().reshape(-1))
            audio_s += time.perf_counter() - started
        elif packet.stream is video_stream and not video_done:
            for frame in _safe_decode(packet):
                assert isinstance(frame, av.VideoFrame)
                n_decoded += 1
                pictures.extend(picker.push(frame))
                video_done = picker.done
            video_s += time.perf_counter() - started
        if audio_done and video_done:
            break
    if not audio_done:
        for out in resampler.close():
            audio.add(out.to_ndarray().reshape(-1))
    if not video_done:
        pictures.extend(picker.flush())
    return (audio_s, video_s), n_decoded


def _configure(stream: av.VideoStream, frame_mode: FrameMode) -> None:
    stream.thread_type = "AUTO"  # frame + slice threads: the video decoder is the bottleneck
    if frame_mode is FrameMode.KEYFRAMES:
        # One key frame every few seconds: frame threads would only add their start-up and their frame buffers
        # (faster and ~15 MB smaller with one, on the 1080p bench episode).
        stream.thread_count = 1
        stream.codec_context.skip_frame = "NONKEY"
    elif frame_mode is FrameMode.REFERENCE:
        stream.codec_context.options = {"skip_loop_filter": "all"}
        stream.codec_context.skip_frame = "NONREF"


def decode_seconds(path: str | Path, first_s: int, end_s: int, frame_mode: FrameMode = FrameMode.ALL) -> np.ndarray:
    """The pictures `decode` gives the span's whole seconds first_s .. end_s - 1 in this frame mode (the frame
    shown at each), decoding only from the key frame before first_s: (n, FRAME_HEIGHT, FRAME_WIDTH, 3) uint8 RGB.
    The pictures a lone episode's key frames left uncertain (detector.inference)."""
    path = Path(path)
    with _open(path) as container:
        stream = streams.video_stream(container)
        if stream is None:
            raise DecodeError(path, NO_VIDEO)
        _configure(stream, frame_mode)
        origin_s = streams.origin_s(container)
        picker = _FramePicker(end_s, origin_s, first_second=first_s)
        pictures = _Pictures(max(0, end_s - first_s))
        try:
            container.seek(int((origin_s + first_s) * av.time_base), backward=True, any_frame=False)
            for packet in container.demux(stream):
                for frame in _safe_decode(packet):
                    assert isinstance(frame, av.VideoFrame)
                    COUNTS.video_frames += 1
                    pictures.extend(picker.push(frame))
                if picker.done:
                    break
            pictures.extend(picker.flush())
        except av.error.FFmpegError as exc:
            raise DecodeError(path, f"decoding the pictures of {first_s}-{end_s} s failed ({exc})") from exc
    return pictures.finish()


def _decode_audio(
    container: av.container.InputContainer,
    audio_stream: av.AudioStream,
    origin_s: float,
    n_seconds: int,
    audio: _AudioOut,
) -> tuple[float, float]:
    """The span's sound alone: the other streams' packets are skipped by the demuxer, not read into packets."""
    started = time.perf_counter()
    resampler = _Mono()
    done = False
    others = [s for s in container.streams if s.index != audio_stream.index]
    for stream in others:
        stream.discard = av.stream.Discard.all
    try:
        for packet in container.demux(audio_stream):
            for frame in _safe_decode(packet):
                assert isinstance(frame, av.AudioFrame)
                if frame.time is not None and frame.time - origin_s >= n_seconds:
                    done = True
                    break
                for out in resampler.resample(frame):
                    audio.add(out.to_ndarray().reshape(-1))
            if done:
                break
    finally:
        for stream in others:  # the truncation check reads the video stream's packets next
            stream.discard = av.stream.Discard.default
    for out in resampler.flush() if done else resampler.close():
        audio.add(out.to_ndarray().reshape(-1))
    return time.perf_counter() - started, 0.0


class _Mono:
    """Decoded audio frames -> mono float32 frames at SAMPLE_RATE, RESAMPLE_BATCH_S of sound per resampler call.
    The frames of a batch are joined into one (the first one's time placing it); a change of format, layout or rate
    starts a new batch. The samples are read from the frames' planes directly (AudioFrame.to_ndarray stacks them
    anew for every frame, which costs more than decoding it)."""

    def __init__(self) -> None:
        self._resampler = av.AudioResampler(format="flt", layout="mono", rate=SAMPLE_RATE)
        self._pending: list[list[np.ndarray]] = []  # per frame, per plane
        self._first: av.AudioFrame | None = None
        self._samples = 0
        # The batch's shape and how its frames are read, worked out once per batch: a frame's properties are made
        # afresh on every access, and this runs for every frame (~50 a second of sound) holding the GIL, while
        # the cascade decodes another part of the file on another thread.
        self._shape: tuple[str, str, int] = ("", "", 0)
        self._dtype = ""
        self._planes = 0  # planes read per frame ...
        self._values = 0  # ... and values per sample in each

    def resample(self, frame: av.AudioFrame) -> list[av.AudioFrame]:
        shape = _shape(frame)
        out = self.flush() if self._first is not None and shape != self._shape else []
        if self._first is None:
            self._first, self._shape = frame, shape
            self._dtype, channels = format_dtypes[shape[0]], len(frame.layout.channels)
            # PyAV lists a plane too many for 8 channels: the count comes from the layout.
            self._planes, self._values = (channels, 1) if frame.format.is_planar else (1, channels)
        count, planes = frame.samples, frame.planes
        self._pending.append([_samples(planes[c], self._dtype, count * self._values) for c in range(self._planes)])
        self._samples += count
        if self._samples >= RESAMPLE_BATCH_S * shape[2]:
            out += self.flush()
        return out

    def flush(self) -> list[av.AudioFrame]:
        """The batch so far, resampled (the resampler keeps its last few samples for what follows)."""
        first, self._first = self._first, None
        if first is None:
            return []
        planes = [np.concatenate(plane) for plane in zip(*self._pending, strict=True)]
        self._pending, self._samples = [], 0
        # Handed over interleaved (packed), whatever the decoder gave: PyAV's from_ndarray fails on 8 planes.
        interleaved = np.stack(planes, axis=1).reshape(1, -1)
        batch = av.AudioFrame.from_ndarray(interleaved, format=first.format.packed.name, layout=first.layout.name)
        batch.sample_rate, batch.pts = first.sample_rate, first.pts
        if first.time_base is not None:
            batch.time_base = first.time_base
        return list(self._resampler.resample(batch))

    def close(self) -> list[av.AudioFrame]:
        """The batch and the resampler's last samples: the end of the stream."""
        return self.flush() + list(self._resampler.resample(None))


def _samples(plane: av.audio.plane.AudioPlane, dtype: str, count: int) -> np.ndarray:
    # A plane is a buffer (PyAV's type stubs do not say so); it may be padded past `count`.
    return np.frombuffer(memoryview(plane), dtype, count=count)


def _shape(frame: av.AudioFrame) -> tuple[str, str, int]:
    return frame.format.name, frame.layout.name, frame.sample_rate


class _AudioOut:
    """The span's first `wanted` samples: handed to the sink, or kept in one buffer allocated once."""

    def __init__(self, wanted: int, sink: AudioSink | None) -> None:
        self.wanted = wanted
        self.count = 0  # samples decoded within the span
        self._sink = sink
        self._buffer = np.empty(wanted if sink is None else 0, np.float32)

    def add(self, samples: np.ndarray) -> None:
        samples = samples[: self.wanted - self.count]
        if self._sink is not None:
            self._sink.add(samples)
        else:
            self._buffer[self.count : self.count + len(samples)] = samples
        self.count += len(samples)

    def finish(self) -> np.ndarray:
        """The kept samples, silence after a short stream (within the truncation tolerance)."""
        if self._sink is not None:
            if self.count < self.wanted:
                self._sink.add(np.zeros(self.wanted - self.count, np.float32))
            return self._buffer
        self._buffer[self.count :] = 0.0
        return self._buffer


class _Pictures:
    """One picture per second of the span: handed to the sink, or kept in one array allocated once."""

    def __init__(self, n_seconds: int, sink: PictureSink | None = None) -> None:
        self.n_seconds = n_seconds
        self.count = 0
        self._sink = sink
        self._frames = np.zeros((n_seconds if sink is None else 0, FRAME_HEIGHT, FRAME_WIDTH, 3), np.uint8)
        self._last = np.zeros((FRAME_HEIGHT, FRAME_WIDTH, 3), np.uint8)  # black before the first picture

    def extend(self, pictures: list[np.ndarray]) -> None:
        for picture in pictures[: self.n_seconds - self.count]:
            if self._sink is not None:
                self._sink.add(picture)
                self._last = picture
            else:
                self._frames[self.count] = picture
            self.count += 1

    def finish(self) -> np.ndarray:
        """Exactly n_seconds pictures: the last one repeats over a short tail (within the truncation tolerance);
        black when there was none."""
        if self._sink is not None:
            for _ in range(self.count, self.n_seconds):
                self._sink.add(self._last)
        elif 0 < self.count < self.n_seconds:
            self._frames[self.count :] = self._frames[self.count - 1]
        return self._frames


def _safe_decode(packet: av.Packet) -> list[av.frame.Frame]:
    # A damaged packet in the middle of a file costs one frame, not the episode; a file that is damaged
    # throughout ends up short and is reported as truncated.
    try:
        return list(packet.decode())
    except av.error.InvalidDataError:
        return []


class _FramePicker:
    """Keeps, for every whole second k, the last decoded frame whose time is <= k (the picture shown at k)."""

    def __init__(self, n_seconds: int, origin_s: float = 0.0, first_second: int = 0) -> None:
        """Seconds first_second .. n_seconds - 1 (a window of the span, decoded from the key frame before it)."""
        self.n_seconds = n_seconds
        self.origin_s = origin_s
        self.next_second = first_second
        self.previous: av.VideoFrame | None = None

    @property
    def done(self) -> bool:
        return self.next_second >= self.n_seconds

    def push(self, frame: av.VideoFrame) -> list[np.ndarray]:
        if frame.time is None:
            return []
        picked: list[np.ndarray] = []
        shown = self.previous if self.previous is not None else frame
        scaled: np.ndarray | None = None
        while not self.done and self.next_second < frame.time - self.origin_s - 1e-6:
            if scaled is None:
                scaled = _scale(shown)
            picked.append(scaled)
            self.next_second += 1
        self.previous = frame
        return picked

    def flush(self) -> list[np.ndarray]:
        if self.previous is None or self.done:
            return []
        last = _scale(self.previous)
        # Seconds after the last frame's time but within its display duration still show it.
        shown_s = (self.previous.time or self.origin_s) - self.origin_s
        count = max(0, min(self.n_seconds, math.floor(shown_s) + 1) - self.next_second)
        self.next_second += count
        return [last] * count


def _scale(frame: av.VideoFrame) -> np.ndarray:
    return frame.to_ndarray(width=FRAME_WIDTH, height=FRAME_HEIGHT, format="rgb24")


CUT_PICTURE_WIDTH, CUT_PICTURE_HEIGHT = 64, 36  # enough to tell one shot from the next


def decode_pictures(
    path: str | Path, spans: Sequence[tuple[float, float]], keyframes: bool = False
) -> list[tuple[np.ndarray, np.ndarray]]:
    """Every frame shown in each (start_s, end_s) span, small and grey: per span (times_s (n,), pictures (n, 36, 64)
    uint8). One open of the file; each span seeks to the key frame before it, so it costs at most one GOP more.
    keyframes: only the key frames (a picture every few seconds, a tenth of the cost or less)."""
    path = Path(path)
    with _open(path) as container:
        stream = streams.video_stream(container)
        if stream is None:
            raise DecodeError(path, NO_VIDEO)
        stream.thread_type = "AUTO"
        if keyframes:
            stream.codec_context.skip_frame = "NONKEY"
        origin_s = streams.origin_s(container)
        return [_pictures_between(path, container, stream, origin_s, start_s, end_s) for start_s, end_s in spans]


def _pictures_between(
    path: Path,
    container: av.container.InputContainer,
    stream: av.video.stream.VideoStream,
    origin_s: float,
    start_s: float,
    end_s: float,
) -> tuple[np.ndarray, np.ndarray]:
    times: list[float] = []
    pictures: list[np.ndarray] = []
    try:
        container.seek(int((origin_s + start_s) * av.time_base), backward=True, any_frame=False)
        for frame in container.decode(stream):
            COUNTS.video_frames += 1
            COUNTS.window_frames += 1
            if frame.time is None or frame.time - origin_s < start_s:
                continue
            if frame.time - origin_s > end_s:
                break
            times.append(float(frame.time) - origin_s)
            pictures.append(frame.to_ndarray(width=CUT_PICTURE_WIDTH, height=CUT_PICTURE_HEIGHT, format="gray"))
    except av.error.FFmpegError as exc:
        raise DecodeError(path, f"decoding {start_s:.1f}-{end_s:.1f} s failed ({exc})") from exc
    empty = np.zeros((0, CUT_PICTURE_HEIGHT, CUT_PICTURE_WIDTH), np.uint8)
    return np.asarray(times), (np.stack(pictures) if pictures else empty)

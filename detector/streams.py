"""Which streams of a file the detector reads, and where its time starts.

- The picture: the first video stream that is not attached cover art (FFmpeg shows a cover image, e.g. a Matroska
  attachment or an MP4 `covr`, as a one-frame video stream, often the first one).
- The sound: the audio tracks in a preferred language first (when the config names some), then the default-flagged
  one, then file order; the first of them that is not silent: a release whose default track is a muted dub must
  not be analysed as silence.
- The origin: the earliest start time of the picture and sound, so that a recording whose timestamps start at 10 h
  is analysed from its first second.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TypeVar

import av
import numpy as np

LOUDNESS_PROBE_S = 20.0  # seconds of each track listened to, at each probe point
LOUDNESS_PROBE_AT = (0.1, 0.3, 0.5)  # probe points, as shares of the duration: intros and silences move
CLOCK_START_S = 1.0  # a start this far from 0 is where a recording's clock was, not priming
SILENT_RMS = 1e-4  # below this a track is silence (-80 dBFS): digital zeros, or a muted dub

_S = TypeVar("_S", bound=av.stream.Stream)


def video_stream(container: av.container.InputContainer) -> av.VideoStream | None:
    """The episode's picture: not cover art; the default-flagged one first."""
    pictures = [s for s in container.streams.video if not s.disposition & av.stream.Disposition.attached_pic]
    return _default_first(pictures)


def audio_stream(
    container: av.container.InputContainer, path: Path, languages: Sequence[str] = ()
) -> av.AudioStream | None:
    """The track with the episode's sound: in the order preferred language, default flag, file order, the first
    that is not silent. Opens `path` again to listen, only when there is more than one track."""
    preference = [lang.lower() for lang in languages]

    def rank(stream: av.AudioStream) -> tuple[int, bool]:
        language = language_of(stream)
        spoken = preference.index(language) if language in preference else len(preference)
        return spoken, not stream.disposition & av.stream.Disposition.default

    tracks = sorted(container.streams.audio, key=rank)  # stable: file order among equals
    if len(tracks) <= 1:
        return tracks[0] if tracks else None
    levels = loudness(path, [s.index for s in tracks])
    return next((s for s in tracks if levels[s.index] >= SILENT_RMS), tracks[0])


def language_of(stream: av.stream.Stream) -> str:
    return str(stream.metadata.get("language", "")).lower()


def origin_s(container: av.container.InputContainer) -> float:
    """Where the file's time starts, in seconds: the earliest start of the picture and the audio tracks (0 when
    none is known). The same for every reader of the file, whichever track it takes."""
    picture = video_stream(container)
    tracks = [*container.streams.audio, *([picture] if picture is not None else [])]
    starts = [float(s.start_time * s.time_base) for s in tracks if s.start_time is not None and s.time_base]
    if starts:
        start_s = min(starts)
    else:
        start_s = container.start_time / av.time_base if container.start_time is not None else 0.0
    # Within a second of 0 it is encoder priming or an edit list (AAC's 1024 samples, a B-frame delay), which
    # players present from 0, as the analysis always did; further away it is a clock (a recording, a wrap).
    return start_s if abs(start_s) >= CLOCK_START_S else 0.0


def loudness(path: Path, indexes: Sequence[int]) -> dict[int, float]:
    """RMS level of each audio stream (by index), over LOUDNESS_PROBE_S at each of LOUDNESS_PROBE_AT."""
    squares = dict.fromkeys(indexes, 0.0)
    counts = dict.fromkeys(indexes, 0)
    with av.open(str(path)) as container:
        streams = [container.streams[i] for i in indexes]
        start_s = origin_s(container)
        # Mono float at a low rate: every sample format and layout compares on one scale, and it is cheap.
        resamplers = {i: av.AudioResampler(format="flt", layout="mono", rate=8000) for i in indexes}
        duration_s = container.duration / av.time_base if container.duration else 0.0
        for share in LOUDNESS_PROBE_AT:
            at_s = start_s + share * duration_s
            container.seek(int(at_s * av.time_base), backward=True, any_frame=False)
            heard = dict.fromkeys(indexes, 0.0)
            for packet in container.demux(streams):
                index = packet.stream.index
                if heard[index] >= LOUDNESS_PROBE_S:
                    if all(h >= LOUDNESS_PROBE_S for h in heard.values()):
                        break
                    continue
                try:
                    frames = packet.decode()
                except av.error.FFmpegError:
                    continue
                for frame in frames:
                    assert isinstance(frame, av.AudioFrame)
                    heard[index] += frame.samples / frame.sample_rate
                    for out in resamplers[index].resample(frame):
                        samples = out.to_ndarray().astype(np.float64)
                        squares[index] += float(np.square(samples).sum())
                        counts[index] += samples.size
    return {i: (squares[i] / counts[i]) ** 0.5 if counts[i] else 0.0 for i in indexes}


def _default_first(streams: Sequence[_S]) -> _S | None:
    flagged = [s for s in streams if s.disposition & av.stream.Disposition.default]
    return flagged[0] if flagged else streams[0] if streams else None

"""Tiny media files for decoder tests: chosen streams, known content, written with PyAV."""

from __future__ import annotations

import subprocess
from dataclasses import replace
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from corpus.profile import PROCEDURAL_SEGMENTS


def write_clip(
    path: Path,
    seconds: float,
    *,
    audio: bool = True,
    video: bool = True,
    fps: int = 25,
    size: tuple[int, int] = (160, 96),
    sample_rate: int = 48000,
    bframes: int = 0,
) -> Path:
    """Each second of video is one flat colour (grey level 20 * second); audio is a 440 Hz tone.
    bframes > 0: B-frames that no other frame refers to (no B-pyramid), as in many releases."""
    width, height = size
    options = {"preset": "ultrafast", "g": str(fps)}
    if bframes:
        options["x264-params"] = f"bframes={bframes}:b-pyramid=none:b-adapt=0:scenecut=0"
    with av.open(str(path), "w") as out:
        vs = out.add_stream("libx264", rate=fps, options=options) if video else None
        if vs is not None:
            vs.width, vs.height, vs.pix_fmt = width, height, "yuv420p"
        aus = out.add_stream("aac", rate=sample_rate) if audio else None
        if vs is not None:
            for i in range(int(seconds * fps)):
                level = (20 * (i // fps)) % 256
                frame = av.VideoFrame.from_ndarray(np.full((height, width, 3), level, np.uint8), format="rgb24")
                out.mux(vs.encode(frame))
            out.mux(vs.encode(None))
        if aus is not None:
            n = int(seconds * sample_rate)
            tone = (0.3 * np.sin(2 * np.pi * 440 * np.arange(n) / sample_rate)).astype(np.float32)
            for start in range(0, n, 1024):
                chunk = tone[start : start + 1024].reshape(1, -1)
                frame = av.AudioFrame.from_ndarray(chunk, format="flt", layout="mono")
                frame.sample_rate, frame.pts = sample_rate, start
                out.mux(aus.encode(frame))
            out.mux(aus.encode(None))
    return path


def remux(src: Path, dst: Path) -> Path:
    """A stream copy of `src` into another container (what a download client or a "proper" release leaves)."""
    with av.open(str(src)) as inp, av.open(str(dst), "w") as out:
        streams = {s.index: out.add_stream_from_template(s) for s in inp.streams if s.type in ("audio", "video")}
        for packet in inp.demux():
            if packet.stream.index in streams and packet.dts is not None:
                packet.stream = streams[packet.stream.index]
                out.mux(packet)
    return dst


def reencode(
    src: Path,
    dst: Path,
    *,
    height: int,
    crf: int,
    sample_rate: int,
    until_s: float | None = None,
    gain: float = 1.0,
    layout: str = "stereo",
    fps: int | None = None,
    vfr: bool = False,
) -> Path:
    """`src` encoded again at another picture size, quality and sample rate (a second quality of an episode);
    `until_s`: the end cut off from there (a release cut by a few seconds); `gain`: the sound that much louder or
    quieter; `layout`: its channels; `fps`: another frame rate (frames dropped or held); `vfr`: every third frame
    dropped with the others keeping their times (a variable frame rate)."""
    with av.open(str(src)) as inp, av.open(str(dst), "w") as out:
        vin, ain = inp.streams.video[0], inp.streams.audio[0]
        rate = fps or vin.average_rate
        vout = out.add_stream("libx264", rate=rate, options={"preset": "ultrafast", "crf": str(crf)})
        if vfr:
            vout.time_base = Fraction(1, 1000)
        shown, last_pts = 0, -1
        vout.height, vout.width = height, round(vin.width * height / vin.height / 2) * 2
        vout.pix_fmt = "yuv420p"
        aout = out.add_stream("aac", rate=sample_rate, layout=layout)
        resampler = av.AudioResampler(format="fltp", layout=layout, rate=sample_rate)
        for frame in inp.decode(vin, ain):
            if until_s is not None and frame.time is not None and frame.time > until_s:
                continue
            if isinstance(frame, av.VideoFrame):
                scaled = frame.reformat(width=vout.width, height=vout.height, format="yuv420p")
                shown += 1
                if fps is not None or vfr:
                    time_base = Fraction(1, 1000) if vfr else Fraction(1, fps or 1)
                    pts = round((frame.time or 0.0) / time_base)
                    if pts <= last_pts or (vfr and shown % 3 == 0):
                        continue
                    scaled.pts, scaled.time_base, last_pts = pts, time_base, pts
                out.mux(vout.encode(scaled))
            else:
                for resampled in resampler.resample(frame):
                    if gain != 1.0:
                        louder = av.AudioFrame.from_ndarray(
                            (resampled.to_ndarray() * gain).astype(np.float32), format="fltp", layout=layout
                        )
                        louder.sample_rate, louder.pts = resampled.sample_rate, resampled.pts
                        resampled = louder
                    out.mux(aout.encode(resampled))
        out.mux(vout.encode(None))
        out.mux(aout.encode(None))
    return dst


def write_tracks(
    path: Path,
    seconds: float,
    tracks: list[tuple[str, bool]],
    *,
    start_s: float = 0.0,
    fps: int = 5,
    size: tuple[int, int] = (96, 64),
    sample_rate: int = 16000,
) -> Path:
    """Video and several audio tracks, each (language, has_sound): silent ones are digital zeros (a muted dub).
    The first track is flagged default, as muxers do. `start_s`: every timestamp starts there (a recording)."""
    width, height = size
    with av.open(str(path), "w") as out:
        vs = out.add_stream("libx264", rate=fps, options={"preset": "ultrafast", "g": str(fps)})
        vs.width, vs.height, vs.pix_fmt = width, height, "yuv420p"
        audio = []
        for language, _ in tracks:
            stream = out.add_stream("aac", rate=sample_rate, layout="mono")
            stream.metadata["language"] = language
            audio.append(stream)
        offset = int(start_s * fps)
        for i in range(int(seconds * fps)):
            level = (20 * (i // fps)) % 256
            frame = av.VideoFrame.from_ndarray(np.full((height, width, 3), level, np.uint8), format="rgb24")
            frame.pts = offset + i
            out.mux(vs.encode(frame))
        out.mux(vs.encode(None))
        n = int(seconds * sample_rate)
        tone = (0.3 * np.sin(2 * np.pi * 440 * np.arange(n) / sample_rate)).astype(np.float32)
        for stream, (_, sound) in zip(audio, tracks, strict=True):
            signal = tone if sound else np.zeros_like(tone)
            for start in range(0, n, 1024):
                chunk = signal[start : start + 1024].reshape(1, -1)
                frame = av.AudioFrame.from_ndarray(chunk, format="flt", layout="mono")
                frame.sample_rate, frame.pts = sample_rate, int(start_s * sample_rate) + start
                out.mux(stream.encode(frame))
            out.mux(stream.encode(None))
    return path


def attach_cover(path: Path, tmp: Path) -> Path:
    """Attach a JPEG cover to a Matroska file with the real mkvpropedit, as library managers do; FFmpeg then shows
    it as a one-frame video stream flagged attached_pic."""
    cover = tmp / "cover.jpg"
    with av.open(str(cover), "w", format="image2") as out:
        stream = out.add_stream("mjpeg", rate=1)
        stream.width, stream.height, stream.pix_fmt = 64, 64, "yuvj420p"
        picture = av.VideoFrame.from_ndarray(np.full((64, 64, 3), 200, np.uint8), format="rgb24")
        out.mux(stream.encode(picture.reformat(format="yuvj420p")))
        out.mux(stream.encode(None))
    subprocess.run(
        [
            "mkvpropedit",
            str(path),
            "--attachment-name",
            "cover.jpg",
            "--attachment-mime-type",
            "image/jpeg",
            "--add-attachment",
            str(cover),
        ],
        check=True,
        capture_output=True,
    )
    return path


def variant(
    src: Path,
    dst: Path,
    *,
    vcodec: str = "libx264",
    pix_fmt: str = "yuv420p",
    size: tuple[int, int] | None = None,
    layout: str = "stereo",
    sample_rate: int = 48000,
    start_s: float = 0.0,
    vfr: bool = False,
) -> Path:
    """`src` (video + one audio track) encoded again as what real libraries hold: another codec or bit depth,
    picture size (portrait: width < height), channel layout (5.1, 7.1, mono) and rate, timestamps that start at
    `start_s` (a recording; a .ts `dst` makes MPEG-TS), or a variable frame rate (`vfr`: frames dropped at an
    irregular pattern, the others keeping their times). The container follows `dst`'s suffix."""
    rng = np.random.default_rng(0)
    with av.open(str(src)) as inp, av.open(str(dst), "w") as out:
        vin, ain = inp.streams.video[0], inp.streams.audio[0]
        options = {"preset": "ultrafast"}
        if vcodec == "libx265":
            options["x265-params"] = "log-level=error"
        vout = out.add_stream(vcodec, rate=vin.average_rate, options=options)
        vout.width, vout.height = size or (vin.width, vin.height)
        vout.pix_fmt = pix_fmt
        vout.time_base = vout.codec_context.time_base = Fraction(1, 1000)
        aout = out.add_stream("aac", rate=sample_rate, layout=layout)
        resampler = av.AudioResampler(format="flt", layout=layout, rate=sample_rate)
        samples = 0
        for frame in inp.decode(vin, ain):
            if isinstance(frame, av.VideoFrame):
                if frame.time is None or (vfr and rng.random() < 0.4):
                    continue
                picture = frame.reformat(width=vout.width, height=vout.height, format=pix_fmt)
                picture.pts, picture.time_base = round((frame.time + start_s) * 1000), Fraction(1, 1000)
                out.mux(vout.encode(picture))
            else:
                for resampled in resampler.resample(frame):
                    # Packed samples: PyAV cannot build an 8-channel planar frame from an array.
                    packed = av.AudioFrame.from_ndarray(resampled.to_ndarray(), format="flt", layout=layout)
                    packed.sample_rate = sample_rate
                    packed.pts = round(start_s * sample_rate) + samples
                    samples += packed.samples
                    out.mux(aout.encode(packed))
        out.mux(vout.encode(None))
        out.mux(aout.encode(None))
    return dst


def decoded_sound(path: Path, rate: int) -> np.ndarray:
    """A file's whole first audio track, mono float32 at `rate`: a plain reference decode for corpus tests."""
    resampler = av.AudioResampler(format="flt", layout="mono", rate=rate)
    chunks = []
    with av.open(str(path)) as container:
        for frame in container.decode(audio=0):
            chunks += [f.to_ndarray().reshape(-1) for f in resampler.resample(frame)]
    chunks += [f.to_ndarray().reshape(-1) for f in resampler.resample(None)]
    return np.concatenate(chunks)


# A small, quick procedural season for the segments: short episodes, each with music credits (so that they recur)
# and a preview of the next episode after them; the hard negatives off.
PREVIEW_SEASON = replace(
    PROCEDURAL_SEGMENTS,
    episode_s=(150.0, 165.0),
    resolutions=((160, 90),),
    presets=("ultrafast",),
    credits_s=(20.0, 25.0),
    preview_s=(10.0, 15.0),
    p_credits=1.0,
    p_credits_silent=0.0,
    p_credits_theme=0.0,
    p_preview=1.0,
    p_preview_before_credits=0.0,
    p_post_credits=0.0,
    p_black_transition=0.0,
    p_act_card=0.0,
    p_montage=0.0,
    p_theme_reprise=0.0,
)

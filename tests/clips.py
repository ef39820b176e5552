"""Tiny media files for decoder tests: chosen streams, known content, written with PyAV."""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np


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

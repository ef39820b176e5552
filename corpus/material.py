"""Turns catalog ids into samples and pictures: synthesized ("synth/...", "noise/...") or decoded with PyAV.

Real ids are paths relative to the assets root. A file that cannot be decoded gives silence or a plain
picture with a warning: one bad asset must never stop a corpus build.
"""

from __future__ import annotations

import logging
import math
from collections import OrderedDict
from pathlib import Path

import av
import numpy as np
from numpy.typing import NDArray
from scipy.signal import resample_poly

from corpus import synth
from corpus.catalog import NOISE_PREFIX, NOISE_TRACK_S

log = logging.getLogger(__name__)

Audio = NDArray[np.float32]
Picture = NDArray[np.uint8]

SYNTH_PREFIX = "synth/"
# Synthetic recordings are made at one rate and resampled to the episode's, as a real recording is decoded at any:
# made at each rate, their random draws (a consonant's noise, the room tone) would differ, and a clip quoted from a
# 44.1 kHz episode into a 48 kHz one would not be a copy.
SYNTH_RATE = 48000
AUDIO_CACHE_BYTES = 600 * 2**20  # decoded tracks are big (a 5-minute track at 48 kHz is 58 MB)
PICTURE_CACHE_ITEMS = 16
# Every track and line is brought to one active loudness before mixing, so that the plan's gains mean the
# same thing for every recording and an intro is not simply "the loudest part" of an episode.
TARGET_ACTIVE_DB = -20.0
GATE_DB = 40.0  # blocks this far below the loudest block are pauses, not part of the level


def decode_audio(path: Path, rate: int) -> Audio:
    """Mono float32 samples at `rate` (PyAV's resampler does format, layout and rate in one go)."""
    chunks: list[Audio] = []
    resampler = av.AudioResampler(format="flt", layout="mono", rate=rate)
    with av.open(str(path)) as container:
        stream = container.streams.audio[0]
        for frame in container.decode(stream):
            for out in resampler.resample(frame):
                chunks.append(np.asarray(out.to_ndarray(), dtype=np.float32).reshape(-1))
    for out in resampler.resample(None):
        chunks.append(np.asarray(out.to_ndarray(), dtype=np.float32).reshape(-1))
    if not chunks:
        raise ValueError(f"{path}: no audio")
    return np.concatenate(chunks).astype(np.float32, copy=False)


def decode_picture(path: Path) -> Picture:
    """The first frame of an image file (JPEG/PNG/WebP) as RGB."""
    with av.open(str(path)) as container:
        for frame in container.decode(video=0):
            return np.asarray(frame.to_ndarray(format="rgb24"))
    raise ValueError(f"{path}: no picture")


def fit_picture(rgb: Picture, width: int, height: int) -> Picture:
    """Centre-crop to the target aspect, then scale with swscale (through PyAV) to width x height."""
    h, w = rgb.shape[:2]
    target = width / height
    if w / h > target:
        cw = max(2, int(h * target))
        x0 = (w - cw) // 2
        rgb = rgb[:, x0 : x0 + cw]
    else:
        ch = max(2, int(w / target))
        y0 = (h - ch) // 2
        rgb = rgb[y0 : y0 + ch]
    frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(rgb), format="rgb24")
    return np.asarray(frame.reformat(width=width, height=height, format="rgb24").to_ndarray())


def normalise(samples: Audio, rate: int) -> Audio:
    """Scale to TARGET_ACTIVE_DB RMS over the non-silent 50 ms blocks."""
    block = max(1, rate // 20)
    n = samples.size // block
    if n == 0:
        return samples
    power = np.mean(samples[: n * block].reshape(n, block).astype(np.float64) ** 2, axis=1)
    active = power[power > power.max() * 10 ** (-GATE_DB / 10)]
    if active.size == 0 or active.mean() <= 0:
        return samples
    gain = 10 ** (TARGET_ACTIVE_DB / 20) / np.sqrt(active.mean())
    return (samples * np.float32(gain)).astype(np.float32)


class Material:
    """Samples and pictures by id, with a bounded cache (episodes of one show reuse the same tracks)."""

    def __init__(self, assets_root: Path | None = None) -> None:
        self.assets_root = assets_root
        self._audio: OrderedDict[tuple[str, int], Audio] = OrderedDict()
        self._audio_bytes = 0
        self._pictures: OrderedDict[str, Picture] = OrderedDict()

    def audio(self, source: str, rate: int) -> Audio:
        key = (source, rate)
        if key in self._audio:
            self._audio.move_to_end(key)
            return self._audio[key]
        samples = self._load_audio(source, rate)
        if not source.startswith(NOISE_PREFIX):
            samples = normalise(samples, rate)
        self._audio[key] = samples
        self._audio_bytes += samples.nbytes
        while self._audio_bytes > AUDIO_CACHE_BYTES and len(self._audio) > 1:
            _, old = self._audio.popitem(last=False)
            self._audio_bytes -= old.nbytes
        return samples

    def _load_audio(self, source: str, rate: int) -> Audio:
        if source.startswith((NOISE_PREFIX, SYNTH_PREFIX)) and rate != SYNTH_RATE:
            made = self._load_audio(source, SYNTH_RATE)
            step = math.gcd(rate, SYNTH_RATE)
            return resample_poly(made, rate // step, SYNTH_RATE // step).astype(np.float32)
        if source.startswith(NOISE_PREFIX):
            return synth.room_tone(source, NOISE_TRACK_S, rate)
        if source.startswith(SYNTH_PREFIX + "music/"):
            _, _, group, _ = source.split("/", 3)
            return synth.music_track(source, group, synth.track_duration(source), rate)
        if source.startswith(SYNTH_PREFIX + "line/"):
            voice = source.split("/")[2]
            return synth.speech_line(source, voice, rate)
        if self.assets_root is None:
            raise ValueError(f"real asset {source!r} but no assets root")
        try:
            return decode_audio(self.assets_root / source, rate)
        except (av.FFmpegError, OSError, ValueError) as exc:
            log.warning("skipping undecodable audio %s: %s", source, exc)
            return np.zeros(rate, dtype=np.float32)

    def picture(self, photo: str, width: int, height: int) -> Picture:
        if photo.startswith(SYNTH_PREFIX):
            return synth.picture(photo, width, height)
        if photo in self._pictures:
            self._pictures.move_to_end(photo)
        else:
            self._pictures[photo] = self._load_picture(photo)
            if len(self._pictures) > PICTURE_CACHE_ITEMS:  # full-size photos are large
                self._pictures.popitem(last=False)
        return fit_picture(self._pictures[photo], width, height)

    def _load_picture(self, photo: str) -> Picture:
        if self.assets_root is None:
            raise ValueError(f"real asset {photo!r} but no assets root")
        try:
            return decode_picture(self.assets_root / photo)
        except (av.FFmpegError, OSError, ValueError) as exc:
            log.warning("skipping undecodable picture %s: %s", photo, exc)
            return synth.picture(photo, 64, 36)

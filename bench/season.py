"""A season of long 1080p episodes for the speed benchmark, made from one rendered episode without rendering more.

Every episode has the rendered episode's video (a stream copy: decoding it costs what a 1080p release does) and a
sound of its own: the rendered intro's sound at the same place in each, and around it story sound generated from
the episode's number (noise shaped like syllables, and chords), and over its last CREDITS_S the season's credits
sound (the same in every episode), so that nothing but the intro and the credits recurs across the season, as in a
real one. The pictures are the same in every episode, which a real season's are not: it gives the
network's picture-repetition inputs more to see than they would, never less; the sound, which decides, is real.
"""

from __future__ import annotations

import math
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

RATE = 48000
SYLLABLE_S = 0.25
AUDIO_FRAME = RATE  # PyAV cuts it into the encoder's frames
CREDITS_S = 60.0
SEASON = 0  # story_second's "episode" for the sound every episode shares (the credits)


def story_second(episode: int, second: int) -> np.ndarray:
    """(2, RATE) float32: one second of an episode's own story sound; the same for the same (episode, second)."""
    rng = np.random.default_rng([episode, second])
    n = int(SYLLABLE_S * RATE)
    pieces = []
    for _ in range(round(1 / SYLLABLE_S)):
        spectrum = np.fft.rfft(rng.standard_normal(n))
        freqs = np.fft.rfftfreq(n, 1 / RATE)
        centre, width = rng.uniform(250, 3500), rng.uniform(150, 900)
        spectrum *= np.exp(-(((freqs - centre) / width) ** 2))
        syllable = np.fft.irfft(spectrum, n) * np.hanning(n) * rng.uniform(0.0, 4.0)
        if rng.random() < 0.2:  # a chord under it now and then
            t = np.arange(n) / RATE
            syllable += 0.05 * sum(np.sin(2 * np.pi * f * t) for f in rng.uniform(110, 880, size=3))
        pieces.append(syllable)
    mono = np.clip(np.concatenate(pieces), -1, 1).astype(np.float32)
    return np.stack([mono, mono])


def intro_sound(source: Path, start_s: float, end_s: float) -> np.ndarray:
    """(2, n) float32 at RATE: the source's sound from start_s to end_s. Decoded from the start, not sought: a
    seek lands on the cluster of a key frame, which in a stream-copied file can be seconds after the time asked."""
    chunks = []
    resampler = av.AudioResampler(format="fltp", layout="stereo", rate=RATE)
    with av.open(str(source)) as container:
        for frame in container.decode(audio=0):
            if frame.time is not None and frame.time > end_s + 1:
                break
            for out in resampler.resample(frame):
                assert out.time is not None
                chunks.append((out.time, out.to_ndarray()))
    first = round(start_s * RATE)
    samples = np.zeros((2, round(end_s * RATE) - first), np.float32)
    for time_s, chunk in chunks:
        at = round(time_s * RATE) - first
        lo, hi = max(0, at), min(samples.shape[1], at + chunk.shape[1])
        if lo < hi:
            samples[:, lo:hi] = chunk[:, lo - at : hi - at]
    return samples


class _EpisodeSound:
    """The episode's sound, sample by sample range: its story, with the intro's sound over [start, end) and the
    season's credits sound over its last CREDITS_S."""

    def __init__(self, episode: int, intro: np.ndarray, start_s: float, duration_s: float) -> None:
        self.episode = episode
        self.intro = intro
        self.intro_at = round(start_s * RATE)
        self.credits_from = int(duration_s - CREDITS_S)  # the second the credits start
        self._second = -1
        self._samples = np.zeros((2, RATE), np.float32)

    def between(self, lo: int, hi: int) -> np.ndarray:
        out = np.empty((2, hi - lo), np.float32)
        pos = lo
        while pos < hi:
            second = pos // RATE
            if second != self._second:
                # The credits: the season's sound, by the second within them; the story: the episode's own.
                at = (SEASON, second - self.credits_from) if second >= self.credits_from else (self.episode, second)
                self._second, self._samples = second, story_second(*at)
            take = min(hi, (second + 1) * RATE) - pos
            out[:, pos - lo : pos - lo + take] = self._samples[:, pos % RATE : pos % RATE + take]
            pos += take
        a, b = max(lo, self.intro_at), min(hi, self.intro_at + self.intro.shape[1])
        if a < b:
            out[:, a - lo : b - lo] = self.intro[:, a - self.intro_at : b - self.intro_at]
        return out


def write_episode(source: Path, out_path: Path, episode: int, intro: np.ndarray, intro_start_s: float) -> None:
    """The source's video (stream copy) with the episode's own sound (AAC 48 kHz stereo), interleaved."""
    tmp = out_path.with_suffix(".tmp.mkv")
    with av.open(str(source)) as inp, av.open(str(tmp), "w", format="matroska") as out:
        video_in = inp.streams.video[0]
        video = out.add_stream_from_template(video_in)
        audio = out.add_stream("aac", rate=RATE, layout="stereo", options={"aac_coder": "fast"})
        audio.bit_rate = 128_000
        duration_s = float(inp.duration or 0) / av.time_base
        sound = _EpisodeSound(episode, intro, intro_start_s, duration_s)
        total = int(duration_s * RATE)
        pos = 0
        for packet in inp.demux(video_in):
            if packet.dts is None:
                continue
            packet.stream = video
            out.mux(packet)
            until = min(total, math.ceil(float(packet.dts * packet.time_base) * RATE))
            pos = _encode(out, audio, sound, pos, until)
        _encode(out, audio, sound, pos, total)
        out.mux(audio.encode(None))
    tmp.replace(out_path)


def _encode(out: av.container.OutputContainer, stream: av.AudioStream, sound: _EpisodeSound, pos: int, end: int) -> int:
    while pos + AUDIO_FRAME <= end:
        frame = av.AudioFrame.from_ndarray(sound.between(pos, pos + AUDIO_FRAME), format="fltp", layout="stereo")
        frame.sample_rate, frame.pts, frame.time_base = RATE, pos, Fraction(1, RATE)
        out.mux(stream.encode(frame))
        pos += AUDIO_FRAME
    return pos


def ensure_season(source: Path, intro_s: tuple[float, float], episodes: int, folder: Path) -> list[Path]:
    """`episodes` files in `folder` (made once): source's video, each with its own sound and the source's intro."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = [folder / f"S01E{k + 1:02d}.mkv" for k in range(episodes)]
    missing = [(k, p) for k, p in enumerate(paths) if not p.exists()]
    if missing:
        intro = intro_sound(source, *intro_s)
        for k, path in missing:
            write_episode(source, path, k + 1, intro, intro_s[0])
    return paths

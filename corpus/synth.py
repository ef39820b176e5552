"""Procedural material: music, speech-like lines, room tone and pictures from seeds (numpy + scipy only).

Cheap enough for tests (a 90 s track in ~0.1 s) and deterministic: the same id always gives the same samples,
which is what makes a show's intro identical across its episodes.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
from numpy.typing import NDArray
from scipy.signal import lfilter

from corpus.catalog import stable_hash

Audio = NDArray[np.float32]

_SCALES = ((0, 2, 4, 5, 7, 9, 11), (0, 2, 3, 5, 7, 8, 10), (0, 2, 4, 7, 9), (0, 3, 5, 7, 10))
_PROGRESSIONS = ((0, 5, 3, 4), (0, 3, 4, 4), (0, 5, 1, 4), (5, 3, 0, 4))
# (F1, F2, F3) in Hz for a handful of vowels.
_VOWELS = ((730, 1090, 2440), (270, 2290, 3010), (530, 1840, 2480), (570, 840, 2410), (300, 870, 2240))


def _rng(key: str) -> np.random.Generator:
    return np.random.default_rng(stable_hash(key) % 2**32)


def _midi_hz(note: float) -> float:
    return float(440.0 * 2 ** ((note - 69) / 12))


@lru_cache(maxsize=512)  # melodies repeat their notes: render each (pitch, length, timbre) once
def _tone(freq: float, dur_s: float, rate: int, harmonics: tuple[float, ...], decay: float) -> Audio:
    t = np.arange(int(dur_s * rate), dtype=np.float32) / np.float32(rate)
    wave = np.zeros_like(t)
    for k, amp in enumerate(harmonics, start=1):
        if amp and freq * k < rate / 2:
            wave += amp * np.sin(2 * np.pi * freq * k * t)
    attack = np.minimum(1.0, t / 0.01)
    release = np.minimum(1.0, (dur_s - t) / 0.03)
    out = (wave * attack * release * np.exp(-decay * t)).astype(np.float32)
    out.flags.writeable = False
    return out


@lru_cache(maxsize=64)
def _drum(kind: int, rate: int, seed: int) -> Audio:
    rng = np.random.default_rng(seed)
    t = np.arange(int(0.25 * rate)) / rate
    if kind == 0:  # kick: a falling sine
        return (np.sin(2 * np.pi * (50 + 80 * np.exp(-t * 30)) * t) * np.exp(-t * 18)).astype(np.float32)
    noise = rng.standard_normal(t.size)
    if kind == 1:  # snare: noise plus a body
        return ((0.6 * noise + np.sin(2 * np.pi * 190 * t)) * np.exp(-t * 25) * 0.5).astype(np.float32)
    return (np.diff(noise, prepend=0.0) * np.exp(-t * 60) * 0.15).astype(np.float32)  # hat: bright noise


def _section(group_key: str, key: str, rate: int) -> Audio:
    """Eight bars in the group's style (tempo, scale, timbre); the melody and chords come from `key`."""
    g = _rng(group_key)
    r = _rng(key)
    bpm = float(g.uniform(80, 140))
    root = int(g.integers(45, 58))
    scale = _SCALES[int(g.integers(0, len(_SCALES)))]
    lead = (1.0, *(float(x) ** 2 for x in g.uniform(0, 1, size=5)))
    kit = int(g.integers(0, 2**31))
    drums = bool(g.random() < 0.8)
    beat = 60.0 / bpm
    bars = 8
    out = np.zeros(int(bars * 4 * beat * rate) + rate, dtype=np.float32)

    def add(sig: Audio, at_s: float, gain: float) -> None:
        i = int(at_s * rate)
        n = min(sig.size, out.size - i)
        out[i : i + n] += gain * sig[:n]

    prog = _PROGRESSIONS[int(r.integers(0, len(_PROGRESSIONS)))]
    degree = int(r.integers(0, len(scale)))
    for bar in range(bars):
        t_bar = bar * 4 * beat
        chord = prog[bar % len(prog)]
        for i in (0, 2, 4):  # a pad chord per bar
            step = chord + i
            note = root + 12 * (step // len(scale)) + scale[step % len(scale)]
            add(_tone(_midi_hz(note), 4 * beat, rate, (1.0, 0.3, 0.1), 0.3), t_bar, 0.12)
        for eighth in range(8):  # the melody: a random walk on the scale
            if r.random() < 0.7:
                degree = int(np.clip(degree + r.integers(-2, 3), 0, 2 * len(scale) - 1))
                note = root + 12 + 12 * (degree // len(scale)) + scale[degree % len(scale)]
                length = beat / 2 * (2 if r.random() < 0.3 else 1)
                add(_tone(_midi_hz(note), length, rate, lead, 3.0), t_bar + eighth * beat / 2, 0.25)
            if drums:
                add(_drum(2, rate, kit), t_bar + eighth * beat / 2, 0.5)
        if drums:
            for b in range(4):
                add(_drum(0 if b % 2 == 0 else 1, rate, kit), t_bar + b * beat, 0.6)
    return out[: int(bars * 4 * beat * rate)]


def music_track(track_id: str, group: str, duration_s: float, rate: int) -> Audio:
    """A song of A/B sections (each rendered once, then repeated) in the style of `group`."""
    r = _rng(track_id + "/form")
    sections = [_section(group, f"{track_id}/{name}", rate) for name in "ABC"]
    n = int(duration_s * rate)
    parts: list[Audio] = []
    total = 0
    while total < n:
        part = sections[int(r.choice(3, p=[0.45, 0.4, 0.15]))]
        parts.append(part)
        total += part.size
    song = np.concatenate(parts)[:n]
    return (song / (np.max(np.abs(song)) + 1e-9) * 0.8).astype(np.float32)


def track_duration(track_id: str) -> float:
    return round(float(_rng(track_id + "/len").uniform(90, 150)), 2)


def line_duration(line_id: str) -> float:
    return round(float(_rng(line_id + "/len").uniform(0.8, 4.0)), 3)


def _resonate(x: NDArray[np.float64], freq: float, bandwidth: float, rate: int) -> NDArray[np.float64]:
    radius = np.exp(-np.pi * bandwidth / rate)
    a = [1.0, -2 * radius * np.cos(2 * np.pi * freq / rate), radius**2]
    return np.asarray(lfilter([1 - radius], a, x))


def speech_line(line_id: str, voice: str, rate: int) -> Audio:
    """Formant-filtered glottal pulses in syllables and words: speech-like bursts with pauses."""
    v = _rng(voice)
    r = _rng(line_id)
    f0_base = float(v.uniform(95, 130) if v.random() < 0.5 else v.uniform(175, 240))
    shift = float(v.uniform(0.9, 1.15))
    dur_s = line_duration(line_id)
    out = np.zeros(int(dur_s * rate), dtype=np.float64)
    t = 0.03
    while t < dur_s - 0.12:
        syl = float(r.uniform(0.08, 0.24))
        syl = min(syl, dur_s - 0.03 - t)
        n = int(syl * rate)
        f0 = f0_base * (1.1 - 0.25 * t / dur_s) * (1 + 0.08 * np.sin(np.linspace(0, np.pi, n) * r.uniform(-1, 1)))
        phase = np.cumsum(f0 / rate)
        pulses = 2 * (phase % 1.0) - 1
        formants = _VOWELS[int(r.integers(0, len(_VOWELS)))]
        voiced = sum(_resonate(pulses, f * shift, 90 + 40 * k, rate) / (k + 1) for k, f in enumerate(formants))
        env = np.sin(np.linspace(0, np.pi, n)) ** 0.6
        i = int(t * rate)
        out[i : i + n] += voiced * env
        if r.random() < 0.4:  # a consonant: a short burst of bright noise before the vowel
            m = min(int(0.04 * rate), i)
            burst = np.diff(r.standard_normal(m + 1)) * 0.15
            out[i - m : i] += burst * np.linspace(0.2, 1, m)
        t += syl + (r.uniform(0.0, 0.04) if r.random() < 0.7 else r.uniform(0.08, 0.2))
    peak = np.max(np.abs(out)) + 1e-9
    return (out / peak * 0.7).astype(np.float32)


def room_tone(noise_id: str, duration_s: float, rate: int) -> Audio:
    """Low, brownish noise with a little mains hum: the bed that dialogue scenes sit on."""
    r = _rng(noise_id)
    n = int(duration_s * rate)
    white = r.standard_normal(n)
    pole = float(r.uniform(0.9, 0.99))
    tone = lfilter([1 - pole], [1, -pole], white) * 3 + 0.3 * white
    hum = 0.05 * np.sin(2 * np.pi * (50 if r.random() < 0.5 else 60) * np.arange(n) / rate)
    tone = tone + hum
    return (tone / (np.sqrt(np.mean(tone**2)) + 1e-9) * 0.25).astype(np.float32)


def picture(photo_id: str, width: int, height: int) -> NDArray[np.uint8]:
    """An RGB picture: a two-colour gradient, a few shapes and a wavy texture."""
    r = _rng(photo_id)
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    yy /= height
    xx /= width
    angle = r.uniform(0, 2 * np.pi)
    u = (np.cos(angle) * xx + np.sin(angle) * yy)[..., None]
    c0, c1 = r.integers(0, 256, size=(2, 3)).astype(np.float32)
    img = c0 + (c1 - c0) * (u - u.min()) / (np.ptp(u) + 1e-6)
    for _ in range(int(r.integers(3, 9))):
        color = r.integers(0, 256, size=3).astype(np.float32)
        cx, cy, size = r.uniform(0, 1), r.uniform(0, 1), r.uniform(0.05, 0.3)
        if r.random() < 0.5:
            inside = (xx - cx) ** 2 * (width / height) ** 2 + (yy - cy) ** 2 < size**2
        else:
            inside = (np.abs(xx - cx) < size) & (np.abs(yy - cy) < size * r.uniform(0.3, 1.5))
        img[inside] = img[inside] * 0.3 + color * 0.7
    for _ in range(3):
        fx, fy, ph = r.uniform(1, 12), r.uniform(1, 12), r.uniform(0, 2 * np.pi)
        img += (r.uniform(5, 20) * np.sin(2 * np.pi * (fx * xx + fy * yy) + ph))[..., None]
    return np.clip(img, 0, 255).astype(np.uint8)

"""A second recipe, written apart from the generator the models train on: held-out data of another make.

The training generator (corpus.plan + corpus.render, with real recordings or corpus.synth) composes scenes of
voice lines, theme excerpts and photos. This one shares none of that code or material: every sound and picture is
built here from a few formulas, as the tester's seasons of issues 19 and 25 were. An episode is
[speech-like story][intro: music under title cards][speech-like story], the intro placed anywhere in the first
half, or absent. The sound: a voice is a pulse train through formant resonators in syllables and phrases, with
hissed consonants; music is chords, a bass line, a melody and a drum kit on a tempo. The pictures: story shots are
drifting colour fields with moving discs, cut every 3-9 s; the intro is a title card sequence (the show's name in
slanted dot-matrix letters on a dark field, a slow pan).

    python -m corpus.build sketch --out /tmp/sketch --shows 6 --episodes 4 --seed 1

Every draw comes from the seed, so the same command writes the same corpus.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
from numpy.typing import NDArray
from scipy.signal import lfilter

from corpus.font import text_mask
from detector.labels import TRUTH_FILE, EpisodeTruth, IntroSpan, write_truth

RATE = 48_000
FPS = 24
WIDTH, HEIGHT = 320, 180
Audio = NDArray[np.float32]

# Where the intro sits, with the share of episodes of each (the rest of a season's draws): the rows of the
# per-position table of the lone model's card.
POSITIONS = (("at_start", 0.2), ("after_20_60s", 0.3), ("after_1_5min", 0.3), ("none", 0.2))
_WORDS = ("NIGHT", "RIVER", "HOUSE", "NORTH", "GLASS", "EMBER", "HARBOR", "SIGNAL", "ORCHID", "COMET")


def _rng(*key: object) -> np.random.Generator:
    return np.random.default_rng(zlib.crc32(repr(key).encode()))


# ---- sound -----------------------------------------------------------------------------------------------------


def _resonator(x: NDArray[np.float64], hz: float, bandwidth_hz: float) -> NDArray[np.float64]:
    r = np.exp(-np.pi * bandwidth_hz / RATE)
    return np.asarray(lfilter([1 - r], [1, -2 * r * np.cos(2 * np.pi * hz / RATE), r * r], x))


def speech(rng: np.random.Generator, seconds: float, pitch_hz: float) -> Audio:
    """Phrases of syllables: a glottal pulse train at a falling, wandering pitch through three formants that move
    from syllable to syllable, hissed consonants between some, silent pauses between phrases."""
    out = np.zeros(int(seconds * RATE))
    at = int(rng.uniform(0.1, 0.6) * RATE)
    while at < len(out):
        phrase = int(rng.uniform(1.2, 4.0) * RATE)
        n = min(phrase, len(out) - at)
        t = np.arange(n) / RATE
        f0 = pitch_hz * (1.15 - 0.3 * t / (phrase / RATE)) * (1 + 0.05 * np.sin(2 * np.pi * rng.uniform(2, 5) * t))
        pulses = np.diff(np.floor(np.cumsum(f0) / RATE), prepend=0.0)
        syllable_s = rng.uniform(0.16, 0.28)
        voiced = np.zeros(n)
        for start in range(0, n, int(syllable_s * RATE)):
            stop = min(n, start + int(syllable_s * RATE))
            f1, f2, f3 = rng.uniform(300, 850), rng.uniform(900, 2300), rng.uniform(2400, 3200)
            part = pulses[start:stop]
            sound = _resonator(part, f1, 90) + 0.6 * _resonator(part, f2, 120) + 0.3 * _resonator(part, f3, 180)
            voiced[start:stop] = sound * np.hanning(stop - start)
            if rng.random() < 0.4:  # a consonant: a short hiss at the syllable's start
                hiss = min(stop - start, int(0.05 * RATE))
                noise = np.diff(rng.standard_normal(hiss + 1))  # high-passed
                voiced[start : start + hiss] += 0.05 * noise
        out[at : at + n] = voiced
        at += phrase + int(rng.uniform(0.25, 1.2) * RATE)
    out /= max(1e-6, float(np.abs(out).max()))
    return (0.25 * out).astype(np.float32)


def music(rng: np.random.Generator, seconds: float) -> Audio:
    """A loop on a tempo: four chords of a scale (held tones), a bass note per beat, an eight-note melody per bar,
    kick and snare. Timbres (harmonic weights) and tempo come from the rng: each show's theme is its own."""
    bpm = rng.uniform(84, 150)
    beat = 60.0 / bpm
    root = rng.uniform(45, 57)
    scale = np.array((0, 2, 4, 5, 7, 9, 11) if rng.random() < 0.5 else (0, 2, 3, 5, 7, 8, 10))
    chords = rng.choice(7, 4)
    melody = rng.choice(7, 8)
    harmonics = rng.uniform(0.1, 1.0, 6) ** 2
    n = int(seconds * RATE)
    t = np.arange(n) / RATE
    bar = (t / (4 * beat)).astype(int)
    beat_i = (t / beat).astype(int)
    in_beat = (t % beat) / beat

    def note_hz(degree: NDArray[np.int64], octave: float) -> NDArray[np.float64]:
        semis = scale[degree % 7] + 12 * (degree // 7)
        return np.asarray(440.0 * 2 ** ((root + 12 * octave + semis - 69) / 12))

    def voice(hz: NDArray[np.float64], envelope: NDArray[np.float64]) -> NDArray[np.float64]:
        phase = 2 * np.pi * np.cumsum(hz) / RATE
        return envelope * sum(w * np.sin((k + 1) * phase) for k, w in enumerate(harmonics))

    chord_deg = chords[bar % 4]
    pad = sum(voice(note_hz(chord_deg + step, 1.0), np.full(n, 0.05)) for step in (0, 2, 4))
    bass = voice(note_hz(chord_deg, 0.0), 0.2 * np.exp(-3 * in_beat))
    eighth = ((t / (beat / 2)).astype(int)) % 8
    lead = voice(note_hz(melody[eighth] + chord_deg, 2.0), 0.12 * np.exp(-4 * ((t % (beat / 2)) / (beat / 2))))
    noise = rng.standard_normal(n)
    kick = np.sin(2 * np.pi * 55 * t * (1 + np.exp(-30 * in_beat))) * np.exp(-12 * in_beat) * (beat_i % 2 == 0)
    snare = noise * np.exp(-18 * in_beat) * (beat_i % 2 == 1)
    mix = pad + bass + lead + 0.5 * kick + 0.15 * snare
    return (0.3 * mix / max(1e-6, float(np.abs(mix).max()))).astype(np.float32)


# ---- pictures --------------------------------------------------------------------------------------------------


_ROWS, _COLS = np.mgrid[0:HEIGHT, 0:WIDTH].astype(np.float32)


def _story_frame(shot: int, seed: int, t: float) -> NDArray[np.uint8]:
    rng = _rng(seed, "shot", shot)
    a, b = rng.uniform(0, 255, 3), rng.uniform(0, 255, 3)
    angle = rng.uniform(0, 2 * np.pi) + 0.05 * t
    ramp = (np.cos(angle) * _COLS / WIDTH + np.sin(angle) * _ROWS / HEIGHT + 0.03 * t) % 1.0
    frame = a + (b - a) * ramp[..., None]
    for _ in range(3):  # discs drifting across the shot
        cx = (rng.uniform(0, 1) + rng.uniform(-0.05, 0.05) * t) % 1.0 * WIDTH
        cy = (rng.uniform(0, 1) + rng.uniform(-0.03, 0.03) * t) % 1.0 * HEIGHT
        radius, colour = rng.uniform(10, 40), rng.uniform(0, 255, 3)
        frame[(_COLS - cx) ** 2 + (_ROWS - cy) ** 2 < radius**2] = colour
    return frame.astype(np.uint8)


def _dot_matrix(mask: NDArray[np.bool_], scale: int) -> NDArray[np.bool_]:
    """Letters as slanted dot-matrix blocks: not the training generator's solid glyphs."""
    big = np.repeat(np.repeat(mask, scale, axis=0), scale, axis=1)
    big[scale - 1 :: scale, :] = False
    big[:, scale - 1 :: scale] = False
    slant = big.shape[0] // 3
    out = np.zeros((big.shape[0], big.shape[1] + slant), dtype=bool)
    for row in range(big.shape[0]):
        shift = (big.shape[0] - row) // 3
        out[row, shift : shift + big.shape[1]] = big[row]
    return out


def _title_frame(name: str, card: int, t: float, seed: int) -> NDArray[np.uint8]:
    rng = _rng(seed, "card", card)
    frame = np.empty((HEIGHT, WIDTH, 3))
    frame[:] = rng.uniform(0, 50, 3)
    words = name.split() if card % 2 == 0 else [_WORDS[int(rng.integers(len(_WORDS)))]]
    mask = _dot_matrix(text_mask(" ".join(words)), 4 if len(" ".join(words)) < 12 else 2)
    h, w = mask.shape[:2]
    h, w = min(h, HEIGHT), min(w, WIDTH)
    x0 = int(np.clip((WIDTH - w) / 2 + 10 * np.sin(0.3 * t), 0, WIDTH - w))
    y0 = (HEIGHT - h) // 2
    frame[y0 : y0 + h, x0 : x0 + w][mask[:h, :w]] = rng.uniform(180, 255, 3)
    return frame.astype(np.uint8)


# ---- episodes --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SketchEpisode:
    relpath: str
    show: str
    duration_s: float
    intro: IntroSpan | None
    position: str  # a key of POSITIONS


def plan_episode(show: str, number: int, seed: int) -> SketchEpisode:
    rng = _rng(seed, show, number)
    weights = np.array([w for _, w in POSITIONS])
    position = str(rng.choice([k for k, _ in POSITIONS], p=weights / weights.sum()))
    duration = round(float(rng.uniform(240, 480)), 1)
    intro_s = round(float(_rng(seed, show, "intro").uniform(12, 60)), 1)
    start = {
        "at_start": 0.0,
        "after_20_60s": rng.uniform(20, 60),
        "after_1_5min": rng.uniform(60, min(300, duration / 2 - intro_s)),
    }.get(position)
    intro = None if start is None else IntroSpan(round(float(start), 2), round(float(start) + intro_s, 2))
    relpath = f"{show}/Season 01/{show} S01E{number:02d}.mkv"
    return SketchEpisode(relpath, show, duration, intro, position)


def render(ep: SketchEpisode, path: Path, seed: int) -> None:
    show_rng = _rng(seed, ep.show, "theme")
    pitch = float(_rng(seed, ep.show, ep.relpath, "voice").uniform(95, 230))
    rng = _rng(seed, ep.relpath, "render")
    sound = speech(rng, ep.duration_s, pitch)
    cut_at = np.cumsum(rng.uniform(3, 9, int(ep.duration_s) + 1))
    if ep.intro is not None:
        theme = music(show_rng, ep.intro.duration_s)
        a = int(ep.intro.start_s * RATE)
        sound[a : a + len(theme)] = theme[: len(sound) - a]
    path.parent.mkdir(parents=True, exist_ok=True)
    part = path.with_suffix(".part.mkv")
    with av.open(str(part), "w") as out:
        video = out.add_stream("libx264", rate=FPS, options={"preset": "ultrafast", "crf": "26"})
        video.width, video.height, video.pix_fmt = WIDTH, HEIGHT, "yuv420p"
        audio = out.add_stream("aac", rate=RATE, layout="mono")
        for i in range(int(ep.duration_s * FPS)):
            t = i / FPS
            if ep.intro is not None and ep.intro.start_s <= t < ep.intro.end_s:
                card = int((t - ep.intro.start_s) // 4)
                picture = _title_frame(ep.show, card, t - ep.intro.start_s, seed)
            else:  # motion at 5 steps a second: cheap to draw, still moving under a 1 fps sampler
                picture = _story_frame(int(np.searchsorted(cut_at, t)), seed, round(t * 5) / 5)
            frame = av.VideoFrame.from_ndarray(picture, format="rgb24")
            frame.pts, frame.time_base = i, Fraction(1, FPS)
            out.mux(video.encode(frame))
        out.mux(video.encode(None))
        for start in range(0, len(sound), 1024):
            piece = av.AudioFrame.from_ndarray(sound[start : start + 1024].reshape(1, -1), format="flt", layout="mono")
            piece.sample_rate, piece.pts = RATE, start
            out.mux(audio.encode(piece))
        out.mux(audio.encode(None))
    part.replace(path)


def build(out: Path, shows: int, episodes: int, seed: int) -> list[EpisodeTruth]:
    names = [f"{_WORDS[k % len(_WORDS)]} {_WORDS[(k * 7 + 3) % len(_WORDS)]}".title() for k in range(shows)]
    truths = []
    for show in names:
        for number in range(1, episodes + 1):
            ep = plan_episode(show, number, seed)
            if not (out / ep.relpath).exists():
                render(ep, out / ep.relpath, seed)
            truths.append(EpisodeTruth(ep.relpath, show, "Season 01", ep.duration_s, ep.intro, (ep.position,)))
            write_truth(out / TRUTH_FILE, truths)
    return truths

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

With `--segments` (build(segments=True)) episodes also get the other kinds of segment, labelled in truth.json: end
credits in the second half (the show's own credits music, a plucked arpeggio over a drone, the same from its first
second in every episode of a season; dot-matrix names scrolling up a dark field or over the last story shot, which
goes on drifting), in ~10 % of episodes none; a post-credits story scene in some; a preview of the next episode's
story (its sound and pictures) before or after the credits in some; and a "previously" recap of earlier episodes'
story at the start of some (never before an intro at 0 s). Those draws come from streams of their own, so the
episodes without `--segments` are the ones they always were.

Every draw comes from the seed, so the same command writes the same corpus.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass, replace
from fractions import Fraction
from functools import lru_cache
from pathlib import Path

import av
import numpy as np
from numpy.typing import NDArray
from scipy.signal import lfilter

from corpus.font import text_mask
from detector.labels import TRUTH_FILE, EpisodeTruth, IntroSpan, SegmentSpan, write_truth

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


def credits_music(rng: np.random.Generator, seconds: float) -> Audio:
    """End-credits music, another formula than `music`: plucked strings (Karplus-Strong) arpeggiating four chords
    over a droning root with a slow tremolo, no drums."""
    bpm = rng.uniform(60, 100)
    step = 60.0 / bpm / 2  # eighth notes
    root = rng.uniform(43, 52)
    scale = np.array((0, 2, 4, 7, 9) if rng.random() < 0.5 else (0, 3, 5, 7, 10))
    chords = rng.choice(5, 4)
    pattern = np.array((0, 1, 2, 3, 2, 1, 2, 3))[: int(rng.integers(6, 9))]
    decay = rng.uniform(0.990, 0.997)
    n = int(seconds * RATE)
    out = np.zeros(n + RATE)
    plucks: dict[int, NDArray[np.float64]] = {}  # one rendering per pitch (a pluck is the same every time)
    for k in range(int(seconds / step) + 1):
        chord = int(chords[(k // 16) % 4])
        degree = chord + int(pattern[k % len(pattern)])
        semis = int(scale[degree % 5] + 12 * (degree // 5))
        if semis not in plucks:
            period = max(2, int(RATE / (440.0 * 2 ** ((root + 12 + semis - 69) / 12))))
            burst = np.zeros(RATE)
            burst[:period] = rng.uniform(-1, 1, period)
            denominator = np.zeros(period + 2)
            denominator[0], denominator[period], denominator[period + 1] = 1.0, -decay / 2, -decay / 2
            plucks[semis] = np.asarray(lfilter([1.0], denominator, burst))
        at = int(k * step * RATE)
        out[at : at + RATE] += plucks[semis][: len(out) - at]
    t = np.arange(len(out)) / RATE
    drone_hz = 440.0 * 2 ** ((root - 69) / 12)
    out += 0.3 * np.sin(2 * np.pi * drone_hz * t) * (0.7 + 0.3 * np.sin(2 * np.pi * rng.uniform(0.1, 0.3) * t))
    out = out[:n]
    return (0.3 * out / max(1e-6, float(np.abs(out).max()))).astype(np.float32)


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
class SketchPiece:
    """A stretch of an episode that is not its own story or intro (episodes with segments only)."""

    kind: str  # "recap" or "preview": another episode's story; "credits"
    start_s: float
    end_s: float
    clips: tuple[tuple[str, float, float, float], ...] = ()  # (source relpath, its duration, source start, length)


@dataclass(frozen=True)
class SketchEpisode:
    relpath: str
    show: str
    duration_s: float
    intro: IntroSpan | None
    position: str  # a key of POSITIONS
    pieces: tuple[SketchPiece, ...] = ()
    segments: tuple[SegmentSpan, ...] | None = None  # None: not labelled (built without segments)
    tags: tuple[str, ...] = ()  # besides the position


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


# ---- the other kinds of segment (build(segments=True)) ------------------------------------------------------------

P_CREDITS = 0.9
P_POST_CREDITS = 0.25
P_PREVIEW = 0.3
P_PREVIEW_FIRST = 0.3
P_RECAP = 0.4
MIN_STORY_S = 30.0
NAME_PX = 18  # scrolling credits: one name every NAME_PX rows


@dataclass(frozen=True)
class SeasonCredits:
    length_s: float  # each episode's credits are within 10 % of it
    over_shot: bool  # over the last story shot (else a dark field)
    field: tuple[float, float, float]
    ink: tuple[float, float, float]
    rise_px_s: float  # scrolling speed


def season_credits(show: str, seed: int) -> SeasonCredits:
    rng = _rng(seed, show, "credits")
    length = round(float(rng.uniform(20, 50)), 2)
    over_shot = bool(rng.random() < 0.4)
    field = tuple(float(c) for c in rng.uniform(0, 35, 3))
    ink = tuple(float(c) for c in rng.uniform(170, 255, 3))
    return SeasonCredits(length, over_shot, field, ink, float(rng.uniform(14, 26)))  # type: ignore[arg-type]


@lru_cache(maxsize=2)
def _credits_sound(show: str, seed: int, seconds: float) -> Audio:
    return credits_music(_rng(seed, show, "credits music"), seconds)


def plan_season(show: str, episodes: int, seed: int, segments: bool = False) -> list[SketchEpisode]:
    """A season's episodes; with `segments`, each gets its ending and recap (in a second pass: their clips come
    from the other episodes' story)."""
    eps = [plan_episode(show, number, seed) for number in range(1, episodes + 1)]
    return with_segments(eps, seed) if segments else eps


def with_segments(season: list[SketchEpisode], seed: int) -> list[SketchEpisode]:
    """A season's episodes (in order, of one show) with their endings and recaps."""
    credits = season_credits(season[0].show, seed)
    eps = [_with_ending(ep, number, len(season), credits, seed) for number, ep in enumerate(season, start=1)]
    return [_with_clips(ep, number, eps, seed) for number, ep in enumerate(eps, start=1)]


def _with_ending(ep: SketchEpisode, number: int, episodes: int, credits: SeasonCredits, seed: int) -> SketchEpisode:
    x = _rng(seed, ep.show, number, "ending")
    credits_s = credits.length_s * float(x.uniform(0.9, 1.1)) if x.random() < P_CREDITS else 0.0
    post_s = float(x.uniform(5, 20)) if x.random() < P_POST_CREDITS and credits_s else 0.0
    preview_s = float(x.uniform(10, 25)) if x.random() < P_PREVIEW and number < episodes else 0.0
    first = bool(x.random() < P_PREVIEW_FIRST)
    recap_s = float(x.uniform(8, 20)) if x.random() < P_RECAP and number > 1 else 0.0
    # A recap opens the episode, before its story: never before an intro at 0 s, and ends 3 s before an intro.
    if ep.intro is not None:
        recap_s = min(recap_s, ep.intro.start_s - 3.0)
        recap_s = recap_s if recap_s >= 6.0 else 0.0
    story_end = ep.intro.end_s if ep.intro is not None else recap_s
    allowed = min(ep.duration_s / 2, ep.duration_s - story_end - MIN_STORY_S)
    if credits_s + post_s + preview_s > allowed:
        post_s = 0.0
    if credits_s + preview_s > allowed:
        preview_s = 0.0
    credits_s = min(credits_s, allowed)
    credits_s, post_s, preview_s, recap_s = (round(v, 2) for v in (credits_s, post_s, preview_s, recap_s))
    first = first and bool(credits_s and preview_s)
    order = [("preview", preview_s)] if first else []
    order += [("credits", credits_s), ("post_credits", post_s)] + ([] if first else [("preview", preview_s)])
    order = [(k, d) for k, d in order if d > 0]
    pieces = [SketchPiece("recap", 0.0, recap_s)] if recap_s else []
    spans = [SegmentSpan("recap", 0.0, recap_s)] if recap_s else []
    tags = {"recap"} if recap_s else set()
    t = round(ep.duration_s - credits_s - post_s - preview_s, 2)
    for k, (kind, dur) in enumerate(order):
        end = ep.duration_s if k == len(order) - 1 else round(t + dur, 2)
        if kind == "credits":
            pieces.append(SketchPiece("credits", t, end))
            spans.append(SegmentSpan("credits", t, end, final=k == len(order) - 1))
            tags |= {"credits", "credits_shot" if credits.over_shot else "credits_dark"}
        elif kind == "preview":
            pieces.append(SketchPiece("preview", t, end))
            spans.append(SegmentSpan("preview", t, end))
            tags |= {"preview", "preview_before_credits"} if first else {"preview"}
        else:
            tags.add("post_credits")
        t = end
    if not credits_s:
        tags.add("no_credits")
    return replace(ep, pieces=tuple(pieces), segments=tuple(spans), tags=tuple(sorted(tags)))


def story_spans(ep: SketchEpisode) -> list[tuple[float, float]]:
    """Where the episode plays its own story (not its intro, recap, preview or credits)."""
    taken = sorted(
        [(p.start_s, p.end_s) for p in ep.pieces] + ([(ep.intro.start_s, ep.intro.end_s)] if ep.intro else [])
    )
    spans, t = [], 0.0
    for a, b in taken:
        if a > t:
            spans.append((t, a))
        t = max(t, b)
    if t < ep.duration_s:
        spans.append((t, ep.duration_s))
    return spans


def _with_clips(ep: SketchEpisode, number: int, season: list[SketchEpisode], seed: int) -> SketchEpisode:
    """Fill the recap with cuts of the (up to three) previous episodes' story, the preview with the next one's."""
    x = _rng(seed, ep.show, number, "clips")
    pieces = []
    for piece in ep.pieces:
        if piece.kind == "recap":
            sources = season[max(0, number - 4) : number - 1]
        elif piece.kind == "preview":
            sources = season[number : number + 1]
        else:
            pieces.append(piece)
            continue
        clips = []
        t = piece.start_s
        while t < piece.end_s - 1e-6:
            length = float(x.uniform(2.0, 5.0))
            if piece.end_s - t - length < 1.0:
                length = piece.end_s - t
            src = sources[int(x.integers(len(sources)))]
            spans = [(a, b) for a, b in story_spans(src) if b - a > length + 1.0]
            if not spans:  # (only in tiny episodes) the longest stretch of story, and a shorter clip
                spans = [max(story_spans(src), key=lambda span: span[1] - span[0])]
                length = min(length, spans[0][1] - spans[0][0])
            a, b = spans[int(x.integers(len(spans)))]
            clips.append((src.relpath, src.duration_s, round(float(x.uniform(a, b - length)), 3), round(length, 3)))
            t += length
        pieces.append(replace(piece, clips=tuple(clips)))
    return replace(ep, pieces=tuple(pieces))


def _names(seed: int, relpath: str, count: int) -> list[str]:
    """Credit names of the sketch's own make: consonant-vowel syllables."""
    rng = _rng(seed, relpath, "names")
    onset, vowel = "BDFGKLMNPRSTVZ", "AEIOU"

    def word() -> str:
        return "".join(onset[int(rng.integers(len(onset)))] + vowel[int(rng.integers(5))] for _ in range(2))

    return [f"{word()} {word()}{onset[int(rng.integers(len(onset)))]}" for _ in range(count)]


# ---- rendering -------------------------------------------------------------------------------------------------


@lru_cache(maxsize=3)
def _story(seed: int, show: str, relpath: str, duration_s: float) -> tuple[Audio, NDArray[np.float64]]:
    """An episode's story: its speech over the whole episode, and its shot cuts (what `render` draws first)."""
    pitch = float(_rng(seed, show, relpath, "voice").uniform(95, 230))
    rng = _rng(seed, relpath, "render")
    sound = speech(rng, duration_s, pitch)
    sound.flags.writeable = False
    return sound, np.cumsum(rng.uniform(3, 9, int(duration_s) + 1))


def _paste(frame: NDArray[np.float64], mask: NDArray[np.bool_], y0: int, colour: tuple[float, ...]) -> None:
    """`mask` with its top at row y0 (maybe off the frame), centred across."""
    h, w = mask.shape
    w = min(w, WIDTH)
    x0 = (WIDTH - w) // 2
    r0, r1 = max(0, -y0), min(h, HEIGHT - y0)
    if r1 > r0:
        frame[y0 + r0 : y0 + r1, x0 : x0 + w][mask[r0:r1, :w]] = colour


def render(ep: SketchEpisode, path: Path, seed: int) -> None:
    show_rng = _rng(seed, ep.show, "theme")
    story, cut_at = _story(seed, ep.show, ep.relpath, ep.duration_s)
    sound = story.copy()
    if ep.intro is not None:
        theme = music(show_rng, ep.intro.duration_s)
        a = int(ep.intro.start_s * RATE)
        sound[a : a + len(theme)] = theme[: len(sound) - a]
    credits = season_credits(ep.show, seed) if ep.pieces else None
    names: list[NDArray[np.bool_]] = []
    for seg in ep.pieces:  # the other kinds of segment (episodes with segments only)
        a, b = int(seg.start_s * RATE), min(len(sound), int(seg.end_s * RATE))
        if seg.kind == "credits":
            assert credits is not None
            cue = _credits_sound(ep.show, seed, round(credits.length_s * 1.1 + 1.0, 2))[: b - a].copy()
            fade = min(len(cue), int(2.0 * RATE))
            cue[len(cue) - fade :] *= np.linspace(1.0, 0.0, fade, dtype=np.float32)
            sound[a : a + len(cue)] = cue
            sound[a + len(cue) : b] = 0.0
            # As many names as scroll by: the last one leaves the top of the frame as the credits end.
            travel_px = (seg.end_s - seg.start_s) * credits.rise_px_s - HEIGHT - NAME_PX
            names += [
                _dot_matrix(text_mask(n), 2) for n in _names(seed, ep.relpath, max(1, int(travel_px / NAME_PX) + 1))
            ]
        else:
            at = a
            for src, src_duration, src_start, length in seg.clips:
                src_sound, _ = _story(seed, ep.show, src, src_duration)
                s0, n = int(src_start * RATE), min(int(length * RATE), b - at)
                sound[at : at + n] = src_sound[s0 : s0 + n]
                at += n
    captions = {"recap": _dot_matrix(text_mask("PREVIOUSLY"), 2), "preview": _dot_matrix(text_mask("NEXT TIME"), 2)}
    path.parent.mkdir(parents=True, exist_ok=True)
    part = path.with_suffix(".part.mkv")
    with av.open(str(part), "w") as out:
        video = out.add_stream("libx264", rate=FPS, options={"preset": "ultrafast", "crf": "26"})
        video.width, video.height, video.pix_fmt = WIDTH, HEIGHT, "yuv420p"
        audio = out.add_stream("aac", rate=RATE, layout="mono")
        for i in range(int(ep.duration_s * FPS)):
            t = i / FPS
            current = next((p for p in ep.pieces if p.start_s <= t < p.end_s), None)
            if current is not None:
                picture = _pieceframe(ep, current, t, cut_at, credits, names, captions, seed)
            elif ep.intro is not None and ep.intro.start_s <= t < ep.intro.end_s:
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


def _pieceframe(
    ep: SketchEpisode,
    piece: SketchPiece,
    t: float,
    cut_at: NDArray[np.float64],
    credits: SeasonCredits | None,
    names: list[NDArray[np.bool_]],
    captions: dict[str, NDArray[np.bool_]],
    seed: int,
) -> NDArray[np.uint8]:
    if piece.kind == "credits":
        assert credits is not None
        if credits.over_shot:  # the last story shot goes on drifting, darkened
            shot = int(np.searchsorted(cut_at, piece.start_s - 0.01))
            frame = _story_frame(shot, seed, round(t * 5) / 5).astype(np.float64) * 0.45
        else:
            frame = np.empty((HEIGHT, WIDTH, 3))
            frame[:] = credits.field
        # Names scroll up from below the frame, NAME_PX apart.
        y = HEIGHT - (t - piece.start_s) * credits.rise_px_s
        for k, mask in enumerate(names):
            top = int(y + NAME_PX * k)
            if top < HEIGHT and top + mask.shape[0] > 0:
                _paste(frame, mask, top, credits.ink)
        return frame.astype(np.uint8)
    # A recap or preview: the source episode's story pictures at the source's own time.
    at = piece.start_s
    picture = np.zeros((HEIGHT, WIDTH, 3), np.uint8)
    for k, (src, src_duration, src_start, length) in enumerate(piece.clips):
        if t < at + length or k == len(piece.clips) - 1:
            src_t = src_start + (t - at)
            _, src_cuts = _story(seed, ep.show, src, src_duration)
            picture = _story_frame(int(np.searchsorted(src_cuts, src_t)), seed, round(src_t * 5) / 5)
            break
        at += length
    if t < piece.start_s + 2.5:
        lit = picture.astype(np.float64)
        _paste(lit, captions[piece.kind], 6, (255.0, 255.0, 255.0))
        picture = lit.astype(np.uint8)
    return picture


def show_name(k: int) -> str:
    """The k-th show's name: two words, distinct for k < 5 * len(_WORDS). The first ten are the ones this recipe
    always named; each further ten pairs every first word with another second one (never the same word twice)."""
    n = len(_WORDS)
    if k >= 5 * n:
        raise ValueError(f"show {k}: this recipe names {5 * n} shows")
    return f"{_WORDS[k % n]} {_WORDS[(k * 7 + 3 + 2 * (k // n)) % n]}".title()


def build(
    out: Path, shows: int, episodes: int, seed: int, segments: bool = False, first_show: int = 0
) -> list[EpisodeTruth]:
    """`segments`: give episodes credits, post-credits scenes, previews and recaps, and label them (truth.json's
    `segments`); without it, the corpus is the one this recipe always built. `first_show`: name the shows from
    show_name(first_show) on: corpora whose shows' names (and so their title cards' words) differ."""
    names = [show_name(k) for k in range(first_show, first_show + shows)]
    truths = []
    for show in names:
        for ep in plan_season(show, episodes, seed, segments):
            if not (out / ep.relpath).exists():
                render(ep, out / ep.relpath, seed)
            tags = (ep.position, *ep.tags)
            truths.append(EpisodeTruth(ep.relpath, show, "Season 01", ep.duration_s, ep.intro, tags, ep.segments))
            write_truth(out / TRUTH_FILE, truths)
    return truths

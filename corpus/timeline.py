"""What an episode is made of, as plain data: audio events, picture shots and text overlays on one time axis.

Everything is in seconds and refers to material by id. A timeline can be cut (`window`) and moved (`shifted`),
which is how a "previously on" recap reuses exact pieces of earlier episodes.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Literal

TextStyle = Literal["title", "subtitle", "caption", "sign"]


@dataclass(frozen=True)
class AudioEvent:
    source: str  # material id (a track, a line, a noise bed)
    at_s: float  # where it starts in the episode
    src_start_s: float  # where it starts in the source
    dur_s: float
    gain_db: float = 0.0
    fade_in_s: float = 0.0
    fade_out_s: float = 0.0
    # A cut-out piece keeps the envelope of the event it came from: it starts env_off_s into an envelope
    # env_len_s long (0 = its own length), so a recap clip sounds exactly like the original passage.
    env_off_s: float = 0.0
    env_len_s: float = 0.0
    # Playback speed, pitch and tempo together (1: as recorded). A line spoken in two episodes is two takes, not
    # one recording twice: only a quote (a recap's or a preview's clip) repeats a passage sample for sample.
    speed: float = 1.0

    @property
    def end_s(self) -> float:
        return self.at_s + self.dur_s


@dataclass(frozen=True)
class Framing:
    """Where the camera looks: x, y in [0, 1] across the photo's slack; zoom >= 1 (1 = the whole photo)."""

    x: float
    y: float
    zoom: float


@dataclass(frozen=True)
class Shot:
    photo: str
    at_s: float
    dur_s: float
    start: Framing
    end: Framing
    tint: tuple[float, float, float] = (1.0, 1.0, 1.0)  # RGB gain, then mixed toward `wash`
    wash: tuple[int, int, int] = (0, 0, 0)
    wash_amount: float = 0.0

    @property
    def end_s(self) -> float:
        return self.at_s + self.dur_s

    def framing_at(self, t_s: float) -> Framing:
        """Linear pan/zoom between start and end; `t_s` is episode time."""
        u = 0.0 if self.dur_s <= 0 else min(1.0, max(0.0, (t_s - self.at_s) / self.dur_s))
        a, b = self.start, self.end
        return Framing(a.x + (b.x - a.x) * u, a.y + (b.y - a.y) * u, a.zoom + (b.zoom - a.zoom) * u)


@dataclass(frozen=True)
class TextOverlay:
    text: str
    at_s: float
    dur_s: float
    style: TextStyle
    x: float  # centre, fraction of the frame width
    y: float  # centre, fraction of the frame height
    height: float  # glyph height as a fraction of the frame height
    color: tuple[int, int, int] = (255, 255, 255)
    box: bool = False  # a filled plate behind the text (signs, lower thirds)
    # Scrolling (end credits): the centre moves up by this fraction of the frame height per second; `y` is where
    # it is at `at_s`, so it may start below the frame and leave above it.
    rise_per_s: float = 0.0

    @property
    def end_s(self) -> float:
        return self.at_s + self.dur_s

    def y_at(self, t_s: float) -> float:
        """The centre's height at episode time `t_s`."""
        return self.y - self.rise_per_s * (t_s - self.at_s) if self.rise_per_s else self.y


@dataclass(frozen=True)
class Timeline:
    audio: tuple[AudioEvent, ...] = ()
    shots: tuple[Shot, ...] = ()
    texts: tuple[TextOverlay, ...] = ()

    def __add__(self, other: Timeline) -> Timeline:
        return Timeline(self.audio + other.audio, self.shots + other.shots, self.texts + other.texts)

    def shifted(self, dt_s: float) -> Timeline:
        return Timeline(
            tuple(replace(e, at_s=e.at_s + dt_s) for e in self.audio),
            tuple(_shift_shot(s, dt_s) for s in self.shots),
            tuple(replace(t, at_s=t.at_s + dt_s) for t in self.texts),
        )

    def window(self, t0_s: float, t1_s: float) -> Timeline:
        """The part of the timeline inside [t0_s, t1_s), moved so that t0_s becomes 0."""
        audio = tuple(_cut_audio(e, t0_s, t1_s) for e in self.audio if e.at_s < t1_s and e.end_s > t0_s)
        shots = tuple(_cut_shot(s, t0_s, t1_s) for s in self.shots if s.at_s < t1_s and s.end_s > t0_s)
        texts = tuple(_cut_text(t, t0_s, t1_s) for t in self.texts if t.at_s < t1_s and t.end_s > t0_s)
        return Timeline(audio, shots, texts)


def _shift_shot(shot: Shot, dt_s: float) -> Shot:
    return replace(shot, at_s=shot.at_s + dt_s)


def _cut_audio(e: AudioEvent, t0_s: float, t1_s: float) -> AudioEvent:
    a = max(e.at_s, t0_s)
    b = min(e.end_s, t1_s)
    cut_front = a - e.at_s
    return replace(
        e,
        at_s=a - t0_s,
        src_start_s=e.src_start_s + cut_front * e.speed,
        dur_s=b - a,
        env_off_s=e.env_off_s + cut_front,
        env_len_s=e.env_len_s or e.dur_s,
    )


def _cut_text(t: TextOverlay, t0_s: float, t1_s: float) -> TextOverlay:
    a = max(t.at_s, t0_s)
    cut = replace(t, at_s=a - t0_s, dur_s=min(t.end_s, t1_s) - a)
    return replace(cut, y=t.y_at(a)) if t.rise_per_s else cut  # a scrolling text goes on from where it was


def _cut_shot(s: Shot, t0_s: float, t1_s: float) -> Shot:
    a = max(s.at_s, t0_s)
    b = min(s.end_s, t1_s)
    return replace(s, at_s=a - t0_s, dur_s=b - a, start=s.framing_at(a), end=s.framing_at(b))

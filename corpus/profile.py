"""The knobs that differ between the tiny procedural corpus (tests) and the real one (training)."""

from __future__ import annotations

from dataclasses import dataclass, replace

Range = tuple[float, float]


@dataclass(frozen=True)
class IntroClass:
    tag: str  # "" for an ordinary intro
    range_s: Range
    weight: float


@dataclass(frozen=True)
class Profile:
    episode_s: Range
    intro_classes: tuple[IntroClass, ...]
    cold_open_s: Range
    recap_s: Range
    scene_s: Range
    music_scene_s: Range
    resolutions: tuple[tuple[int, int], ...]
    presets: tuple[str, ...]
    crf: Range
    bitrate_kbps: Range  # used instead of CRF for some episodes, like a bitrate-targeted encode
    keyint: Range
    p_cold_open: float = 0.35
    p_recap: float = 0.3
    p_no_intro: float = 0.12
    p_two_openings: float = 0.25


PROCEDURAL = Profile(
    episode_s=(60.0, 90.0),
    intro_classes=(IntroClass("short_intro", (8.0, 15.0), 0.6), IntroClass("", (15.0, 24.0), 0.4)),
    cold_open_s=(5.0, 15.0),
    recap_s=(5.0, 10.0),
    scene_s=(10.0, 30.0),
    music_scene_s=(6.0, 15.0),
    resolutions=((160, 90), (192, 108), (256, 144), (320, 180)),
    presets=("ultrafast", "superfast"),
    crf=(20.0, 32.0),
    bitrate_kbps=(150.0, 400.0),
    keyint=(48.0, 250.0),
)

# Real episodes are kept at 4-9 minutes and modest resolutions so that a corpus of ~100 episodes renders in
# well under an hour on two cores and trains affordably; the detector scales frames down at decode anyway.
REAL = Profile(
    episode_s=(240.0, 540.0),
    intro_classes=(
        IntroClass("short_intro", (8.0, 15.0), 0.25),
        IntroClass("", (15.0, 60.0), 0.5),
        IntroClass("long_intro", (60.0, 120.0), 0.25),
    ),
    cold_open_s=(20.0, 110.0),
    recap_s=(15.0, 45.0),
    scene_s=(20.0, 90.0),
    music_scene_s=(8.0, 40.0),
    resolutions=((480, 270), (512, 288), (640, 360), (768, 432), (854, 480)),
    presets=("ultrafast", "superfast", "veryfast"),
    crf=(18.0, 30.0),
    bitrate_kbps=(500.0, 1800.0),
    keyint=(48.0, 250.0),
)

# Intros anywhere in the first half, as real shows place them: long cold opens (up to 5 min) and recaps before
# most intros, so that a model cannot learn "the first seconds are the intro" from where ours usually sit.
REAL_LATE = replace(
    REAL,
    episode_s=(300.0, 720.0),
    cold_open_s=(20.0, 300.0),
    recap_s=(15.0, 60.0),
    p_cold_open=0.75,
    p_recap=0.4,
)

PROCEDURAL_LATE = replace(
    PROCEDURAL,
    episode_s=(150.0, 300.0),
    cold_open_s=(20.0, 120.0),
    recap_s=(10.0, 30.0),
    p_cold_open=0.75,
    p_recap=0.4,
)

# (real, procedural) profile of each episode layout that `python -m corpus.build --structure` offers.
STRUCTURES = {"standard": (REAL, PROCEDURAL), "late": (REAL_LATE, PROCEDURAL_LATE)}

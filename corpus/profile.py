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
    # ---- the end of an episode, and the other kinds of segment (the "segments" structure) ----
    # Every default leaves a profile's plans as they were: the endings are composed, and the recap/credits/preview
    # labelled (EpisodeTruth.segments), only where `segments` is on, each from random streams of its own.
    segments: bool = False
    # Each spoken line is its own take (AudioEvent.speed): the material has few lines a voice, and without takes a
    # season's stories repeat each other's lines sample for sample, as no real show does. A recap's or a preview's
    # clips are then the only story that repeats, as in a real season.
    takes: bool = False
    p_credits: float = 0.0  # an episode has end credits (the rest: "no_credits")
    credits_s: Range = (20.0, 60.0)  # a season's credits length (each episode within 10 % of it)
    p_credits_silent: float = 0.0  # shows whose credits are a card on black with no music (silence or room tone)
    p_credits_theme: float = 0.0  # shows whose credits cue is their own theme, at another excerpt than the intro's
    p_credits_over_scene: float = 0.0  # shows whose credits roll over the last scene's shots (the rest: black)
    p_credits_scroll: float = 0.5  # shows whose credits scroll (the rest: cards)
    p_post_credits: float = 0.0  # a story scene after the credits
    post_credits_s: Range = (5.0, 30.0)
    p_preview: float = 0.0  # "next time on": clips of the next episode's body (never in a season's last episode)
    preview_s: Range = (10.0, 30.0)
    p_preview_before_credits: float = 0.3  # of the previews: just before the credits (the rest: after them)
    # Hard negatives (what fools credits detection by black frames, repetition or music):
    p_black_transition: float = 0.0  # 1-3 s of black between scenes mid-episode
    p_act_card: float = 0.0  # an act-break title card (text on black, 2-4 s) mid-episode
    p_montage: float = 0.0  # a music-only montage (a score track, no speech) just before the end
    montage_s: Range = (20.0, 40.0)
    p_theme_reprise: float = 0.0  # the intro's theme under the final scene, before the credits
    reprise_s: Range = (10.0, 25.0)
    # Shows whose title sequence has black (and silence) before its first shot and after its last, the theme fading
    # out before the black ends; the truth's intro holds them (docs/design.md, "An intro's ends").
    p_black_around_intro: float = 0.0
    black_lead_in_s: Range = (0.3, 1.0)
    black_lead_out_s: Range = (0.3, 1.5)


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

# Every kind of segment labelled (issue 18): end credits (music shared by the season, or a silent card; over black
# or over the last scene; scrolling or cards), post-credits scenes, "next time on" previews of the next episode,
# the recap, and the hard negatives that fool credits detectors (black transitions, act cards, a music-only
# montage and the theme reprised under the final scene). Episodes are longer so that an ending fits.


def with_segments(profile: Profile, credits_s: Range, preview_s: Range) -> Profile:
    return replace(
        profile,
        segments=True,
        takes=True,
        p_credits=0.9,
        credits_s=credits_s,
        p_credits_silent=0.17,
        p_credits_theme=0.17,
        p_credits_over_scene=0.4,
        p_post_credits=0.25,
        p_preview=0.3,
        preview_s=preview_s,
        p_black_transition=0.5,
        p_act_card=0.3,
        p_montage=0.3,
        p_theme_reprise=0.2,
    )


REAL_SEGMENTS = with_segments(REAL, credits_s=(30.0, 90.0), preview_s=(15.0, 40.0))
PROCEDURAL_SEGMENTS = with_segments(
    replace(PROCEDURAL, episode_s=(180.0, 300.0)), credits_s=(20.0, 60.0), preview_s=(10.0, 30.0)
)

# (real, procedural) profile of each episode layout that `python -m corpus.build --structure` offers.
STRUCTURES = {
    "standard": (REAL, PROCEDURAL),
    "late": (REAL_LATE, PROCEDURAL_LATE),
    "segments": (REAL_SEGMENTS, PROCEDURAL_SEGMENTS),
    # The standard layout, half the shows' title sequences framed in black (issue 19: where an intro's ends are).
    "black": (replace(REAL, p_black_around_intro=0.5), replace(PROCEDURAL, p_black_around_intro=0.5)),
}

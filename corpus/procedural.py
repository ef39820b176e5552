"""The tiny procedural corpus: synthesized music, speech and pictures, no downloads (tests use it)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from corpus import synth
from corpus.catalog import Catalog, Line, Split, Track, partition
from corpus.material import SYNTH_PREFIX, Material
from corpus.plan import (
    CreditsStyle,
    EpisodePlan,
    compose_season,
    compose_shows,
    credit_styles,
    rng_for,
    with_container,
)
from corpus.profile import PROCEDURAL, Profile
from corpus.render import render_episode
from detector.labels import TRUTH_FILE, EpisodeTruth, write_truth

GROUPS = 8  # "composers"
TRACKS_PER_GROUP = 6
VOICES = 12
LINES_PER_VOICE = 40
PHOTOS = 60


def procedural_catalog() -> Catalog:
    """Synthetic ids with their durations; train and val partitions are disjoint like the real ones."""
    music = tuple(
        Track(tid, synth.track_duration(tid), f"{SYNTH_PREFIX}music/g{g}")
        for g in range(GROUPS)
        for tid in (f"{SYNTH_PREFIX}music/g{g}/t{k}" for k in range(TRACKS_PER_GROUP))
    )
    lines = tuple(
        Line(lid, synth.line_duration(lid), f"synth:v{v}")
        for v in range(VOICES)
        for lid in (f"{SYNTH_PREFIX}line/v{v}/{k}" for k in range(LINES_PER_VOICE))
    )
    photos = tuple(f"{SYNTH_PREFIX}photo/{k}" for k in range(PHOTOS))
    return Catalog(music, lines, photos)


def plan_corpus(
    catalog: Catalog, profile: Profile, split: Split, shows: int, episodes: int, seed: int, container: str
) -> list[EpisodePlan]:
    plans: list[EpisodePlan] = []
    composed = compose_shows(partition(catalog, split), profile, split, shows, seed)
    styles: list[CreditsStyle | None] = [None] * len(composed)
    if profile.segments:  # the shows' kinds of credits in proportion, from a stream of their own
        styles = list(credit_styles(profile, len(composed), rng_for(seed, split, "credit styles")))
    for show, style in zip(composed, styles, strict=True):
        plans += compose_season(show, partition(catalog, split), profile, episodes, seed, container, style)
    return plans


def to_truth(plan: EpisodePlan) -> EpisodeTruth:
    """segments: a tuple (maybe empty) where the plan labels them (the "segments" structure), else None."""
    return EpisodeTruth(plan.relpath, plan.show, plan.season, plan.duration_s, plan.intro, plan.tags, plan.segments)


def make_season(
    out_dir: Path,
    episodes: int = 4,
    seed: int = 0,
    container: str = "mkv",
    split: Split = "train",
    two_openings: bool | None = False,
    profile: Profile = PROCEDURAL,
) -> list[EpisodeTruth]:
    """Render one procedural season under `out_dir` and write `out_dir/truth.json`.

    `container` is "mkv", "mp4" or "mixed"; `two_openings` None lets the seed decide whether the season
    changes its opening half-way (False by default, so that every intro of the season is the same).
    Returned paths are relative to `out_dir`.
    """
    if two_openings is not None:
        profile = replace(profile, p_two_openings=1.0 if two_openings else 0.0)
    plans = plan_corpus(procedural_catalog(), profile, split, 1, episodes, seed, container)
    return render_plans(plans, Material(), out_dir)


def render_plans(plans: list[EpisodePlan], material: Material, out_dir: Path, threads: int = 0) -> list[EpisodeTruth]:
    """Render every plan; truth.json is rewritten after each episode, so an interrupted build is a usable corpus of
    the episodes done so far, and running the same command again resumes it (finished files are kept)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    truths = []
    for plan in plans:
        if plan.encode.container not in ("mkv", "mp4"):
            plan = with_container(plan, "mkv")
        if not (out_dir / plan.relpath).exists():  # files appear only once complete (written as .part first)
            render_episode(plan, material, out_dir / plan.relpath, threads=threads)
        truths.append(to_truth(plan))
        write_truth(out_dir / TRUTH_FILE, truths)
    return truths

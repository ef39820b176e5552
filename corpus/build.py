"""Build a labelled corpus: `python -m corpus.build procedural|real|long|sketch --out DIR ...`.

`--structure segments` (procedural, real) and `sketch --segments` also label the recap, end credits and preview of
every episode (truth.json's `segments`), with post-credits scenes and hard negatives: see docs/training.md.

Writes DIR/<show>/Season 01/<show> S01Ekk.mkv|mp4 and DIR/truth.json. Train and val use disjoint shows and
disjoint assets (see corpus.catalog.partition), and everything follows from --seed.
"""

from __future__ import annotations

import argparse
import logging
import time
from collections import Counter
from dataclasses import replace
from pathlib import Path

from corpus import sketch
from corpus.catalog import Catalog, Split, partition
from corpus.material import Material
from corpus.plan import EncodeSettings, EpisodePlan, compose_season, compose_shows
from corpus.procedural import plan_corpus, procedural_catalog, render_plans
from corpus.profile import REAL, STRUCTURES, IntroClass, Profile
from corpus.real import scan_catalog
from corpus.render import render_episode
from detector.labels import EpisodeTruth

log = logging.getLogger(__name__)

DEFAULT_ASSETS = Path(__file__).resolve().parents[1] / "cache" / "assets"  # where fetch_assets.sh puts them


def build(
    mode: str,
    out: Path,
    shows: int,
    episodes: int,
    seed: int,
    split: Split,
    assets: Path,
    container: str = "mixed",
    threads: int = 0,
    p_no_intro: float | None = None,
    max_episodes: int | None = None,
    structure: str = "standard",
) -> list[EpisodeTruth]:
    """p_no_intro: share of episodes without an intro (pilots, specials), at most a quarter of each season.
    structure: the episodes' layout, a key of corpus.profile.STRUCTURES."""
    if mode == "procedural":
        catalog, profile, material = procedural_catalog(), STRUCTURES[structure][1], Material()
    else:
        catalog, profile, material = scan_catalog(assets), STRUCTURES[structure][0], Material(assets)
        _check_catalog(partition(catalog, split), split)
    if p_no_intro is not None:
        profile = replace(profile, p_no_intro=p_no_intro)
    plans = plan_corpus(catalog, profile, split, shows, episodes, seed, container)
    return render_plans(plans[:max_episodes], material, out, threads=threads)


def _check_catalog(catalog: Catalog, split: Split) -> None:
    if not (catalog.music and catalog.lines and catalog.photos):
        raise SystemExit(f"no {split} material: run scripts/fetch_assets.sh first (or pass --assets DIR)")
    log.info(
        "%s material: %d tracks, %d voices (%d lines), %d photos",
        split,
        len(catalog.music),
        len(catalog.voices()),
        len(catalog.lines),
        len(catalog.photos),
    )


def long_episode(
    path: Path,
    minutes: float = 44,
    width: int = 1920,
    height: int = 1080,
    seed: int = 0,
    assets: Path | None = DEFAULT_ASSETS,
    threads: int = 0,
) -> EpisodeTruth:
    """A realistic full-length 1080p H.264/AAC episode for the speed benchmark (takes minutes to render).

    Real material when `assets` holds the fetched packages, procedural otherwise; x264 `veryfast` with
    B-frames and keyint 250, like a typical release encode, so that decoding costs what it does in a library.
    """
    catalog: Catalog
    if assets is not None and (assets / "wesnoth-1.16-music" / ".version").exists():
        catalog, material = partition(scan_catalog(assets), "val"), Material(assets)
    else:
        catalog, material = partition(procedural_catalog(), "val"), Material()
    # Only intro lengths that fit in the first half (matters for the short episodes tests ask for).
    fitting = tuple(c for c in REAL.intro_classes if c.range_s[1] <= minutes * 30.0)
    classes = fitting or (IntroClass("short_intro", (min(8.0, minutes * 15.0), min(15.0, minutes * 30.0)), 1.0),)
    profile: Profile = replace(
        REAL,
        episode_s=(minutes * 60.0, minutes * 60.0),
        intro_classes=classes,
        p_no_intro=0.0,
        p_two_openings=0.0,
    )
    show = compose_shows(catalog, profile, "val", 1, seed)[0]
    plan: EpisodePlan = compose_season(show, catalog, profile, 1, seed, "mkv")[0]
    encode = EncodeSettings(
        container=path.suffix.lstrip(".") or "mkv",
        width=width,
        height=height,
        fps=(24000, 1001),
        sample_rate=48000,
        channels=2,
        preset="veryfast",
        crf=21,
        bitrate_kbps=None,
        keyint=250,
        bframes=3,
        audio_kbps=192,
        gain_db=-3.0,
    )
    plan = replace(plan, encode=encode)
    render_episode(plan, material, path, threads=threads)
    return EpisodeTruth(path.name, plan.show, plan.season, plan.duration_s, plan.intro, plan.tags)


def _summary(truths: list[EpisodeTruth]) -> str:
    tags = Counter(t for ep in truths for t in ep.tags)
    intros = [ep.intro.duration_s for ep in truths if ep.intro is not None]
    span = f"{min(intros):.1f}-{max(intros):.1f} s" if intros else "none"
    return (
        f"{len(truths)} episodes, {len({ep.show for ep in truths})} shows, "
        f"{sum(ep.duration_s for ep in truths) / 60:.1f} min; intros {span}; tags {dict(sorted(tags.items()))}"
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m corpus.build", description=__doc__)
    parser.add_argument("mode", choices=("procedural", "real", "long", "sketch"))
    parser.add_argument("--out", type=Path, required=True, help="corpus root (for long: the episode file)")
    parser.add_argument("--shows", type=int, default=2)
    parser.add_argument("--episodes", type=int, default=4)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--split", choices=("train", "val"), default="train")
    parser.add_argument("--assets", type=Path, default=DEFAULT_ASSETS)
    parser.add_argument("--container", choices=("mkv", "mp4", "mixed"), default="mixed")
    parser.add_argument("--minutes", type=float, default=44.0, help="long mode: episode length")
    parser.add_argument("--threads", type=int, default=0, help="x264 threads (0 = auto)")
    parser.add_argument("--max-episodes", type=int, default=None, help="render only the first N planned episodes")
    parser.add_argument(
        "--p-no-intro", type=float, default=None, help="share of episodes without an intro (capped at 1/4 a season)"
    )
    parser.add_argument(
        "--structure",
        choices=sorted(STRUCTURES),
        default="standard",
        help="'late': long cold opens and recaps before most intros; 'segments': end credits, previews, "
        "post-credits scenes and hard negatives, every recap/credits/preview labelled (corpus/profile.py)",
    )
    parser.add_argument(
        "--segments",
        action="store_true",
        help="sketch: end credits, previews, post-credits scenes and recaps, labelled (procedural/real: --structure)",
    )
    parser.add_argument(
        "--first-show",
        type=int,
        default=0,
        help="sketch: name the shows from the k-th name on (other names, other title cards than a corpus from 0)",
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    started = time.monotonic()
    if args.mode == "long":
        truth = long_episode(args.out, minutes=args.minutes, seed=args.seed, assets=args.assets, threads=args.threads)
        log.info("wrote %s (intro %s) in %.0f s", args.out, truth.intro, time.monotonic() - started)
        return
    if args.segments and args.mode != "sketch":
        parser.error("--segments is for sketch; procedural and real take --structure segments")
    if args.mode == "sketch":  # another recipe, for held-out measurement only (corpus/sketch.py)
        truths = sketch.build(
            args.out, args.shows, args.episodes, args.seed, segments=args.segments, first_show=args.first_show
        )
        log.info("%s in %.0f s", _summary(truths), time.monotonic() - started)
        return
    truths = build(
        args.mode,
        args.out,
        args.shows,
        args.episodes,
        args.seed,
        args.split,
        args.assets,
        args.container,
        args.threads,
        args.p_no_intro,
        args.max_episodes,
        args.structure,
    )
    log.info("%s in %.0f s", _summary(truths), time.monotonic() - started)


if __name__ == "__main__":
    main()

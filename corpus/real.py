"""The real catalog: recordings and photos from the pinned Debian packages (see corpus/assets.toml).

Scanning probes every file once (durations; a loudness curve for music, used to cut themes from loud passages)
and caches the result beside the assets, keyed by the manifest, so later builds start at once. Files that do
not decode are left out with a warning.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import tomllib
from dataclasses import asdict, dataclass
from pathlib import Path

import av
import numpy as np

from corpus.catalog import SPLITS, Catalog, Line, Split, Track
from corpus.material import decode_audio

log = logging.getLogger(__name__)

MANIFEST = Path(__file__).with_name("assets.toml")
CATALOG_CACHE = "catalog-v2-{digest}.json"  # v2: tracks carry their fixed split
LOUDNESS_RATE = 8000  # enough for a per-second RMS curve, and cheap to decode
MIN_LINES_PER_VOICE = 20  # minor characters with a handful of lines cannot carry a show's dialogue
MAX_LINE_S = 12.0


@dataclass(frozen=True)
class PackageSpec:
    name: str
    version: str
    kind: str  # "music" | "dialogue" | "photo"
    globs: tuple[str, ...]
    key: str = ""
    prefer: tuple[str, ...] = ()
    split: Split | None = None  # music only: every track goes to this side instead of being ranked


def _spec(raw: dict, path: Path) -> PackageSpec:
    split = raw.get("split")
    if split is not None and (split not in SPLITS or raw["kind"] != "music"):
        raise ValueError(f"{path}: package {raw['name']}: split must be one of {SPLITS}, and only on music")
    return PackageSpec(
        name=raw["name"],
        version=raw["version"],
        kind=raw["kind"],
        globs=tuple(raw["globs"]),
        key=raw.get("key", ""),
        prefer=tuple(raw.get("prefer", ())),
        split=split,
    )


def load_manifest(path: Path = MANIFEST) -> list[PackageSpec]:
    with path.open("rb") as fh:
        raw = tomllib.load(fh)
    return [_spec(p, path) for p in raw["package"]]


def _files(root: Path, spec: PackageSpec) -> list[Path]:
    pkg = root / spec.name
    if not (pkg / ".version").exists():
        log.warning("package %s missing under %s: run scripts/fetch_assets.sh", spec.name, root)
        return []
    found = (pkg / ".version").read_text().strip()
    if found != spec.version:
        log.warning("package %s is %s, manifest pins %s", spec.name, found, spec.version)
    return sorted({f for g in spec.globs for f in pkg.glob(g) if f.is_file()})


def _key(spec: PackageSpec, rel: str) -> str | None:
    if not spec.key:
        return spec.name
    m = re.search(spec.key, rel)
    return m.group(1) if m else None


def _probe_duration(path: Path) -> float:
    with av.open(str(path)) as container:
        if container.duration is None or not container.streams.audio:
            raise ValueError("no audio duration")
        return float(container.duration / av.time_base)


def _loudness_db(path: Path) -> tuple[float, ...]:
    samples = decode_audio(path, LOUDNESS_RATE)
    n = samples.size // LOUDNESS_RATE
    rms = np.sqrt(np.mean(samples[: n * LOUDNESS_RATE].reshape(n, LOUDNESS_RATE) ** 2, axis=1) + 1e-10)
    return tuple(round(float(v), 1) for v in 20 * np.log10(rms))


def _scan_music(root: Path, spec: PackageSpec) -> list[Track]:
    tracks = []
    for f in _files(root, spec):
        rel = str(f.relative_to(root / spec.name))
        try:
            loud = _loudness_db(f)
        except (av.FFmpegError, OSError, ValueError) as exc:
            log.warning("skipping undecodable track %s: %s", f, exc)
            continue
        group = f"{spec.name}/{_key(spec, rel)}"
        tracks.append(Track(str(f.relative_to(root)), float(len(loud)), group, loud, spec.split))
    return tracks


def _scan_lines(root: Path, spec: PackageSpec) -> list[Line]:
    lines = []
    for f in _files(root, spec):
        key = _key(spec, str(f.relative_to(root / spec.name)))
        if key is None:
            continue
        try:
            duration = _probe_duration(f)
        except (av.FFmpegError, OSError, ValueError) as exc:
            log.warning("skipping undecodable line %s: %s", f, exc)
            continue
        if 0.3 <= duration <= MAX_LINE_S:
            lines.append(Line(str(f.relative_to(root)), round(duration, 3), f"{spec.name}:{key}"))
    counts: dict[str, int] = {}
    for line in lines:
        counts[line.voice] = counts.get(line.voice, 0) + 1
    return [line for line in lines if counts[line.voice] >= MIN_LINES_PER_VOICE]


def _scan_photos(root: Path, spec: PackageSpec) -> list[str]:
    by_key: dict[str, list[Path]] = {}
    for f in _files(root, spec):
        key = _key(spec, str(f.relative_to(root / spec.name)))
        if key is not None:
            by_key.setdefault(key, []).append(f)

    def rank(f: Path) -> tuple[int, str]:
        hits = [i for i, p in enumerate(spec.prefer) if p in f.name]
        return (hits[0] if hits else len(spec.prefer), f.name)

    photos = []
    for files in by_key.values():
        best = min(files, key=rank)
        try:  # decode once now, so that a broken photo never reaches a render
            with av.open(str(best)) as container:
                next(container.decode(video=0))
        except (av.FFmpegError, OSError, StopIteration) as exc:
            log.warning("skipping undecodable photo %s: %s", best, exc)
            continue
        photos.append(str(best.relative_to(root)))
    return photos


def scan_catalog(root: Path, manifest: Path = MANIFEST) -> Catalog:
    """The catalog of everything fetched under `root`, from the cache when the manifest is unchanged."""
    digest = hashlib.sha1(manifest.read_bytes()).hexdigest()[:12]
    cache = root / CATALOG_CACHE.format(digest=digest)
    if cache.exists():
        raw = json.loads(cache.read_text())
        return Catalog(
            music=tuple(
                Track(t["id"], t["duration_s"], t["group"], tuple(t["loudness_db"]), t["split"]) for t in raw["music"]
            ),
            lines=tuple(Line(**line) for line in raw["lines"]),
            photos=tuple(raw["photos"]),
        )
    music: list[Track] = []
    lines: list[Line] = []
    photos: list[str] = []
    for spec in load_manifest(manifest):
        log.info("scanning %s", spec.name)
        if spec.kind == "music":
            music += _scan_music(root, spec)
        elif spec.kind == "dialogue":
            lines += _scan_lines(root, spec)
        elif spec.kind == "photo":
            photos += _scan_photos(root, spec)
    catalog = Catalog(tuple(music), tuple(lines), tuple(photos))
    if music and lines and photos:
        doc = {
            "music": [asdict(t) for t in catalog.music],
            "lines": [asdict(line) for line in catalog.lines],
            "photos": list(catalog.photos),
        }
        cache.write_text(json.dumps(doc))
    return catalog

"""The daemon's configuration: one TOML file read once at start into frozen dataclasses.

Every key has an embedded default, so `intro-daemon run --library DIR` works with no file at all. Unknown keys and
bad values raise `ConfigError` naming the key (dotted) and what is allowed. Media-server targets keep their per-kind
options as a plain mapping; `daemon/publish/` parses those into typed settings, through the `parse_target` hook of
`load_config`.
"""

from __future__ import annotations

import dataclasses
import os
import tomllib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

from daemon.config_reader import ConfigError, Table
from daemon.pathmap import PathMap
from detector.media import VIDEO_EXTENSIONS

__all__ = [
    "ClusterConfig",
    "Config",
    "ConfigError",
    "LibraryConfig",
    "PathMap",
    "PushConfig",
    "StateConfig",
    "TargetConfig",
    "WorkerConfig",
    "default_state_dir",
    "load_config",
]

# Matched (fnmatch, case-insensitive) against every path component below a library folder: download clients'
# partial files, and NAS metadata folders. Names starting with "." are always ignored.
IGNORE_PATTERNS = (
    "*.part",
    "*.partial",
    "*.!qb",
    "*.!ut",
    "*.crdownload",
    "*.download",
    "*.filepart",
    "*.tmp",
    "*.temp",
    "*.aria2",
    "@eadir",
    "#recycle",
    "lost+found",
)
DATABASE_FILE = "intro-daemon.db"
APP_NAME = "intro-daemon"


@dataclass(frozen=True)
class LibraryConfig:
    folders: tuple[Path, ...] = ()
    extensions: frozenset[str] = frozenset(VIDEO_EXTENSIONS)  # lower case, with the dot
    ignore: tuple[str, ...] = IGNORE_PATTERNS  # lower case fnmatch patterns
    settle_s: float = 30.0  # size and mtime unchanged this long before a file is queued
    polling: bool = False  # stat-polling observer, for network shares where inotify sees nothing
    poll_interval_s: float = 30.0
    reconcile_interval_h: float = 24.0


@dataclass(frozen=True)
class StateConfig:
    dir: Path
    database_url: str


@dataclass(frozen=True)
class WorkerConfig:
    workers: int = 1  # detections at once
    torch_threads: int | None = None  # None: the detector's default
    nice: int = 10  # added to the process's niceness at start
    max_attempts: int = 3  # for unexpected errors; unusable media fails at once
    retry_backoff_s: float = 300.0  # doubles with every attempt
    shutdown_grace_s: float = 8.0  # SIGTERM waits this long for a running detection, then re-queues it
    weights: Path | None = None  # None: the weights shipped with the detector
    # The lone-episode model (a seed model), for episodes without siblings. None: the one `intro-daemon adapt` made
    # active in the state folder (daemon/adapted.py), else the shipped one.
    lone_weights: Path | None = None
    # Audio tracks in these languages (as the files tag them, e.g. "eng", "jpn") are preferred, in this order.
    audio_languages: tuple[str, ...] = ()
    # The detection process's resident memory may not go over this: a file that would take it over is failed, with
    # the ceiling named (systemd's MemoryMax= in the unit is the backstop above it). 0: no ceiling.
    memory_limit_mb: int = 1536
    # With 3 or more siblings stored, an episode's sound is decoded first and its pictures only where the
    # network's scores could change the answer (detector.inference); a lone episode its key frames' pictures first,
    # the exact ones where its intro can be. False: the network on every second's exact picture.
    cascade: bool = True
    # `run` detects in a process of its own (daemon/detector_process.py), closed after `unload_after_s` without
    # work, so that an idle daemon holds no torch and no models; the next episode loads them again (~3 s).
    # 0: kept loaded. False: detected in the daemon's own process (it then holds ~0.4 GB between jobs).
    detection_process: bool = True
    unload_after_s: float = 120.0


@dataclass(frozen=True)
class PushConfig:
    """How a target that fails transiently (down, 5xx, 429, no answer) is retried: never given up on; it rests
    `retry_backoff_s`, then twice that, ... at most `retry_cap_s` (longer only when the server's Retry-After says
    so)."""

    retry_backoff_s: float = 60.0
    retry_cap_s: float = 3600.0


@dataclass(frozen=True)
class ClusterConfig:
    """[cluster]: detections run on a Dask cluster (daemon/cluster/); the daemon stays the one database writer."""

    address: str  # the Dask scheduler: tcp://host:8786, or tls://host:8786 with the tls_* files
    in_flight: int = 2  # detections submitted at once
    # When the scheduler cannot be reached: "pending" gives the episode back, to be tried again in a minute;
    # "local" detects it here meanwhile.
    fallback: str = "pending"
    connect_timeout_s: float = 10.0
    path_maps: PathMap = field(default_factory=PathMap)  # the library as the daemon sees it -> as the workers do
    tls_ca_file: Path | None = None
    tls_cert: Path | None = None
    tls_key: Path | None = None


CLUSTER_FALLBACKS = ("pending", "local")


@dataclass(frozen=True)
class TargetConfig:
    name: str
    kind: str
    # Everything else in the target's table; publishers validate it. May hold secrets: never printed or logged.
    options: Mapping[str, Any] = field(repr=False, default_factory=lambda: MappingProxyType({}))
    path_maps: PathMap = field(default_factory=PathMap)  # its own; the config's global ones come after them
    # `options` parsed by the target's kind (`daemon.publish.config.parse_target`); None: not parsed at load.
    settings: object = field(default=None, repr=False)


@dataclass(frozen=True)
class Config:
    library: LibraryConfig
    state: StateConfig
    worker: WorkerConfig
    path_maps: PathMap = field(default_factory=PathMap)  # for every target, after the target's own
    targets: tuple[TargetConfig, ...] = ()
    push: PushConfig = field(default_factory=PushConfig)
    cluster: ClusterConfig | None = None  # None: detections run in this process
    source: Path | None = None  # the file it came from; None: embedded defaults


# Parses a target's options into its kind's typed settings, given the rest of the config (paths are relative to
# its file; path maps); raises ConfigError for a bad option.
TargetParser = Callable[[TargetConfig, Config], object]


def default_state_dir(env: Mapping[str, str]) -> Path:
    """systemd's StateDirectory= (the service), else the XDG state folder."""
    if env.get("STATE_DIRECTORY"):
        return Path(env["STATE_DIRECTORY"].split(":")[0])
    xdg = env.get("XDG_STATE_HOME")
    base = Path(xdg) if xdg and Path(xdg).is_absolute() else Path.home() / ".local" / "state"
    return base / APP_NAME


def load_config(
    path: Path | None = None,
    *,
    library: Sequence[Path] = (),
    env: Mapping[str, str] | None = None,
    parse_target: TargetParser | None = None,
) -> Config:
    """Read `path` (None: defaults only). `library`, when given, replaces `library.folders` (the CLI wins).
    `parse_target`: parse each target's options now (failing fast on a bad one), kept as its `settings`."""
    env = os.environ if env is None else env
    data: dict[str, Any] = {}
    base = Path.cwd()
    if path is not None:
        try:
            with path.open("rb") as f:
                data = tomllib.load(f)
        except OSError as e:
            raise ConfigError(f"{path}: cannot read ({e.strerror})") from e
        except tomllib.TOMLDecodeError as e:
            raise ConfigError(f"{path}: not valid TOML ({e})") from e
        base = path.parent
    root = Table(data, "", base)
    config = Config(
        library=_library(root.table("library"), library),
        state=_state(root.table("state"), env),
        worker=_worker(root.table("worker")),
        path_maps=_path_maps(root, "path_maps"),
        targets=_targets(root),
        push=_push(root.table("push")),
        cluster=_cluster(root.table("cluster")),
        source=path,
    )
    root.finish()
    if parse_target is not None:
        targets = tuple(dataclasses.replace(t, settings=parse_target(t, config)) for t in config.targets)
        config = dataclasses.replace(config, targets=targets)
    return config


def _library(t: Table, cli_folders: Sequence[Path]) -> LibraryConfig:
    d = LibraryConfig()
    folders = t.paths("folders", d.folders)
    extensions = t.str_list("extensions", tuple(sorted(d.extensions)))
    for ext in extensions:
        if not ext.startswith(".") or len(ext) < 2:
            raise ConfigError(f"{t.dotted('extensions')}: {ext!r} must start with '.', e.g. '.mkv'")
    cfg = LibraryConfig(
        folders=tuple(p.resolve() for p in cli_folders) if cli_folders else folders,
        extensions=frozenset(e.lower() for e in extensions),
        ignore=tuple(p.lower() for p in t.str_list("ignore", d.ignore)),
        settle_s=t.number("settle_s", d.settle_s, minimum=0.0),
        polling=t.boolean("polling", d.polling),
        poll_interval_s=t.number("poll_interval_s", d.poll_interval_s, minimum=0.1),
        reconcile_interval_h=t.number("reconcile_interval_h", d.reconcile_interval_h, minimum=0.01),
    )
    t.finish()
    return cfg


def _state(t: Table, env: Mapping[str, str]) -> StateConfig:
    state_dir = t.path("dir", None) or default_state_dir(env)
    url = t.string("database_url", "") or f"sqlite:///{state_dir / DATABASE_FILE}"
    t.finish()
    return StateConfig(dir=state_dir, database_url=url)


def _worker(t: Table) -> WorkerConfig:
    d = WorkerConfig()
    threads = t.integer("torch_threads", 0, minimum=0)
    cfg = WorkerConfig(
        workers=t.integer("workers", d.workers, minimum=1),
        torch_threads=threads or None,
        nice=t.integer("nice", d.nice, minimum=0, maximum=19),
        max_attempts=t.integer("max_attempts", d.max_attempts, minimum=1),
        retry_backoff_s=t.number("retry_backoff_s", d.retry_backoff_s, minimum=0.0),
        shutdown_grace_s=t.number("shutdown_grace_s", d.shutdown_grace_s, minimum=0.0, maximum=9.0),
        weights=t.path("weights", None),
        lone_weights=t.path("lone_weights", None),
        audio_languages=tuple(lang.lower() for lang in t.str_list("audio_languages", d.audio_languages)),
        memory_limit_mb=t.integer("memory_limit_mb", d.memory_limit_mb, minimum=0),
        cascade=t.boolean("cascade", d.cascade),
        detection_process=t.boolean("detection_process", d.detection_process),
        unload_after_s=t.number("unload_after_s", d.unload_after_s, minimum=0.0),
    )
    t.finish()
    return cfg


def _push(t: Table) -> PushConfig:
    d = PushConfig()
    backoff_s = t.number("retry_backoff_s", d.retry_backoff_s, minimum=0.1)
    cap_s = t.number("retry_cap_s", d.retry_cap_s, minimum=0.1)
    if cap_s < backoff_s:
        raise ConfigError(f"{t.dotted('retry_cap_s')}: {cap_s:g} is shorter than retry_backoff_s ({backoff_s:g})")
    t.finish()
    return PushConfig(retry_backoff_s=backoff_s, retry_cap_s=cap_s)


def _cluster(t: Table) -> ClusterConfig | None:
    address = t.string("address", "")
    if not address:
        t.finish()  # an empty [cluster] table, or none: detections stay here
        return None
    if not address.startswith(("tcp://", "tls://")):
        raise ConfigError(f"{t.dotted('address')}: {address!r} must be a Dask scheduler address, e.g. tcp://host:8786")
    d = ClusterConfig(address)
    fallback = t.string("fallback", d.fallback)
    if fallback not in CLUSTER_FALLBACKS:
        raise ConfigError(f"{t.dotted('fallback')}: must be one of {', '.join(CLUSTER_FALLBACKS)}, got {fallback!r}")
    pairs = []
    for item in t.table_list("path_maps"):
        pairs.append((item.required_path("daemon"), item.required_string("worker")))
        item.finish()
    cfg = ClusterConfig(
        address=address,
        in_flight=t.integer("in_flight", d.in_flight, minimum=1),
        fallback=fallback,
        connect_timeout_s=t.number("connect_timeout_s", d.connect_timeout_s, minimum=0.1),
        path_maps=PathMap.from_pairs(pairs),
        tls_ca_file=t.path("tls_ca_file", None),
        tls_cert=t.path("tls_cert", None),
        tls_key=t.path("tls_key", None),
    )
    if address.startswith("tls://") and cfg.tls_ca_file is None:
        raise ConfigError(f"{t.dotted('tls_ca_file')}: required with a tls:// address (the scheduler's CA)")
    t.finish()
    return cfg


def _path_maps(t: Table, key: str) -> PathMap:
    pairs = []
    for item in t.table_list(key):
        pairs.append((item.required_path("daemon"), item.required_string("server")))
        item.finish()
    return PathMap.from_pairs(pairs)


def _targets(root: Table) -> tuple[TargetConfig, ...]:
    targets: list[TargetConfig] = []
    for item in root.table_list("targets"):
        name = item.required_string("name")
        if name in {t.name for t in targets}:
            raise ConfigError(f"{item.dotted('name')}: {name!r} is used by another target; names must be unique")
        path_maps = _path_maps(item, "path_maps")
        kind = item.required_string("kind")
        targets.append(TargetConfig(name=name, kind=kind, options=item.rest(), path_maps=path_maps))
    return tuple(targets)

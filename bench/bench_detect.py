"""Speed and memory of one detection on a 44-minute 1080p episode: the cascade, the full-picture path and Jellyfin
Intro Skipper's algorithm, side by side, (a) for a lone episode and (b) for a new episode of a season whose
siblings are stored.

    python -m bench.bench_detect [--minutes 44] [--siblings 4] [--threads N] [--no-baseline] [--repeat N]

Then the real service (`intro-daemon run`) on a library of one episode: its resident size with the detection
process loaded, and idle once that process is unloaded (worker.unload_after_s).

Builds once, into cache/bench/: a realistic 4-minute 1920x1080 H.264/AAC render joined to itself by stream copy up
to --minutes (bench.bench_detect.ensure_episode), and a season made from it (bench.season: the same video, each
episode its own sound with the intro at the same place). The siblings' fingerprints are computed once (the
full-picture path, as a first scan stores them) and kept; each measured run is its own process, so its peak RSS
is its own; it loads the models, then times the detection alone.
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import gc
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

from bench import rss

CACHE = Path("cache/bench")
PART_MINUTES = 4  # rendered once, then repeated by stream copy: the decoding cost per minute is the same
# "-intro": the intro alone (Detector(segments=False)): what finding the recap, credits and preview adds to it.
WIDTH = 30  # a column: "sound 1, full 0, end 1" and its neighbours apart
RUNS = (
    "lone:cascade",
    "lone:full",
    "lone:full-intro",
    "season:skipper",
    "season:full",
    "season:cascade",
    "season:cascade-intro",
)


def ensure_episode(minutes: int) -> tuple[Path, tuple[float, float]]:
    """A `minutes`-long 1080p episode and the intro of its first part: a realistic 4-minute render
    (corpus.build.long_episode: x264 veryfast, B-frames, keyint 250) joined to itself by stream copy, since
    rendering 44 minutes of 1080p costs far more than the benchmark itself."""
    part = CACHE / f"part-{PART_MINUTES}min-1080p.mkv"
    truth = part.with_suffix(".json")
    if not part.exists() or not truth.exists():
        from corpus.build import long_episode

        CACHE.mkdir(parents=True, exist_ok=True)
        print(f"rendering {part} (once) ...", file=sys.stderr)
        rendered = long_episode(part, minutes=PART_MINUTES, width=1920, height=1080, seed=0)
        assert rendered.intro is not None
        truth.write_text(json.dumps({"intro": [rendered.intro.start_s, rendered.intro.end_s]}))
    intro = json.loads(truth.read_text())["intro"]
    path = CACHE / f"long-{minutes}min-1080p.mkv"
    if not path.exists():
        repeat_by_stream_copy(part, path, times=-(-minutes // PART_MINUTES))
    return path, (float(intro[0]), float(intro[1]))


def repeat_by_stream_copy(src: Path, dst: Path, times: int) -> None:
    import av

    tmp = dst.with_suffix(".tmp.mkv")
    with av.open(str(src)) as probe:
        span_s = float(probe.duration or 0) / av.time_base
    with av.open(str(tmp), "w") as out:
        for k in range(times):
            with av.open(str(src)) as inp:
                if k == 0:
                    streams = {
                        s.index: out.add_stream_from_template(s) for s in inp.streams if s.type in ("audio", "video")
                    }
                for packet in inp.demux(*[inp.streams[i] for i in streams]):
                    if packet.dts is None:
                        continue
                    shift = round(k * span_s / packet.time_base)
                    packet.pts = None if packet.pts is None else packet.pts + shift
                    packet.dts += shift
                    packet.stream = streams[packet.stream.index]
                    out.mux(packet)
    tmp.replace(dst)


def _fingerprint_file(sibling: Path) -> Path:
    return sibling.with_suffix(".fp")


def store_siblings(siblings: list[Path], threads: int | None) -> None:
    """(child) Each sibling's fingerprints as a first scan stores them (the full-picture path), and its Intro
    Skipper points, into files beside it."""
    import numpy as np

    from bench.intro_skipper import analysis_window_s, fingerprint_file, media_duration_s
    from detector import Detector

    detector = Detector.load(threads=threads, cascade=False)
    for sibling in siblings:
        if not _fingerprint_file(sibling).exists():
            analysis = detector.analyse(sibling, siblings=len(siblings))
            assert analysis.fingerprints is not None
            _fingerprint_file(sibling).write_bytes(analysis.fingerprints.to_bytes())
        points = sibling.with_suffix(".points.npy")
        if not points.exists() and _has_fpcalc():
            np.save(points, fingerprint_file(sibling, analysis_window_s(media_duration_s(sibling))))


def _has_fpcalc() -> bool:
    import shutil

    return shutil.which("fpcalc") is not None


def _rss_now_mb() -> float:
    """Resident size now, after what a finished job leaves (the daemon between jobs)."""
    gc.collect()
    with contextlib.suppress(OSError):
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    return rss.now_mb()


def measure(run: str, target: Path, siblings: list[Path], threads: int | None) -> dict[str, object]:
    """(child) One detection of `target`, timed after the models are loaded."""
    case, path = run.split(":")
    if path == "skipper":
        return _measure_skipper(target, siblings)
    from detector import Detector
    from detector.decode import COUNTS, probe
    from detector.fingerprint import Fingerprints
    from detector.memory import release_freed_memory_promptly
    from detector.season import MemoryStore

    release_freed_memory_promptly()  # as `intro-daemon` and its detection process do (daemon/cli.py)

    store = MemoryStore()
    if case == "season":
        for sibling in siblings:
            store.put(sibling, Fingerprints.from_bytes(_fingerprint_file(sibling).read_bytes()))
    started = time.perf_counter()
    segments = not path.endswith("-intro")
    path = path.removesuffix("-intro")
    detector = Detector.load(threads=threads, store=store, cascade=path == "cascade", segments=segments)
    load_s = time.perf_counter() - started
    started, cpu_started = time.perf_counter(), _cpu_s()
    detection = detector.detect(target, siblings if case == "season" else [])
    wall_s, cpu_s = time.perf_counter() - started, _cpu_s() - cpu_started
    intro = detection.intro
    return {
        "duration_s": probe(target).duration_s,
        "wall_s": wall_s,
        "cpu_s": cpu_s,
        "load_s": load_s,
        "peak_rss_mb": rss.peak_mb(),
        "rss_after_mb": _rss_now_mb(),
        "frames": COUNTS.video_frames,
        "window_frames": COUNTS.window_frames,
        "passes": f"sound {COUNTS.sound_passes}, full {COUNTS.picture_passes}, end {COUNTS.rest_passes}",
        "signals": ",".join(detection.signals),
        "intro": None if intro is None else f"{intro.start_s:.2f}-{intro.end_s:.2f}",
        "others": " ".join(f"{s.kind} {s.start_s:.0f}-{s.end_s:.0f}" for s in detection.others) or "-",
    }


def _measure_skipper(target: Path, siblings: list[Path]) -> dict[str, object]:
    """The plugin's work for a new episode: fpcalc on its window, compared with the stored siblings' points."""
    import numpy as np

    from bench import intro_skipper as skipper

    points = [np.load(s.with_suffix(".points.npy")) for s in siblings]
    started, cpu_started = time.perf_counter(), _cpu_s()
    duration_s = skipper.media_duration_s(target)
    own = skipper.fingerprint_file(target, skipper.analysis_window_s(duration_s))
    intro = skipper.reduce_season([own, *points])[0]
    if intro is not None:
        silences = skipper.silence_spans(skipper.decode_audio(target, intro.end_s + 2), skipper.SILENCE_SAMPLE_RATE)
        intro = skipper.refine_end_on_silence(intro, silences)
    wall_s, cpu_s = time.perf_counter() - started, _cpu_s() - cpu_started
    return {
        "duration_s": duration_s,
        "wall_s": wall_s,
        "cpu_s": cpu_s,
        "load_s": 0.0,
        # fpcalc's peak (a child's ru_maxrss, at least what this process held when it started fpcalc) added.
        "peak_rss_mb": rss.peak_mb() + resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024,
        "rss_after_mb": float("nan"),
        "frames": 0,
        "window_frames": 0,
        "passes": "fpcalc 1",
        "signals": "chromaprint",
        "intro": None if intro is None else f"{intro.start_s:.2f}-{intro.end_s:.2f}",
    }


def _cpu_s() -> float:
    """CPU time so far, every thread of this process and its finished children (fpcalc) together."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def _children(pid: int) -> list[int]:
    return [int(c) for task in Path(f"/proc/{pid}/task").iterdir() for c in (task / "children").read_text().split()]


def measure_daemon(episode: Path, unload_after_s: float = 5.0) -> dict[str, float]:
    """The real service (`intro-daemon run`) on a library of one episode: its resident size once the episode is
    done, with the detection process loaded beside it, and once that process is unloaded (daemon idle)."""
    import tempfile

    with tempfile.TemporaryDirectory(prefix="bench-daemon-") as tmp:
        root = Path(tmp)
        (root / "library" / "Show" / "Season 01").mkdir(parents=True)
        (root / "library" / "Show" / "Season 01" / "Show S01E01.mkv").symlink_to(episode.resolve())
        config = root / "config.toml"
        config.write_text(
            f'[state]\ndatabase_url = "sqlite:///{root / "state.db"}"\n[library]\nsettle_s = 0.5\n'
            f"[worker]\nnice = 0\ndetection_process = true\nunload_after_s = {unload_after_s}\n"
        )
        log = root / "log"
        with log.open("w") as out:
            daemon = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "daemon.cli",
                    "run",
                    "--config",
                    str(config),
                    "--library",
                    str(root / "library"),
                ],
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        try:
            deadline = time.monotonic() + 600
            while ": done," not in log.read_text():
                if daemon.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"the daemon did not detect the episode:\n{log.read_text()}")
                time.sleep(0.2)
            (detection_process,) = _children(daemon.pid)
            loaded = {"daemon_mb": rss.now_mb(daemon.pid), "detection_mb": rss.now_mb(detection_process)}
            while _children(daemon.pid) and time.monotonic() < deadline:
                time.sleep(0.2)
            return {**loaded, "idle_mb": rss.now_mb(daemon.pid), "unload_after_s": unload_after_s}
        finally:
            daemon.terminate()
            daemon.wait(30)


def _median_run(found: list[dict[str, object]]) -> dict[str, object]:
    """The run whose wall time is the median (the lower one of an even count), with the range of all."""
    walls = sorted(float(r["wall_s"]) for r in found)  # type: ignore[arg-type]
    median = next(r for r in found if float(r["wall_s"]) == walls[(len(walls) - 1) // 2])  # type: ignore[arg-type]
    return {**median, "wall_min_s": walls[0], "wall_max_s": walls[-1], "runs": len(walls)}


def _child(args: list[str]) -> dict[str, object]:
    out = subprocess.run(
        [sys.executable, "-m", "bench.bench_detect", *args], check=True, capture_output=True, text=True
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=int, default=44)
    parser.add_argument("--siblings", type=int, default=4, help="stored siblings of the new episode (>= 3)")
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--no-baseline", action="store_true", help="leave out Intro Skipper's algorithm")
    parser.add_argument(
        "--repeat", type=int, default=1, help="runs of each column, in turn; the median run's figures are printed"
    )
    parser.add_argument("--child", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--season", type=Path, nargs="*", default=[], help=argparse.SUPPRESS)
    args = parser.parse_args()
    threads = ["--threads", str(args.threads)] if args.threads else []

    if args.child:
        target, *siblings = args.season
        if args.child == "store":
            store_siblings(siblings, args.threads)
            print("{}")
        else:
            print(json.dumps(measure(args.child, target, siblings, args.threads)))
        return 0

    from bench.season import ensure_season

    episode, intro_s = ensure_episode(args.minutes)
    season = ensure_season(episode, intro_s, args.siblings + 1, CACHE / f"season-{args.minutes}min-1080p-credits")
    names = [str(p) for p in season]
    _child(["--child", "store", "--season", *names, *threads])
    runs = [r for r in RUNS if not (r.endswith("skipper") and (args.no_baseline or not _has_fpcalc()))]
    # In turn (a b c a b c ...), so that a slow spell of the machine is spread over the columns.
    repeats: dict[str, list[dict[str, object]]] = {run: [] for run in runs}
    for _ in range(max(1, args.repeat)):
        for run in runs:
            repeats[run].append(_child(["--child", run, "--season", *names, *threads]))
    results = {run: _median_run(found) for run, found in repeats.items()}

    first = next(iter(results.values()))
    minutes = float(first["duration_s"]) / 60  # type: ignore[arg-type]
    print(
        f"new episode {season[0]} ({minutes:.1f} min, 1920x1080 H.264, AAC); intro at {intro_s[0]:.2f}-{intro_s[1]:.2f} s"
    )
    print(f"(a) lone: nothing stored; (b) season: {args.siblings} siblings' fingerprints stored")
    print(f"{'':<24}" + "".join(f"{r:>{WIDTH}}" for r in results))
    rows = [
        ("detection wall s", lambda r: f"{r['wall_s']:.2f}"),
        ("... of the runs", lambda r: f"{r['wall_min_s']:.2f}-{r['wall_max_s']:.2f} ({r['runs']})"),
        ("x real time", lambda r: f"{float(r['duration_s']) / float(r['wall_s']):.0f}"),
        ("detection CPU s", lambda r: f"{r['cpu_s']:.2f}"),  # all threads: more than the wall where they overlap
        ("peak RSS MB", lambda r: f"{r['peak_rss_mb']:.0f}"),
        ("RSS after, idle MB", lambda r: f"{r['rss_after_mb']:.0f}"),
        ("video frames decoded", lambda r: f"{r['frames']}"),
        ("... around the ends", lambda r: f"{r['window_frames']}"),
        ("span decodes", lambda r: f"{r['passes']}"),  # the sound alone, or sound and pictures
        ("model load s", lambda r: f"{r['load_s']:.2f}"),
        ("intro s", lambda r: f"{r['intro']}"),
    ]
    for label, cell in rows:
        print(f"{label:<24}" + "".join(f"{cell(r):>{WIDTH}}" for r in results.values()))
    for run, r in results.items():
        print(f"{run}: {r['signals']}; other segments: {r.get('others', '-')}")
    part = CACHE / f"part-{PART_MINUTES}min-1080p.mkv"
    daemon = measure_daemon(part)
    print(
        f"intro-daemon run, one episode ({part.name}) done: daemon {daemon['daemon_mb']:.0f} MB + detection process "
        f"{daemon['detection_mb']:.0f} MB; idle, after worker.unload_after_s = {daemon['unload_after_s']:.0f} s: "
        f"{daemon['idle_mb']:.0f} MB"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

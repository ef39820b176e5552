"""Speed and memory of one detection on a long 1080p episode, stage by stage, frame modes side by side.

    python -m bench.bench_detect [--episode PATH] [--minutes 44] [--weights PATH]

Builds (once, into cache/bench/) a realistic 44-minute 1920x1080 H.264/AAC episode unless --episode is given.
Each frame mode runs in its own child process so that its peak RSS is its own.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

CACHE = Path("cache/bench")


def measure(episode: Path, frame_mode: str, weights: Path | None, threads: int | None) -> dict[str, float]:
    """One detection, timed per stage (runs in the child)."""
    from detector.audio import episode_log_mel
    from detector.decode import FrameMode, decode
    from detector.features import EpisodeFeatures
    from detector.inference import Detector
    from detector.intervals import find_intro

    started = time.perf_counter()
    detector = Detector.load(weights, threads=threads, frame_mode=FrameMode(frame_mode))
    load_s = time.perf_counter() - started

    t0 = time.perf_counter()
    media = decode(episode, detector.frame_mode)
    t1 = time.perf_counter()
    mel = episode_log_mel(media.audio, media.n_seconds)
    t2 = time.perf_counter()
    import torch

    features = EpisodeFeatures(media.n_seconds, media.info.duration_s, mel, torch.from_numpy(media.frames), media.audio)
    scores = detector.score(features)
    t3 = time.perf_counter()
    intro = find_intro(scores, detector.intervals)
    t4 = time.perf_counter()
    return {
        "duration_s": media.info.duration_s,
        "analysed_s": media.n_seconds,
        "model_load_s": load_s,
        "decode_s": t1 - t0,
        "audio_decode_s": media.audio_decode_s,
        "frame_decode_s": media.video_decode_s,
        "features_s": t2 - t1,
        "network_s": t3 - t2,
        "intervals_s": t4 - t3,
        "detect_s": t4 - t0,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "intro": [intro.start_s, intro.end_s] if intro else None,  # type: ignore[dict-item]
    }


def ensure_episode(minutes: int) -> Path:
    path = CACHE / f"long-{minutes}min-1080p.mkv"
    if not path.exists():
        from corpus.build import long_episode

        CACHE.mkdir(parents=True, exist_ok=True)
        started = time.monotonic()
        print(f"building {path} (once) ...", file=sys.stderr)
        long_episode(path, minutes=minutes, width=1920, height=1080, seed=0)
        print(f"built in {time.monotonic() - started:.0f} s", file=sys.stderr)
    return path


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--episode", type=Path, default=None)
    parser.add_argument("--minutes", type=int, default=44)
    parser.add_argument("--weights", type=Path, default=None)
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--modes", default="all,keyframes", help="frame modes to compare")
    parser.add_argument("--child", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.child:
        result = measure(args.episode, args.child, args.weights, args.threads)
        print(json.dumps(result))
        return 0

    episode = args.episode or ensure_episode(args.minutes)
    results = {}
    for mode in args.modes.split(","):
        cmd = [sys.executable, "-m", "bench.bench_detect", "--child", mode, "--episode", str(episode)]
        if args.weights:
            cmd += ["--weights", str(args.weights)]
        if args.threads:
            cmd += ["--threads", str(args.threads)]
        out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
        results[mode] = json.loads(out.strip().splitlines()[-1])

    first = next(iter(results.values()))
    print(f"episode: {episode} ({first['duration_s'] / 60:.1f} min, first {first['analysed_s']} s analysed)")
    print(f"{'stage':<22}" + "".join(f"{m:>14}" for m in results))
    rows = [
        ("audio decode s", "audio_decode_s"),
        ("frame decode s", "frame_decode_s"),
        ("decode total s", "decode_s"),
        ("features s", "features_s"),
        ("network s", "network_s"),
        ("intervals s", "intervals_s"),
        ("detect wall s", "detect_s"),
        ("model load s", "model_load_s"),
        ("peak RSS MB", "peak_rss_mb"),
    ]
    for label, key in rows:
        print(f"{label:<22}" + "".join(f"{r[key]:>14.2f}" for r in results.values()))
    print(f"{'x real time':<22}" + "".join(f"{r['duration_s'] / r['detect_s']:>14.1f}" for r in results.values()))
    print(f"{'intro':<22}" + "".join(f"{json.dumps(r['intro']):>14}" for r in results.values()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

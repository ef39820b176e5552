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


def measure(episode: Path, model: str, frame_mode: str, weights: Path | None, threads: int | None) -> dict[str, float]:
    """One lone-episode detection, timed per stage (runs in the child)."""
    import torch

    from detector.audio import episode_log_mel
    from detector.decode import FrameMode, decode
    from detector.fingerprint import fingerprint
    from detector.inference import Analysis, Detector
    from detector.weights import MODELS

    started = time.perf_counter()
    detector = Detector.load(weights or MODELS[model], threads=threads, frame_mode=FrameMode(frame_mode))
    load_s = time.perf_counter() - started

    t0 = time.perf_counter()
    media = decode(episode, detector.frame_mode)
    t1 = time.perf_counter()
    mel = episode_log_mel(media.audio, media.n_seconds)
    frames = torch.from_numpy(media.frames)
    t2 = time.perf_counter()
    with torch.inference_mode():
        embedding = detector.model.embed(mel.unsqueeze(0), frames.unsqueeze(0))[0]
    t3 = time.perf_counter()
    fingerprints = fingerprint(media.audio, media.frames) if detector.uses_siblings else None
    t4 = time.perf_counter()
    detection = detector.finish(Analysis(episode, media.info.duration_s, embedding, fingerprints), [])
    t5 = time.perf_counter()
    intro = detection.intro
    return {
        "duration_s": media.info.duration_s,
        "analysed_s": media.n_seconds,
        "model_load_s": load_s,
        "decode_s": t1 - t0,
        "audio_decode_s": media.audio_decode_s,
        "frame_decode_s": media.video_decode_s,
        "frames_decoded": media.video_frames_decoded,
        "features_s": t2 - t1,
        "cnn_s": t3 - t2,
        "fingerprint_s": t4 - t3,
        "lstm_intervals_s": t5 - t4,
        "detect_s": t5 - t0,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "intro": [intro.start_s, intro.end_s] if intro else None,  # type: ignore[dict-item]
    }


PART_MINUTES = 4  # rendered once, then repeated by stream copy: the decoding cost per minute is the same


def ensure_episode(minutes: int) -> Path:
    """A `minutes`-long 1080p episode: a realistic 4-minute render (corpus.build.long_episode: x264 veryfast,
    B-frames, keyint 250) joined to itself by stream copy, since rendering 44 minutes of 1080p costs far more
    than the benchmark itself."""
    path = CACHE / f"long-{minutes}min-1080p.mkv"
    if path.exists():
        return path
    from corpus.build import long_episode

    CACHE.mkdir(parents=True, exist_ok=True)
    part = CACHE / f"part-{PART_MINUTES}min-1080p.mkv"
    started = time.monotonic()
    if not part.exists():
        print(f"rendering {part} (once) ...", file=sys.stderr)
        long_episode(part, minutes=PART_MINUTES, width=1920, height=1080, seed=0)
    repeat_by_stream_copy(part, path, times=-(-minutes // PART_MINUTES))
    print(f"built {path} in {time.monotonic() - started:.0f} s", file=sys.stderr)
    return path


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


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--episode", type=Path, default=None)
    parser.add_argument("--minutes", type=int, default=44)
    parser.add_argument("--weights", type=Path, default=None)
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument(
        "--runs",
        default="seed:all,seed:reference,seed:keyframes,season:all,season:reference",
        help="model:frame-mode pairs to compare, side by side",
    )
    parser.add_argument("--child", default=None, help=argparse.SUPPRESS)  # model:frame-mode
    args = parser.parse_args()

    if args.child:
        model, mode = args.child.split(":")
        result = measure(args.episode, model, mode, args.weights, args.threads)
        print(json.dumps(result))
        return 0

    episode = args.episode or ensure_episode(args.minutes)
    results = {}
    for run in args.runs.split(","):
        cmd = [sys.executable, "-m", "bench.bench_detect", "--child", run, "--episode", str(episode)]
        if args.weights:
            cmd += ["--weights", str(args.weights)]
        if args.threads:
            cmd += ["--threads", str(args.threads)]
        out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
        results[run] = json.loads(out.strip().splitlines()[-1])

    first = next(iter(results.values()))
    print(f"episode: {episode} ({first['duration_s'] / 60:.1f} min, first {first['analysed_s']} s analysed)")
    print(f"{'stage':<22}" + "".join(f"{m:>16}" for m in results))
    rows = [
        ("audio decode s", "audio_decode_s"),
        ("frame decode s", "frame_decode_s"),
        ("frames decoded", "frames_decoded"),
        ("decode total s", "decode_s"),
        ("log-mel s", "features_s"),
        ("CNN embeddings s", "cnn_s"),
        ("fingerprints s", "fingerprint_s"),
        ("LSTM, intervals, cuts s", "lstm_intervals_s"),
        ("detect wall s", "detect_s"),
        ("model load s", "model_load_s"),
        ("peak RSS MB", "peak_rss_mb"),
    ]
    for label, key in rows:
        print(f"{label:<22}" + "".join(f"{r[key]:>16.2f}" for r in results.values()))
    print(f"{'x real time':<22}" + "".join(f"{r['duration_s'] / r['detect_s']:>16.1f}" for r in results.values()))
    print(f"{'intro':<22}" + "".join(f"{json.dumps(r['intro']):>16}" for r in results.values()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

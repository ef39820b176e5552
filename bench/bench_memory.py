"""Peak memory and time of one detection against the file's length: 3 min, 44 min, 3 h and 6 h.

    python -m bench.bench_memory [--lengths 3,44,180,360] [--weights PATH]

Builds (once, into cache/bench/memory/) each file as a recorded broadcast can be: video at 1 fps (320x180 H.264),
AAC stereo 48 kHz, a tune and a title card from 20 to 50 s, then a quiet hum to the end. Each length runs
`intro-daemon detect --json` in a process of its own, so its peak RSS (VmHWM) is its own.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from bench import rss

CACHE = Path("cache/bench/memory")
AUDIO_RATE = 48_000


def write_recording(path: Path, seconds: int) -> None:
    import av

    rng = np.random.default_rng(0)
    with av.open(str(path), "w") as out:
        video = out.add_stream("libx264", rate=1)
        video.width, video.height, video.pix_fmt = 320, 180, "yuv420p"
        audio = out.add_stream("aac", rate=AUDIO_RATE, layout="stereo")
        for second in range(seconds):
            picture = np.full((180, 320, 3), (second * 7) % 200, np.uint8)
            if 20 <= second < 50:
                picture[40:140, 60:260] = (200, 40, 40)  # the title card
            for packet in video.encode(av.VideoFrame.from_ndarray(picture, format="rgb24")):
                out.mux(packet)
            t = second + np.arange(AUDIO_RATE) / AUDIO_RATE
            sound = 0.01 * rng.standard_normal(AUDIO_RATE)  # the same hum over and over would be as good
            if 20 <= second < 50:  # the tune: a few notes, changing every half second
                note = 220.0 * 2 ** ((int(t[0] * 2) % 8) / 12)
                sound += 0.3 * np.sin(2 * np.pi * note * t)
            samples = np.stack([sound, sound]).astype(np.float32)
            frame = av.AudioFrame.from_ndarray(samples, format="fltp", layout="stereo")
            frame.sample_rate = AUDIO_RATE
            for packet in audio.encode(frame):
                out.mux(packet)
        for stream in (video, audio):
            for packet in stream.encode(None):
                out.mux(packet)


def ensure_file(minutes: int) -> Path:
    # Alone in its folder: with others beside it, `detect` would read them too, as the episode's season.
    path = CACHE / f"{minutes}min" / "recording.mkv"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        started = time.monotonic()
        tmp = path.with_suffix(".tmp.mkv")
        write_recording(tmp, minutes * 60)
        tmp.replace(path)
        print(f"built {path} in {time.monotonic() - started:.0f} s", file=sys.stderr)
    return path


def measure(path: Path, weights: Path | None) -> dict[str, object]:
    """One `intro-daemon detect --json` in a child process of its own: its wall time, peak RSS and answer."""
    command = [sys.executable, "-m", "bench.bench_memory", "--child", str(path)]
    if weights is not None:
        command += ["--weights", str(weights)]
    started = time.monotonic()
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    elapsed_s = time.monotonic() - started
    if done.returncode:
        return {"seconds": elapsed_s, "peak_mb": None, "answer": done.stderr.strip().splitlines()[-1:]}
    report = json.loads(done.stdout.strip().splitlines()[-1])
    return {"seconds": elapsed_s, "peak_mb": report["peak_mb"], "answer": report["answer"]}


def child(path: Path, weights: Path | None) -> int:
    """In the child: the CLI's detect, then this process's own peak RSS, as one JSON line."""
    import contextlib
    import io

    from daemon.cli import main as cli

    argv = ["detect", "--json", str(path)] + (["--weights", str(weights)] if weights is not None else [])
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        rc = cli(argv)
    if rc:
        return rc
    peak_mb = rss.peak_mb()
    print(json.dumps({"peak_mb": peak_mb, "answer": json.loads(out.getvalue())}))
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--lengths", default="3,44,180,360", help="file lengths in minutes, ascending")
    parser.add_argument("--weights", type=Path)
    parser.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child is not None:
        return child(args.child, args.weights)
    lengths = [int(x) for x in args.lengths.split(",")]
    rows = []
    for minutes in lengths:
        path = ensure_file(minutes)
        rows.append((minutes, measure(path, args.weights)))
    print(f"{'length':>8} {'time s':>8} {'x real time':>12} {'peak RSS MB':>12}  answer")
    for minutes, row in rows:
        seconds = float(row["seconds"])  # type: ignore[arg-type]
        peak = row["peak_mb"]
        peak_text = f"{peak:12.0f}" if isinstance(peak, float) else f"{'-':>12}"
        print(f"{minutes:>6} m {seconds:8.1f} {minutes * 60 / seconds:12.0f} {peak_text}  {row['answer']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

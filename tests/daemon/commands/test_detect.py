"""End to end: `intro-daemon detect` with the shipped weights on a generated mini season plus a bad file; its lines
for a detection with every kind of segment."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from corpus.procedural import make_season
from daemon.commands.detect import _json_line, _text_line
from detector.labels import EpisodeTruth
from detector.result import SEGMENT_KINDS, Detection, Intro, Segment


@pytest.fixture(scope="module")
def season(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[EpisodeTruth]]:
    root = tmp_path_factory.mktemp("library")
    truths = make_season(root, episodes=3, seed=7)
    return root, truths


def run_detect(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "daemon.cli", "detect", *args], capture_output=True, text=True, timeout=300
    )


def test_detect_json_reports_every_episode_and_the_bad_file(season: tuple[Path, list[EpisodeTruth]]):
    root, truths = season
    season_dir = (root / truths[0].path).parent
    bad = season_dir / "zz broken.mkv"
    bad.write_bytes(b"\x1a\x45\xdf\xa3 this is not a matroska file" * 100)
    try:
        result = run_detect("--json", str(root))
    finally:
        bad.unlink()
    assert result.returncode == 1, result.stderr  # one file failed
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    by_path = {Path(line["path"]).name: line for line in lines}
    assert set(by_path) == {Path(t.path).name for t in truths} | {bad.name}
    assert "not a readable media file" in by_path[bad.name]["error"]
    assert by_path[bad.name]["intro"] is None and by_path[bad.name]["segments"] == []
    for truth in truths:
        line = by_path[Path(truth.path).name]
        assert line["error"] is None
        intro = line["intro"]
        if intro is not None:
            assert 0 <= intro["start"] < intro["end"] <= truth.duration_s / 2 + 1
            assert 0 <= intro["confidence"] <= 1
        # The intro again among the segments, all in time order, each a kind this version knows.
        marked = [{k: s[k] for k in ("start", "end", "confidence")} for s in line["segments"] if s["kind"] == "intro"]
        assert marked == ([intro] if intro is not None else [])
        assert [s["start"] for s in line["segments"]] == sorted(s["start"] for s in line["segments"])
        assert {s["kind"] for s in line["segments"]} <= set(SEGMENT_KINDS)


def test_detect_places_the_ends_of_a_season_s_intros_on_their_cuts(season: tuple[Path, list[EpisodeTruth]]):
    root, truths = season
    result = run_detect("--json", str(root))
    assert result.returncode == 0, result.stderr
    by_name = {Path(line["path"]).name: line["intro"] for line in map(json.loads, result.stdout.splitlines())}
    for truth in truths:
        found, span = by_name[Path(truth.path).name], truth.intro
        assert (found is None) == (span is None), (truth.path, found, span)
        if found is not None and span is not None:  # a frame or two at 25-30 fps
            assert abs(found["start"] - span.start_s) <= 0.1 and abs(found["end"] - span.end_s) <= 0.1, (found, span)


def test_detect_text_output_and_success_exit_code(season: tuple[Path, list[EpisodeTruth]]):
    root, truths = season
    one = root / truths[0].path
    result = run_detect(str(one))
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f"{one}: ")
    assert "intro" in result.stdout


def test_detect_missing_file_is_an_error_line_not_a_crash(tmp_path: Path):
    result = run_detect("--json", str(tmp_path / "nope.mkv"))
    assert result.returncode == 1
    line = json.loads(result.stdout)
    assert line["error"] == "file not found" and line["intro"] is None


def test_detect_on_key_frames_only(season: tuple[Path, list[EpisodeTruth]]):
    root, truths = season
    result = run_detect("--json", "--frame-mode", "keyframes", str(root))
    assert result.returncode == 0, result.stderr
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(lines) == len(truths) and all(line["error"] is None for line in lines)


def test_detect_rejects_an_unknown_frame_mode(season: tuple[Path, list[EpisodeTruth]]):
    root, _ = season
    result = run_detect("--frame-mode", "every-other", str(root))
    assert result.returncode == 2 and "--frame-mode" in result.stderr


RECAP = Segment("recap", 0.0, 42.5, 0.8, ("repetition",))
CREDITS = Segment("credits", 2510.0, 2570.0, 0.7, ("black-card", "text"), final=True)
PREVIEW = Segment("preview", 2570.0, 2600.0, 0.6)


def test_detect_lines_name_every_segment_and_keep_the_intro_as_it_was():
    path = Path("/tv/S1/e1.mkv")
    detection = Detection(path, 2600.0, Intro(60.0, 110.123, 0.9), "m", others=(RECAP, CREDITS, PREVIEW))
    line = json.loads(_json_line(path, detection, None))
    assert list(line) == ["path", "intro", "segments", "error"]
    assert line["intro"] == {"start": 60.0, "end": 110.12, "confidence": 0.9}
    assert line["segments"] == [
        {"kind": "recap", "start": 0.0, "end": 42.5, "confidence": 0.8, "signals": ["repetition"]},
        {"kind": "intro", "start": 60.0, "end": 110.12, "confidence": 0.9, "signals": []},
        {"kind": "credits", "start": 2510.0, "end": 2570.0, "confidence": 0.7, "signals": ["black-card", "text"],
         "final": True},
        {"kind": "preview", "start": 2570.0, "end": 2600.0, "confidence": 0.6, "signals": []},
    ]  # fmt: skip
    assert _text_line(path, detection, None) == (
        "/tv/S1/e1.mkv: recap 0:00.0 - 0:42.5 (42 s, confidence 0.80, from repetition); "
        "intro 1:00.0 - 1:50.1 (50 s, confidence 0.90); "
        "final credits 41:50.0 - 42:50.0 (60 s, confidence 0.70, from black-card,text); "
        "preview 42:50.0 - 43:20.0 (30 s, confidence 0.60)"
    )


def test_detect_lines_without_an_intro():
    path = Path("/tv/S1/e1.mkv")
    credits = Segment("credits", 2510.0, 2570.0, 0.7, final=False)
    detection = Detection(path, 2600.0, None, "m", others=(credits,))
    line = json.loads(_json_line(path, detection, None))
    assert line["intro"] is None
    assert line["segments"] == [
        {"kind": "credits", "start": 2510.0, "end": 2570.0, "confidence": 0.7, "signals": [], "final": False}
    ]
    assert (
        _text_line(path, detection, None)
        == "/tv/S1/e1.mkv: no intro; credits 41:50.0 - 42:50.0 (60 s, confidence 0.70)"
    )
    assert _text_line(path, Detection(path, 2600.0, None, "m"), None) == "/tv/S1/e1.mkv: no intro"  # as before
    assert json.loads(_json_line(path, None, "file not found")) == {
        "path": str(path), "intro": None, "segments": [], "error": "file not found"
    }  # fmt: skip

"""End to end: `intro-daemon detect` with the shipped weights on a generated mini season plus a bad file."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from corpus.procedural import make_season
from detector.labels import EpisodeTruth


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
    assert by_path[bad.name]["intro"] is None
    for truth in truths:
        line = by_path[Path(truth.path).name]
        assert line["error"] is None
        intro = line["intro"]
        if intro is not None:
            assert 0 <= intro["start"] < intro["end"] <= truth.duration_s / 2 + 1
            assert 0 <= intro["confidence"] <= 1


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

"""End to end: `intro-daemon detect` with the shipped weights on a generated mini season plus a bad file."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from corpus.procedural import make_season
from detector.inference import Checkpoint
from detector.labels import EpisodeTruth
from detector.weights import MODELS


@pytest.fixture(scope="module")
def season(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[EpisodeTruth]]:
    root = tmp_path_factory.mktemp("library")
    truths = make_season(root, episodes=3, seed=7)
    return root, truths


def run_detect(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "daemon.cli", "detect", *args], capture_output=True, text=True, timeout=300
    )


@pytest.mark.parametrize("model", sorted(MODELS))
def test_shipped_weights_load_safely_and_say_what_they_are(model: str):
    path = MODELS[model]
    if not path.exists():
        pytest.skip(f"{path.name} is not shipped")
    assert path.stat().st_size < 25 * 2**20
    checkpoint = Checkpoint.load(path)  # weights_only=True inside
    assert checkpoint.version.startswith(model)
    assert checkpoint.intervals.eps_s > 0 and checkpoint.intervals.min_samples >= 1
    assert (checkpoint.dims.n_extra > 0) == (model == "season")


def test_cut_snapping_is_on_by_default_and_can_be_left_out_for_both_models():
    from detector.inference import Detector

    default, as_designed = Detector.load(threads=1), Detector.load(threads=1, snap_to_cuts=False)
    assert default.intervals.snap_to_cuts and default.lone_checkpoint and default.lone_checkpoint.intervals.snap_to_cuts
    assert not as_designed.intervals.snap_to_cuts
    assert as_designed.lone_checkpoint and not as_designed.lone_checkpoint.intervals.snap_to_cuts
    assert "/post" in default.model_version  # stored results say which post-processing made them


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


def test_eval_prints_the_report_and_with_episodes_one_line_per_episode(season: tuple[Path, list[EpisodeTruth]]):
    root, truths = season
    result = subprocess.run(
        [sys.executable, "-m", "daemon.cli", "eval", "--episodes", str(root)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    out = result.stdout.splitlines()
    assert any(line.startswith("both ends within +-2 s") for line in out)
    assert any(line.startswith(f"episodes                  {len(truths)} ") for line in out)
    for ep in truths:
        (line,) = [x for x in out if x.startswith(f"{ep.path}: truth ")]
        expected = f"{ep.intro.start_s:7.1f}-{ep.intro.end_s:7.1f} s" if ep.intro else "-"
        assert line.startswith(f"{ep.path}: truth {expected}, marked ")
        assert line.endswith(
            ("within +-1 s", "within +-2 s", "within +-3 s", "than 3 s", "MISSED", "FALSE intro", "none marked")
        )

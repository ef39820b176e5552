"""Detector.detect episode by episode over a season: each file is decoded once, whatever the order."""

import shutil
from pathlib import Path

import av
import pytest

import detector.inference as inference
from detector import Detection, Detector
from detector.result import MAX_INTRO_S
from tests.clips import reencode, remux


def test_a_first_scan_decodes_each_episode_once(season_media: list[Path], monkeypatch: pytest.MonkeyPatch):
    decoded: list[Path] = []
    real_extract = inference.extract

    def counting_extract(path, *args, **kwargs):  # type: ignore[no-untyped-def]
        decoded.append(Path(path))
        return real_extract(path, *args, **kwargs)

    monkeypatch.setattr(inference, "extract", counting_extract)
    detector = Detector.load(threads=1)
    results = [detector.detect(p, [s for s in season_media if s != p]) for p in season_media]
    assert sorted(decoded) == sorted(season_media)  # the first target's siblings were analysed once, then reused
    assert all("repetition" in r.signals for r in results)
    # A later detection of the same file (a re-scan) decodes it again: nothing stale is kept.
    detector.detect(season_media[0], season_media[1:])
    assert decoded.count(season_media[0]) == 2


def test_one_sibling_that_shares_no_intro_leaves_the_episode_to_the_lone_model(
    season_media: list[Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    from corpus.procedural import make_season

    # Another show's episode beside this one: a two-episode "season" whose sound shares nothing, like a pilot
    # without the intro or an episode with the other opening.
    other = tmp_path / "other"
    stranger = other / make_season(other, episodes=1, seed=5)[0].path
    target = season_media[0]
    detector = Detector.load(threads=1)
    alone = detector.detect(target)
    paired = detector.detect(target, [stranger])
    assert paired.signals[:2] == ("network", "sibling-unmatched")
    assert paired.intro == alone.intro and alone.intro is not None
    assert paired.scores == alone.scores
    # With two siblings that share nothing, no shared intro is evidence enough: no fallback.
    second = tmp_path / "second"
    second_stranger = second / make_season(second, episodes=1, seed=6)[0].path
    assert "sibling-unmatched" not in detector.detect(target, [stranger, second_stranger]).signals
    monkeypatch.setattr(inference, "ONE_SIBLING_FALLBACK", False)
    assert "sibling-unmatched" not in detector.detect(target, [stranger]).signals


def test_cut_snapping_is_on_by_default_and_can_be_left_out_for_both_models():
    default, as_designed = Detector.load(threads=1), Detector.load(threads=1, snap_to_cuts=False)
    assert default.snap_to_cuts and default.lone_checkpoint  # the lone-episode model's ends move with the same flag
    assert not as_designed.snap_to_cuts and as_designed.lone_checkpoint
    assert "/post" in default.model_version  # stored results say which post-processing made them


def test_the_networks_run_where_asked_and_auto_takes_a_gpu_only_when_torch_sees_one():
    import torch

    assert Detector.load(threads=1).device.type == "cpu"
    auto = Detector.load(threads=1, device="auto")
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    assert auto.device.type == expected
    assert {p.device.type for p in auto.model.parameters()} == {expected}
    assert auto.lone_model is not None and {p.device.type for p in auto.lone_model.parameters()} == {expected}


def test_copies_of_an_episode_in_its_season_get_its_intro_and_change_nothing_else(
    season_media: list[Path], tmp_path: Path
):
    folder = tmp_path / "Season 01"
    folder.mkdir()
    episodes = [Path(shutil.copy(p, folder / p.name)) for p in season_media]
    original = episodes[1]
    with av.open(str(original)) as container:
        duration_s = (container.duration or 0) / 1e6
    copies = [
        remux(original, folder / f"{original.stem} copy.mkv"),
        reencode(original, folder / f"{original.stem} 360p.mp4", height=72, crf=30, sample_rate=44100),
        reencode(
            original, folder / f"{original.stem} cut.mkv", height=96, crf=23, sample_rate=48000, until_s=duration_s - 4
        ),
    ]
    detector = Detector.load(threads=1)
    alone = dict(detector.detect_season(episodes))
    beside = dict(detector.detect_season([*episodes, *copies]))
    assert all(isinstance(d, Detection) for d in [*alone.values(), *beside.values()])

    def ends(path: Path, results: dict) -> tuple[float, float]:  # type: ignore[type-arg]
        intro = results[path].intro
        assert intro is not None, f"{path.name}: no intro"
        assert intro.duration_s <= MAX_INTRO_S, path.name
        return intro.start_s, intro.end_s

    expected = ends(original, alone)
    for path in [original, *copies]:
        got = ends(path, beside)
        assert abs(got[0] - expected[0]) <= 1.0 and abs(got[1] - expected[1]) <= 1.0, (path.name, got, expected)
        assert "copies" in beside[path].signals
    for path in (episodes[0], episodes[2]):  # the others keep their intros, and no copy is theirs
        got, before = ends(path, beside), ends(path, alone)
        assert abs(got[0] - before[0]) <= 1.0 and abs(got[1] - before[1]) <= 1.0, (path.name, got, before)
        assert "copies" not in beside[path].signals

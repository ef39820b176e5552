"""The real-asset path on a tiny fake asset tree: scan, skip bad files, partition, decode and render."""

from __future__ import annotations

import logging
from pathlib import Path

import av
import numpy as np
import pytest

from corpus.catalog import Catalog, partition
from corpus.material import Material
from corpus.procedural import plan_corpus, render_plans
from corpus.profile import PROCEDURAL
from corpus.real import load_manifest, scan_catalog

MANIFEST = """
[[package]]
name = "music-pkg"
version = "1"
kind = "music"
globs = ["music/*.ogg"]

[[package]]
name = "talk-pkg"
version = "1"
kind = "dialogue"
globs = ["talk/*.ogg"]
key = "/([a-z]+)-[0-9]+\\\\.ogg$"

[[package]]
name = "photo-pkg"
version = "1"
kind = "photo"
globs = ["img/*.png"]
key = "img/([a-z]+)-"
prefer = ["-big"]
"""


def _write_opus(path: Path, seconds: float, freq: float) -> None:
    rate = 48000
    t = np.arange(int(seconds * rate)) / rate
    samples = (0.3 * np.sin(2 * np.pi * freq * t) * (1 + np.sin(2 * np.pi * 0.5 * t))).astype(np.float32)
    with av.open(str(path), "w", format="ogg") as out:
        stream = out.add_stream("libopus", rate=rate, layout="mono")
        for i in range(0, samples.size, 960):
            frame = av.AudioFrame.from_ndarray(samples[None, i : i + 960], format="flt", layout="mono")
            frame.sample_rate, frame.pts = rate, i
            out.mux(stream.encode(frame))
        out.mux(stream.encode(None))


def _write_png(path: Path, seed: int, width: int = 64, height: int = 48) -> None:
    rgb = np.random.default_rng(seed).integers(0, 256, size=(height, width, 3), dtype=np.uint8)
    with av.open(str(path), "w", format="image2") as out:
        stream = out.add_stream("png")
        stream.width, stream.height, stream.pix_fmt = width, height, "rgb24"
        out.mux(stream.encode(av.VideoFrame.from_ndarray(rgb, format="rgb24")))
        out.mux(stream.encode(None))


@pytest.fixture(scope="module")
def assets(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("assets")
    manifest = root / "assets.toml"
    manifest.write_text(MANIFEST)
    for pkg, sub in (("music-pkg", "music"), ("talk-pkg", "talk"), ("photo-pkg", "img")):
        (root / pkg / sub).mkdir(parents=True)
        (root / pkg / ".version").write_text("1\n")
    for k in range(3):
        _write_opus(root / "music-pkg" / "music" / f"track{k}.ogg", 30.0, 220.0 * (k + 1))
    (root / "music-pkg" / "music" / "broken.ogg").write_bytes(b"OggS not really")
    for voice in ("anna", "boris", "cyril"):
        for k in range(20):
            _write_opus(root / "talk-pkg" / "talk" / f"{voice}-{k}.ogg", 0.6 + 0.1 * (k % 5), 150.0 + k)
    for k, name in enumerate(("lake", "hill", "city", "road", "wood", "dune")):
        _write_png(root / "photo-pkg" / "img" / f"{name}-big.png", k)
        _write_png(root / "photo-pkg" / "img" / f"{name}-small.png", k + 100, 32, 24)
    (root / "photo-pkg" / "img" / "bad-big.png").write_bytes(b"\x89PNG broken")
    return root, manifest


def test_scan_skips_bad_files_and_groups_variants(assets: tuple[Path, Path], caplog: pytest.LogCaptureFixture) -> None:
    root, manifest = assets
    with caplog.at_level(logging.WARNING):
        catalog = scan_catalog(root, manifest)
    assert sorted(Path(t.id).name for t in catalog.music) == ["track0.ogg", "track1.ogg", "track2.ogg"]
    assert all(abs(t.duration_s - 30.0) <= 1.0 and t.loudness_db for t in catalog.music)
    assert catalog.voices() == ("talk-pkg:anna", "talk-pkg:boris", "talk-pkg:cyril")
    assert len(catalog.photos) == 6 and all(p.endswith("-big.png") for p in catalog.photos)
    assert "broken.ogg" in caplog.text and "bad-big.png" in caplog.text
    assert scan_catalog(root, manifest) == catalog  # the second scan comes from the cache


def test_partition_is_disjoint_and_covers_everything(assets: tuple[Path, Path]) -> None:
    catalog = scan_catalog(*assets)
    train, val = partition(catalog, "train"), partition(catalog, "val")
    for a, b in ((train, val), (val, train)):
        assert a.music and a.lines and a.photos
        assert not {t.id for t in a.music} & {t.id for t in b.music}
        assert not set(a.voices()) & set(b.voices())
        assert not set(a.photos) & set(b.photos)
    both = Catalog(train.music + val.music, train.lines + val.lines, train.photos + val.photos)
    assert sorted(t.id for t in both.music) == sorted(t.id for t in catalog.music)
    assert sorted(both.photos) == sorted(catalog.photos)


def test_renders_an_episode_from_real_files(assets: tuple[Path, Path], tmp_path: Path) -> None:
    root, manifest = assets
    catalog = scan_catalog(root, manifest)
    plans = plan_corpus(catalog, PROCEDURAL, "train", 1, 2, 0, "mp4")
    truths = render_plans(plans, Material(root), tmp_path)
    for ep in truths:
        with av.open(str(tmp_path / ep.path)) as container:
            assert container.streams.video and container.streams.audio
            assert container.duration is not None
            assert abs(container.duration / av.time_base - ep.duration_s) < 0.2


def test_undecodable_asset_gives_silence_not_a_crash(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    (tmp_path / "x.ogg").write_bytes(b"garbage")
    with caplog.at_level(logging.WARNING):
        samples = Material(tmp_path).audio("x.ogg", 8000)
        picture = Material(tmp_path).picture("x.ogg", 32, 18)
    assert not samples.any() and picture.shape == (18, 32, 3)
    assert "undecodable" in caplog.text


@pytest.mark.parametrize(
    ("kind", "split"), [("music", "test"), ("photo", "train")], ids=["unknown-split", "split-on-photos"]
)
def test_a_bad_fixed_split_in_the_manifest_names_the_package(tmp_path: Path, kind: str, split: str) -> None:
    manifest = tmp_path / "assets.toml"
    manifest.write_text(
        f'[[package]]\nname = "pkg"\nversion = "1"\nkind = "{kind}"\nglobs = ["*"]\nsplit = "{split}"\n'
    )
    with pytest.raises(ValueError, match="package pkg: split"):
        load_manifest(manifest)


def test_the_manifest_fixes_a_split_that_survives_the_catalog_cache(assets: tuple[Path, Path]) -> None:
    root, manifest = assets
    text = manifest.read_text().replace('globs = ["music/*.ogg"]', 'globs = ["music/*.ogg"]\nsplit = "train"')
    fixed = manifest.with_name("fixed.toml")
    fixed.write_text(text)
    scanned, cached = scan_catalog(root, fixed), scan_catalog(root, fixed)
    assert scanned == cached and scanned.music
    assert all(t.split == "train" for t in cached.music)
    assert not partition(cached, "val").music

"""Small libraries of fake episodes and their config files, for the commands' tests."""

import dataclasses
from collections.abc import Sequence
from pathlib import Path

from daemon.commands.rescan import rescan
from daemon.config import load_config
from daemon.detect import LoadedDetector
from daemon.publish.config import push_targets
from detector.result import Detection, Segment
from tests.conftest import FakeDetector


def library_of(root: Path, files: dict[str, bytes]) -> Path:
    for rel, data in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_bytes(data)
    return root


def twenty(root: Path) -> Path:
    """20 episodes over 4 seasons of 2 shows."""
    return library_of(
        root,
        {
            f"Show {s // 2}/Season {s % 2 + 1}/e{e:02d}.mkv": b"episode %d %d" % (s, e)
            for s in range(4)
            for e in range(5)
        },
    )


def write_config(tmp_path: Path, lib: Path, extra: str = "") -> Path:
    path = tmp_path / "config.toml"
    path.write_text(f'[library]\nfolders = ["{lib}"]\n[state]\ndir = "{tmp_path / "state"}"\n{extra}')
    return path


def loader(fake: FakeDetector):  # type: ignore[no-untyped-def]
    return lambda _worker_config, _store: LoadedDetector(fake.detect, fake.model_version)


def status_config(tmp_path: Path, fake: FakeDetector) -> tuple[Path, Path]:
    lib = library_of(tmp_path / "lib", {"Show/S1/e1.mkv": b"one", "Show/S1/e2.mkv": b"CORRUPT", "Show/S2/e1.mkv": b"x"})
    path = write_config(
        tmp_path,
        lib,
        '[[targets]]\nname = "home"\nkind = "jellyfin"\nurl = "http://127.0.0.1:1"\napi_key = "sup3rsecret"\n',
    )
    config = load_config(path)
    targets = push_targets(config)  # the real publishers' names: "home"
    rescan(config, (lib / "Show" / "S1",), force=False, detector_loader=loader(fake), targets=targets)
    return path, lib


class WithSegments(FakeDetector):
    """FakeDetector's intro (10-40 s of a 2-minute episode) with a recap, final credits and a preview; b"BARE": no
    intro, credits that are not final."""

    def detect(self, path: Path, siblings: Sequence[Path] = ()) -> Detection:
        found = super().detect(path, siblings)
        if path.read_bytes().startswith(b"BARE"):
            return dataclasses.replace(found, intro=None, others=(Segment("credits", 100.0, 110.0, 0.6),))
        return dataclasses.replace(found, others=(RECAP, CREDITS, PREVIEW))


RECAP = Segment("recap", 0.0, 8.0, 0.8, ("repetition",))
CREDITS = Segment("credits", 100.0, 115.0, 0.7, ("black-card", "text"), final=True)
PREVIEW = Segment("preview", 115.0, 120.0, 0.6, ("repetition",))

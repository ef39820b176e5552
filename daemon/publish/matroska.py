"""Matroska chapters, written in place with `mkvpropedit` (no remux): opt-in, since it changes media files.

Chapters `Intro` and `Episode` (and `Prologue` at 0 when the intro does not start there) serve every player, and
Jellyfin's official Chapter Segments Provider turns `Intro` into a media segment: its intro ends where the next
chapter starts, hence `Episode`. No name contains the letters "ad", which that plugin's unanchored Commercial regex
would match. We only ever replace chapter sets that look like ours, unless `overwrite_chapters` says otherwise.
"""

from __future__ import annotations

import logging
import subprocess
import tempfile
import xml.etree.ElementTree as ET
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

import av

from daemon.config_reader import ConfigError, Table
from daemon.publish.base import EpisodeRef, PushAction, PushResult, to_ms
from daemon.publish.errors import (
    ForeignFileError,
    PermanentPublishError,
    TransientPublishError,
)
from daemon.publish.jellyfin import JellyfinApi, JellyfinOptions
from daemon.publish.options import Kind, Sources, Wiring
from detector.result import Intro

log = logging.getLogger(__name__)

PROLOGUE, INTRO, EPISODE = "Prologue", "Intro", "Episode"
_OUR_TITLES = {PROLOGUE, INTRO, EPISODE}
_MKVPROPEDIT_TIMEOUT_S = 120.0  # it rewrites only the header area, but a busy NAS can be slow
_INSTALL_HINT = "install mkvtoolnix (Debian/Ubuntu: `apt install mkvtoolnix`) or set `mkvpropedit` to its path"


@dataclass(frozen=True)
class MatroskaOptions:
    mkvpropedit: str = "mkvpropedit"
    overwrite_chapters: bool = False  # replace chapters the daemon did not write
    refresh_jellyfin: str | None = None  # name of a jellyfin target to re-probe the item and run its segment scan


def _parse(table: Table, _sources: Sources) -> MatroskaOptions:
    refresh = table.string("refresh_jellyfin", "")
    return MatroskaOptions(
        mkvpropedit=table.string("mkvpropedit", MatroskaOptions.mkvpropedit),
        overwrite_chapters=table.boolean("overwrite_chapters", MatroskaOptions.overwrite_chapters),
        refresh_jellyfin=refresh or None,
    )


def _check(name: str, options: MatroskaOptions, settings: Mapping[str, Any]) -> None:
    """`refresh_jellyfin` names a jellyfin target."""
    if options.refresh_jellyfin is None or isinstance(settings.get(options.refresh_jellyfin), JellyfinOptions):
        return
    jellyfins = [n for n, o in settings.items() if isinstance(o, JellyfinOptions)]
    raise ConfigError(
        f"targets.{name}.refresh_jellyfin: must name a jellyfin target ({', '.join(jellyfins) or 'none'}), "
        f"got {options.refresh_jellyfin!r}"
    )


def _build(name: str, options: MatroskaOptions, wiring: Wiring) -> MatroskaPublisher:
    jellyfin = None
    if options.refresh_jellyfin is not None:
        refresh = options.refresh_jellyfin
        jellyfin = JellyfinApi(refresh, wiring.settings[refresh], session=wiring.new_session())
    return MatroskaPublisher(name, options, jellyfin=jellyfin)


@dataclass(frozen=True)
class Chapter:
    start_ms: int
    title: str


def wanted_chapters(intro: Intro, duration_s: float) -> list[Chapter]:
    chapters = []
    if to_ms(intro.start_s) > 0:
        chapters.append(Chapter(0, PROLOGUE))
    chapters.append(Chapter(to_ms(intro.start_s), INTRO))
    if to_ms(intro.end_s) < to_ms(duration_s):
        chapters.append(Chapter(to_ms(intro.end_s), EPISODE))
    return chapters


def read_chapters(path: Path) -> list[Chapter]:
    try:
        with av.open(str(path)) as container:
            found = container.chapters()
    except (av.FFmpegError, OSError) as error:
        raise PermanentPublishError(f"cannot read chapters of {path}: {error}") from None
    chapters = [Chapter(_start_ms(c["start"], c["time_base"]), str(c["metadata"].get("title", ""))) for c in found]
    return sorted(chapters, key=lambda c: c.start_ms)


def _start_ms(start: int, time_base: Fraction | None) -> int:
    return round(start * (time_base if time_base is not None else Fraction(1, 1000)) * 1000)


def chapters_xml(chapters: Sequence[Chapter], duration_s: float) -> str:
    """mkvmerge's XML chapter format, each chapter ending where the next starts (the last at the file's end)."""
    root = ET.Element("Chapters")
    edition = ET.SubElement(root, "EditionEntry")
    ends = [c.start_ms for c in chapters[1:]] + [to_ms(duration_s)]
    for chapter, end_ms in zip(chapters, ends, strict=True):
        atom = ET.SubElement(edition, "ChapterAtom")
        ET.SubElement(atom, "ChapterTimeStart").text = _timestamp(chapter.start_ms)
        ET.SubElement(atom, "ChapterTimeEnd").text = _timestamp(max(end_ms, chapter.start_ms))
        display = ET.SubElement(atom, "ChapterDisplay")
        ET.SubElement(display, "ChapterString").text = chapter.title
        ET.SubElement(display, "ChapterLanguage").text = "und"
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode")


def _timestamp(ms: int) -> str:
    hours, rest = divmod(ms, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    seconds, millis = divmod(rest, 1000)
    return f"{hours:02d}:{minutes:02d}:{seconds:02d}.{millis:03d}000000"


def looks_ours(chapters: Sequence[Chapter]) -> bool:
    return bool(chapters) and {c.title for c in chapters} <= _OUR_TITLES


class MatroskaPublisher:
    kind = "matroska"

    def __init__(self, name: str, options: MatroskaOptions, *, jellyfin: JellyfinApi | None = None) -> None:
        self.name = name
        self.options = options
        self._jellyfin = jellyfin  # asked to re-probe the item and run its segment scan after a change

    def probe(self) -> None:
        self._run([self.options.mkvpropedit, "--version"], what="mkvpropedit --version")

    def push(self, episode: EpisodeRef, intro: Intro | None) -> PushResult:
        path = episode.path
        if path.suffix.lower() != ".mkv":
            return PushResult(self.name, PushAction.SKIPPED, f"{path.name} is not Matroska")
        current = read_chapters(path)
        ours = looks_ours(current)
        if intro is None:
            if not current or not ours:
                return PushResult(self.name, PushAction.UNCHANGED, "no chapters of ours")
            self._write(path, None, episode.duration_s)
            return self._refreshed(episode, PushAction.REMOVED, file_changed=True)
        wanted = wanted_chapters(intro, episode.duration_s)
        if current == wanted:
            # Rewriting would change the mtime and make every server re-probe the file for nothing.
            return self._refreshed(episode, PushAction.UNCHANGED)
        if current and not ours and not self.options.overwrite_chapters:
            raise ForeignFileError(
                f"matroska target '{self.name}': {path} has its own chapters "
                f"({', '.join(c.title for c in current[:4])}...); set overwrite_chapters = true to replace them"
            )
        self._write(path, wanted, episode.duration_s)
        action = PushAction.REPLACED if current else PushAction.CREATED
        return self._refreshed(episode, action, file_changed=True)

    def _write(self, path: Path, chapters: Sequence[Chapter] | None, duration_s: float) -> None:
        if chapters is None:
            self._run([self.options.mkvpropedit, str(path), "--chapters", ""], what=f"removing chapters of {path}")
            return
        with tempfile.NamedTemporaryFile("w", suffix=".xml", encoding="utf-8") as xml_file:
            xml_file.write(chapters_xml(chapters, duration_s))
            xml_file.flush()
            command = [self.options.mkvpropedit, str(path), "--chapters", xml_file.name]
            self._run(command, what=f"writing chapters to {path}")

    def _run(self, command: list[str], *, what: str) -> None:
        label = f"matroska target '{self.name}'"
        try:
            done = subprocess.run(command, capture_output=True, text=True, timeout=_MKVPROPEDIT_TIMEOUT_S, check=False)
        except FileNotFoundError:
            raise PermanentPublishError(f"{label}: {command[0]} not found; {_INSTALL_HINT}") from None
        except subprocess.TimeoutExpired:
            raise TransientPublishError(f"{label}: {what}: no answer in {_MKVPROPEDIT_TIMEOUT_S:g} s") from None
        if done.returncode > 1:  # 1 means warnings only; the file was still written
            said = (done.stdout + done.stderr).strip().splitlines()
            raise PermanentPublishError(f"{label}: {what} failed: {' '.join(said[-3:])}")

    def _refreshed(self, episode: EpisodeRef, action: PushAction, *, file_changed: bool = False) -> PushResult:
        if self._jellyfin is None:
            return PushResult(self.name, action, str(episode.path), file_changed)
        # Also when unchanged: that is how a push whose refresh failed last time gets its refresh now.
        self._jellyfin.run(episode, self._jellyfin.refresh_item)
        self._jellyfin.run_segment_scan()
        return PushResult(self.name, action, f"{episode.path}; Jellyfin asked to re-read it", file_changed)


KIND = Kind(parse=_parse, build=_build, check=_check)

"""Matroska chapters, written in place with `mkvpropedit` (no remux): opt-in, since it changes media files.

A chapter per segment, `Recap`, `Opening` (the intro), `Ending` (the credits), `Preview`, and the story between
them: `Cold Open` before the intro, `Episode` anywhere else. Names that the chapter-skipping tools players use act on
as wanted (see `OPENING`). Jellyfin's official Chapter Segments Provider turns each into a media segment that ends
where the next chapter starts, hence a story chapter after each. Matroska chapters have no "final" credits. We only
ever replace chapter sets that look like ours (this version's names or the earlier `Prologue`/`Intro`/`Episode`),
unless `overwrite_chapters` says otherwise.
"""

from __future__ import annotations

import atexit
import itertools
import logging
import subprocess
import tempfile
import threading
import time
import weakref
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

import av

from daemon.config_reader import ConfigError, Table
from daemon.publish.base import EpisodeRef, PushAction, PushResult, outcome, pushed, to_ms
from daemon.publish.errors import (
    ForeignFileError,
    PermanentPublishError,
    PublishError,
    TransientPublishError,
)
from daemon.publish.jellyfin import JellyfinApi, JellyfinOptions
from daemon.publish.options import Kind, Sources, Wiring
from detector.result import SEGMENT_KINDS, Segment

log = logging.getLogger(__name__)

# Players and plugins act on chapter *names*. What each one's defaults match (our names are checked against these
# patterns in tests/daemon/publish/test_chapter_names.py, and played by mpv in test_mpv_chapters.py):
# - mpv, po5/chapterskip (chapterskip.lua at b268253, 2022-09-08; case-sensitive Lua patterns): categories
#   prologue "^Prologue/^Intro", opening "^OP/ OP$/^Opening", ending "^ED/ ED$/^Ending", preview "Preview$"; it
#   skips the categories the user lists in `skip=` (none by default; its README's example: `skip=opening;ending`).
# - mpv, Eisa01/mpv-scripts SmartSkip.lua 1.3.4 (b9e6374, 2025-06-21): the same categories, but prologue
#   unanchored "Prologue", ending also "Credits Start", preview "PV/ PV$/^Preview/Preview Start"; it skips
#   "opening;ending;preview" out of the box (autoskip_chapter = true).
# - Jellyfin, jellyfin/jellyfin-plugin-chapter-segments v4 (Configuration/PluginConfiguration.cs at be21d11; .NET
#   regexes, IgnoreCase, unanchored, Intro tried first): Intro "intro|opening|^OP$", Commercial
#   "break|ad|advertisement|intermission|advert|commercial", Preview "preview|next time on|next on|sneak peek",
#   Recap "recap|last time on|last on|previously on", Outro "outro|closing|credits|ending|^ED$".
# - Jellyfin, intro-skipper/intro-skipper's chapter analyser (IntroSkipper/Configuration/PluginConfiguration.cs,
#   branch 10.10 at 64e517d, 2024-12-23; IgnoreCase): Introduction
#   "(^|\s)(Intro|Introduction|OP|Opening)(?!\sEnd)(\s|$)", credits "(^|\s)(Credits?|ED|Ending|Outro)...",
#   preview "...|Extra|Teaser|Trailer...", recap "...|Prev(ious(ly)?)?|(Last|Earlier)(\s\w+)?|..."; later
#   versions also Commercial "(^|\s)(Ad(vert(isement)?)?|Commercial|Intermission)...".
# So the intro is `Opening`: the "opening" category of both mpv scripts, the plugin's Intro, Intro Skipper's
# Introduction, and in no "prologue" category (the old `Intro` sat with `Prologue` in chapterskip's "prologue":
# skipping prologues lost the cold open too, skipping openings skipped nothing). What precedes it is `Cold Open`,
# matched by none of the above: not "Prologue" or "Teaser", no "ad", no "OP"/"ED" in capitals, "Open" is not
# "Opening". So no skip category swallows the scene before the theme. `Episode` is matched by none either.
# The credits are `Ending`, not "Credits": the "ending" category of both mpv scripts ("Credits" is in none of
# chapterskip's), the plugin's Outro, Intro Skipper's credits. `Preview`: the "preview" category of both, the
# plugin's Preview, Intro Skipper's preview (not its recap: "Prev" must end the word there). `Recap`: the plugin's
# Recap, Intro Skipper's recap; neither mpv script has a recap category (a user adds one, e.g. chapterskip's
# `categories=recap>^Recap`), and no other category of theirs takes it, so a recap is never skipped as something else.
COLD_OPEN, OPENING, EPISODE = "Cold Open", "Opening", "Episode"
RECAP, ENDING, PREVIEW = "Recap", "Ending", "Preview"
CHAPTER_NAME = {"recap": RECAP, "intro": OPENING, "credits": ENDING, "preview": PREVIEW}
_STORY = {COLD_OPEN, EPISODE}
# Names written by versions before these: still ours, so those files are rewritten, not refused as foreign.
_OLD_COLD_OPEN, _OLD_OPENING = "Prologue", "Intro"
_MKVPROPEDIT_TIMEOUT_S = 120.0  # it rewrites only the header area, but a busy NAS can be slow
# Jellyfin's only way to run segment providers (Chapter Segments Provider included) is its "Media Segment Scan"
# task, over the whole library (MediaSegmentExtractionTask.cs, 10.10 to 12.0): an item refresh re-reads the file's
# chapters but runs no segment provider. So each push refreshes its item, and one scan serves every push of a
# batch: it starts this long after the latest refresh (the refresh is queued in Jellyfin, the scan must find it
# done), at the latest this long after the first one.
SCAN_DELAY_S = 60.0
SCAN_MAX_WAIT_S = 600.0
_INSTALL_HINT = "install mkvtoolnix (Debian/Ubuntu: `apt install mkvtoolnix`) or set `mkvpropedit` to its path"


@dataclass(frozen=True)
class MatroskaOptions:
    mkvpropedit: str = "mkvpropedit"
    overwrite_chapters: bool = False  # replace chapters the daemon did not write
    refresh_jellyfin: str | None = None  # name of a jellyfin target to re-probe the item and run its segment scan
    kinds: tuple[str, ...] = SEGMENT_KINDS


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


def wanted_chapters(segments: Iterable[Segment], duration_s: float) -> list[Chapter]:
    """A chapter per segment, in time order, and one for the story in each gap: `Cold Open` before the intro,
    `Episode` elsewhere. A segment that starts inside the one before it starts where that one ends."""
    ordered = sorted(segments, key=lambda s: (s.start_s, SEGMENT_KINDS.index(s.kind)))
    intro_ms = next((to_ms(s.start_s) for s in ordered if s.kind == "intro"), None)
    end_ms = to_ms(duration_s)
    chapters: list[Chapter] = []
    at = 0  # where the story resumes
    for segment in ordered:
        start, end = max(to_ms(segment.start_s), at), min(to_ms(segment.end_s), end_ms)
        if end <= start:
            continue
        if start > at:
            chapters.append(Chapter(at, COLD_OPEN if intro_ms is not None and start <= intro_ms else EPISODE))
        chapters.append(Chapter(start, CHAPTER_NAME[segment.kind]))
        at = end
    if chapters and at < end_ms:
        chapters.append(Chapter(at, EPISODE))
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
    """Chapters laid out as `wanted_chapters` lays them out, or as earlier versions did (`[Prologue,] Intro[,
    Episode]`): from 0, only our names, at least one segment, never two story chapters in a row, `Cold Open` only
    before the one `Opening`, `Episode` only after it. A release's own "Prologue / Opening / Episode" mixes the two
    generations and is not ours."""
    if not chapters or chapters[0].start_ms != 0:
        return False
    titles = tuple(c.title for c in chapters)
    old = (_OLD_COLD_OPEN, _OLD_OPENING)
    if titles in (old, (*old, EPISODE), (_OLD_OPENING,), (_OLD_OPENING, EPISODE)):
        return True
    if not set(titles) <= _STORY | set(CHAPTER_NAME.values()) or set(titles) <= _STORY:
        return False
    if any(a in _STORY and b in _STORY for a, b in itertools.pairwise(titles)):
        return False
    if titles.count(OPENING) > 1:
        return False
    opening = titles.index(OPENING) if OPENING in titles else None
    for n, title in enumerate(titles):
        if title == COLD_OPEN and (opening is None or n > opening):
            return False
        if title == EPISODE and opening is not None and n < opening:
            return False
    return True


class SegmentScans:
    """One Jellyfin "Media Segment Scan" for a batch of refreshed items, run on a timer thread `delay_s` after the
    latest `want()`, at most `max_wait_s` after the first. A failure is logged (the push itself is done, and the
    task also runs every 12 h on Jellyfin's own schedule). `flush()` runs a pending scan now; it runs at exit too
    (`intro-daemon push`), but the daemon's stop skips exit handlers and leaves a pending scan to that schedule."""

    def __init__(
        self,
        jellyfin: JellyfinApi,
        *,
        delay_s: float = SCAN_DELAY_S,
        max_wait_s: float = SCAN_MAX_WAIT_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._jellyfin = jellyfin
        self._delay_s = delay_s
        self._max_wait_s = max_wait_s
        self._clock = clock
        self._lock = threading.Lock()
        self._first: float | None = None  # when the pending batch's first refresh was, None: nothing pending
        self._latest = 0.0
        self._timer: threading.Timer | None = None
        self._last_error: str | None = None
        self.runs = 0  # scans asked for
        _ALL_SCANS.add(self)

    def want(self) -> None:
        with self._lock:
            self._latest = self._clock()
            if self._first is None:
                self._first = self._latest
                self._start_timer(self._delay_s)

    def flush(self) -> None:
        with self._lock:
            pending, self._first = self._first is not None, None
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None
        if pending:
            self._scan()

    def _start_timer(self, wait_s: float) -> None:
        self._timer = threading.Timer(wait_s, self._fire)
        self._timer.name = f"segment-scan-{self._jellyfin.name}"
        self._timer.daemon = True
        self._timer.start()

    def _fire(self) -> None:
        with self._lock:
            if self._first is None:
                return
            wait = min(self._latest + self._delay_s, self._first + self._max_wait_s) - self._clock()
            if wait > 0:
                self._start_timer(wait)
                return
            self._first, self._timer = None, None
        self._scan()

    def _scan(self) -> None:
        try:
            self._jellyfin.run_segment_scan()
        except PublishError as error:
            if str(error) != self._last_error:
                log.warning("%s; the chapters become segments at Jellyfin's next scheduled scan", error)
                self._last_error = str(error)
            return
        except Exception:
            log.exception("%s: starting the Media Segment Scan failed unexpectedly", self._jellyfin.http.label)
            return
        self._last_error = None
        self.runs += 1
        log.info("%s: Media Segment Scan started for the chapters just written", self._jellyfin.http.label)


_ALL_SCANS: weakref.WeakSet[SegmentScans] = weakref.WeakSet()


@atexit.register
def _flush_scans() -> None:
    for scans in list(_ALL_SCANS):
        scans.flush()


class MatroskaPublisher:
    kind = "matroska"

    def __init__(
        self,
        name: str,
        options: MatroskaOptions,
        *,
        jellyfin: JellyfinApi | None = None,
        scans: SegmentScans | None = None,
    ) -> None:
        """`jellyfin`: asked to re-read each item whose chapters changed; `scans`: the batched segment scan (by
        default one for `jellyfin`)."""
        self.name = name
        self.options = options
        self.kinds = options.kinds
        self._jellyfin = jellyfin
        self._scans = scans if scans is not None or jellyfin is None else SegmentScans(jellyfin)

    def probe(self) -> None:
        self._run([self.options.mkvpropedit, "--version"], what="mkvpropedit --version")

    def push(self, episode: EpisodeRef, segments: Iterable[Segment]) -> PushResult:
        path = episode.path
        if path.suffix.lower() != ".mkv":
            return PushResult(self.name, PushAction.SKIPPED, f"{path.name} is not Matroska")
        current = read_chapters(path)
        ours = looks_ours(current)
        wanted = wanted_chapters(pushed(segments, self.kinds), episode.duration_s)
        if not wanted:
            if not current or not ours:
                return PushResult(self.name, PushAction.UNCHANGED, "no chapters of ours")
            self._write(path, None, episode.duration_s)
            return self._refreshed(episode, PushAction.REMOVED, file_changed=True)
        if current == wanted:
            # Rewriting would change the mtime and make every server re-probe the file for nothing.
            return self._refreshed(episode, PushAction.UNCHANGED)
        if current and not ours and not self.options.overwrite_chapters:
            raise ForeignFileError(
                f"matroska target '{self.name}': {path} has its own chapters "
                f"({', '.join(c.title for c in current[:4])}...); set overwrite_chapters = true to replace them"
            )
        self._write(path, wanted, episode.duration_s)
        return self._refreshed(episode, outcome(bool(current), True), file_changed=True)

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
        # Also when unchanged: that is how a push whose refresh failed last time gets its refresh now. Only this
        # item is re-read; the library-wide segment scan is shared by the whole batch (see SCAN_DELAY_S).
        self._jellyfin.run(episode, self._jellyfin.refresh_item)
        if self._scans is not None:
            self._scans.want()
        return PushResult(self.name, action, f"{episode.path}; Jellyfin asked to re-read it", file_changed)


KIND = Kind(parse=_parse, build=_build, check=_check)

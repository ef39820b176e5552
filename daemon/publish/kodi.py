"""Kodi: a `<video>.edl` sidecar next to the file.

Checked for Kodi 20.1 "Nexus" (Debian 12's kodi 2:20.1+dfsg-1) in xbmc/xbmc's xbmc/cores/VideoPlayer/Edl.cpp and
VideoPlayer.cpp (Nexus-era sources; the 20.1 binary has the same functions and log lines), and by
tests/daemon/publish/test_kodi_player.py, which plays our file in that Kodi:

- Lines are `start end action`; `##` starts a comment (CEdl::ReadEdl), which is how our files say they are ours: an
  EDL we did not write (Comskip, MCEBuddy, a person) is never overwritten. Times may be seconds, HH:MM:SS.sss or
  #frames; Kodi turns seconds into whole milliseconds with `static_cast<int64_t>(atof(field) * 1000)`, which
  truncates ("1.001" is read as 1000 ms), so a time that would lose its last millisecond gets a 4th decimal 5.
- Actions: 0 cut (gone from the timeline), 1 mute, 2 scene marker (at the second time only), 3 commercial break.
  Action 3 is skipped automatically, once, with a "Commercial" notification and the break's length, when playback
  enters it (CVideoPlayer::CheckAutoSceneSkip; only while an audio and a video stream play in sync); a break at 0 s
  makes playback start at its end unless it resumes (CVideoPlayer::Prepare). Seeking back into it plays it.
- CEdl::MergeShortCommBreaks drops a first commercial break shorter than 5 s (the detector finds no intro that
  short); with `<edl><mergeshortcommbreaks>` on in advancedsettings.xml (off by default) it also widens a break that
  starts in the first 5 min back to 0 s and drops breaks shorter than 90 s.
- Kodi reads sidecars only for local or LAN paths, not for HTTP streams (CEdl::ReadEditDecisionLists), and only one
  edit list per video, the first with edits of: `<video>.Vprj` (VideoReDo), `<video>.edl`, `<video>.txt`
  (Comskip), `<video>.<ext>.chapters.xml` (Beyond TV). We write no .edl next to a VideoReDo project (Kodi would
  not read it) or a Comskip file (ours would hide its commercial breaks).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from daemon.config_reader import Table
from daemon.publish.base import EpisodeRef, PushAction, PushResult
from daemon.publish.errors import ForeignFileError, PermanentPublishError
from daemon.publish.files import write_atomically
from daemon.publish.options import Kind, Sources
from detector.result import Intro

log = logging.getLogger(__name__)

OURS = "## intro-daemon"  # first line of every EDL we write
HEADER = f"{OURS}: intro; replaced when the intro is detected again, removed if it goes away\n"


@dataclass(frozen=True)
class KodiOptions:
    action: int = 3  # 3: commercial break, skipped once automatically; 2: scene marker at the end; 0: cut; 1: mute


def _parse(table: Table, _sources: Sources) -> KodiOptions:
    return KodiOptions(action=table.integer("action", KodiOptions.action, minimum=0, maximum=3))


@dataclass(frozen=True)
class EdlEntry:
    start_s: float
    end_s: float
    action: int


def edl_path(video: Path) -> Path:
    return video.with_suffix(".edl")  # same folder, same base name


def kodi_ms(field: str) -> int:
    """A seconds field as Kodi reads it: `static_cast<int64_t>(std::atof(field) * 1000)` (both round the text to the
    nearest double the same way; the product is truncated)."""
    return int(float(field) * 1000)


def seconds_field(seconds: float) -> str:
    """`seconds` to the millisecond, written so that Kodi reads exactly that millisecond."""
    ms = round(seconds * 1000)
    text = f"{ms // 1000}.{ms % 1000:03d}"
    return text if kodi_ms(text) == ms else text + "5"  # e.g. 1.001 * 1000 is 1000.999...; 1.0015 reads as 1001


def render(intro: Intro, action: int) -> str:
    return f"{HEADER}{seconds_field(intro.start_s)}\t{seconds_field(intro.end_s)}\t{action}\n"


def parse(text: str) -> list[EdlEntry]:
    """Our own lines back, as Kodi reads them (seconds only; Kodi also accepts HH:MM:SS.sss and #frames, which we
    never write)."""
    entries = []
    for line in text.splitlines():
        fields = line.split()
        if len(fields) == 3 and not line.startswith("##"):
            entries.append(EdlEntry(kodi_ms(fields[0]) / 1000, kodi_ms(fields[1]) / 1000, int(fields[2])))
    return entries


def _starts_with(path: Path, header: str) -> bool:
    try:
        with path.open("rb") as handle:
            return handle.read(len(header)) == header.encode()
    except OSError:
        return False


def other_edit_list(video: Path) -> str | None:
    """Why an .edl next to `video` would not do what we want, when another edit list Kodi reads is there."""
    vprj = video.with_suffix(".Vprj")
    if _starts_with(vprj, "<Version>2"):  # CEdl::ReadVideoReDo, tried before the .edl
        return f"Kodi reads the VideoReDo project {vprj} instead of an .edl"
    comskip = video.with_suffix(".txt")
    if _starts_with(comskip, "FILE PROCESSING COMPLETE"):  # CEdl::ReadComskip, tried only when no .edl has edits
        return f"an .edl would hide the commercial breaks of the Comskip file {comskip} from Kodi"
    return None


def is_ours(text: str) -> bool:
    return text.startswith(OURS)


class KodiPublisher:
    kind = "kodi"

    def __init__(self, name: str, options: KodiOptions) -> None:
        self.name = name
        self.options = options

    def probe(self) -> None:
        pass  # nothing to reach; a folder we cannot write shows up on the first push

    def push(self, episode: EpisodeRef, intro: Intro | None) -> PushResult:
        path = edl_path(episode.path)
        try:
            current = path.read_text(encoding="utf-8", errors="replace")
        except FileNotFoundError:
            current = None
        except OSError as error:
            raise PermanentPublishError(f"kodi target '{self.name}': cannot read {path}: {error}") from None
        if current is not None and not is_ours(current):
            raise ForeignFileError(f"kodi target '{self.name}': {path} was not written by intro-daemon; left alone")
        if intro is None:
            if current is None:
                return PushResult(self.name, PushAction.UNCHANGED, str(path))
            path.unlink()
            return PushResult(self.name, PushAction.REMOVED, str(path))
        conflict = other_edit_list(episode.path)
        if conflict is not None:
            if current is not None:
                path.unlink()  # an older one of ours would now be ignored, or hide the other list
            raise ForeignFileError(f"kodi target '{self.name}': {conflict}; no .edl written")
        wanted = render(intro, self.options.action)
        if current == wanted:
            return PushResult(self.name, PushAction.UNCHANGED, str(path))
        try:
            write_atomically(path, wanted, like=episode.path)
        except OSError as error:
            raise PermanentPublishError(f"kodi target '{self.name}': cannot write {path}: {error}") from None
        return PushResult(self.name, PushAction.CREATED if current is None else PushAction.REPLACED, str(path))


KIND = Kind(parse=_parse, build=lambda name, options, _wiring: KodiPublisher(name, options))

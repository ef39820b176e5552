"""Kodi: a `<video>.edl` sidecar next to the file, one line per segment (recap, intro, credits, preview), each with the
action configured for its kind.

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
  makes playback start at its end unless it resumes (CVideoPlayer::Prepare). Seeking back into it plays it. A scene
  marker at a segment's end is a stop for Kodi's "next scene": skipping it is one key press, nothing automatic.
- CEdl::AddEdit (the same in xbmc/xbmc master at 0118096) refuses an edit (0, 1, 3) whose start or end lies inside
  an earlier one, bounds included (CEdl::InEdit): a recap that ends where the intro starts would cost the intro.
  And after a skip Kodi skips nothing until its audio is in sync again (CheckAutoSceneSkip returns while a stream
  is not SYNC_INSYNC), which took longer than a 5 s preview right after the credits under test_kodi_player: that
  preview played. So an edit that touches or overlaps the one before it, with the same action, is written as one
  edit with it (one skip, one notification); with another action it starts 1 ms after it. Scene markers are no
  edits and never collide.
- CEdl::MergeShortCommBreaks drops a first commercial break shorter than 5 s (the detector finds no intro that
  short; a shorter recap at the start is dropped there); with `<edl><mergeshortcommbreaks>` on in
  advancedsettings.xml (off by default) it also merges breaks close together, widens a break that starts in the
  first 5 min back to 0 s and drops breaks shorter than 90 s.
- Kodi reads sidecars only for local or LAN paths, not for HTTP streams (CEdl::ReadEditDecisionLists), and only one
  edit list per video, the first with edits of: `<video>.Vprj` (VideoReDo), `<video>.edl`, `<video>.txt`
  (Comskip), `<video>.<ext>.chapters.xml` (Beyond TV). We write no .edl next to a VideoReDo project (Kodi would
  not read it) or a Comskip file (ours would hide its commercial breaks).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from daemon.config_reader import Table
from daemon.publish.base import EpisodeRef, PushAction, PushResult, outcome, pushed, to_ms
from daemon.publish.errors import ForeignFileError, PermanentPublishError
from daemon.publish.files import write_atomically
from daemon.publish.options import Kind, Sources
from detector.result import SEGMENT_KINDS, Segment

log = logging.getLogger(__name__)

OURS = "## intro-daemon"  # first line of every EDL we write (earlier versions' files start with it too)
HEADER = f"{OURS}: recap, intro, credits, preview; rewritten when they are detected again, removed when none is left\n"
CUT, MUTE, SCENE, COMMERCIAL = 0, 1, 2, 3


@dataclass(frozen=True)
class KodiOptions:
    # Per kind: 3 commercial break (skipped once, by itself), 2 scene marker at its end (a stop for "next scene"),
    # 0 cut, 1 mute. The credits default to a scene marker: skipped by themselves, final credits would end the
    # episode the moment they start, with no say for whoever reads them or waits for a scene after them; a scene
    # marker makes the skip one key press.
    action: int = COMMERCIAL  # the intro's (the only key before the other kinds came)
    recap_action: int = COMMERCIAL
    credits_action: int = SCENE
    preview_action: int = COMMERCIAL
    kinds: tuple[str, ...] = SEGMENT_KINDS

    def action_of(self, kind: str) -> int:
        return self.action if kind == "intro" else int(getattr(self, f"{kind}_action"))


def _parse(table: Table, _sources: Sources) -> KodiOptions:
    def action(key: str, default: int) -> int:
        return table.integer(key, default, minimum=CUT, maximum=COMMERCIAL)

    return KodiOptions(
        action=action("action", KodiOptions.action),
        recap_action=action("recap_action", KodiOptions.recap_action),
        credits_action=action("credits_action", KodiOptions.credits_action),
        preview_action=action("preview_action", KodiOptions.preview_action),
    )


@dataclass(frozen=True)
class EdlEntry:
    start_s: float
    end_s: float
    action: int


def entries(segments: Iterable[Segment], options: KodiOptions) -> list[EdlEntry]:
    """One line per segment, in time order; an edit that touches or overlaps the edit before it is joined to it when
    their actions are the same, else starts 1 ms after it (see CEdl::AddEdit and CVideoPlayer::CheckAutoSceneSkip
    in the module's docstring)."""
    lines: list[EdlEntry] = []
    last_edit: int | None = None  # index in `lines` of the edit that ends last
    edit_end_ms = -1
    for segment in sorted(segments, key=lambda s: (s.start_s, SEGMENT_KINDS.index(s.kind))):
        action = options.action_of(segment.kind)
        start_ms, end_ms = to_ms(segment.start_s), to_ms(segment.end_s)
        if action == SCENE:
            lines.append(EdlEntry(start_ms / 1000, end_ms / 1000, action))
            continue
        if last_edit is not None and start_ms <= edit_end_ms and lines[last_edit].action == action:
            edit_end_ms = max(edit_end_ms, end_ms)
            lines[last_edit] = EdlEntry(lines[last_edit].start_s, edit_end_ms / 1000, action)
            continue
        start_ms = max(start_ms, edit_end_ms + 1)
        if end_ms <= start_ms:
            continue  # inside the edit before it: nothing of it left to skip
        last_edit, edit_end_ms = len(lines), end_ms
        lines.append(EdlEntry(start_ms / 1000, end_ms / 1000, action))
    return lines


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


def render(lines: Sequence[EdlEntry]) -> str:
    return HEADER + "".join(f"{seconds_field(e.start_s)}\t{seconds_field(e.end_s)}\t{e.action}\n" for e in lines)


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
        self.kinds = options.kinds

    def probe(self) -> None:
        pass  # nothing to reach; a folder we cannot write shows up on the first push

    def push(self, episode: EpisodeRef, segments: Iterable[Segment]) -> PushResult:
        path = edl_path(episode.path)
        try:
            current = path.read_text(encoding="utf-8", errors="replace")
        except FileNotFoundError:
            current = None
        except OSError as error:
            raise PermanentPublishError(f"kodi target '{self.name}': cannot read {path}: {error}") from None
        if current is not None and not is_ours(current):
            raise ForeignFileError(f"kodi target '{self.name}': {path} was not written by intro-daemon; left alone")
        lines = entries(pushed(segments, self.kinds), self.options)
        if not lines:
            if current is None:
                return PushResult(self.name, PushAction.UNCHANGED, str(path))
            path.unlink()
            return PushResult(self.name, PushAction.REMOVED, str(path))
        conflict = other_edit_list(episode.path)
        if conflict is not None:
            if current is not None:
                path.unlink()  # an older one of ours would now be ignored, or hide the other list
            raise ForeignFileError(f"kodi target '{self.name}': {conflict}; no .edl written")
        wanted = render(lines)
        if current == wanted:
            return PushResult(self.name, PushAction.UNCHANGED, str(path))
        try:
            write_atomically(path, wanted, like=episode.path)
        except OSError as error:
            raise PermanentPublishError(f"kodi target '{self.name}': cannot write {path}: {error}") from None
        return PushResult(self.name, outcome(current is not None, True), str(path))


KIND = Kind(parse=_parse, build=lambda name, options, _wiring: KodiPublisher(name, options))

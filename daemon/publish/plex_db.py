"""Plex, through its library database: the intro and the credits become server-wide markers, which Plex clients turn
into their "Skip Intro" and "Skip Credits" buttons (credits marked final: where Plex takes the episode as over).
Opt-in (`kind = "plex_db"`): it writes a database Plex owns, which Plex does not support. Plex's markers are intro,
credits and commercial: a recap or a preview has nothing to become, so this kind of target does not take them.

Plex has no route that writes intro markers (`plex.py` says what its `/marker` route gives). Every tool that gives
Plex custom intro/credits markers writes `com.plexapp.plugins.library.db` instead, and so does this one, the same
way (danrahn/MarkerEditorForPlex `Server/PlexQueryManager.js`, cjmanca/plex-credits-detect
`plex-credits-detect/Database/PlexDB.cs`):

- a marker is a `taggings` row pointing at the one `tags` row with `tag_type = 12`: `text` 'intro' or 'credits',
  `time_offset`/`end_time_offset` in ms, `index` its place among the item's markers, `extra_data` as `EXTRA_DATA`
  gives it (MarkerEditor's `ExtraData`, PlexQueryManager.js at 6c38366): JSON since PMS 1.40.0.7775 (all extra_data
  became JSON then), the plain URL-encoded form before, which one read from the rows already there, as MarkerEditor
  does. Credits after which the episode is over carry "pv:final" (MarkerEditor: "goes to the end of the media
  item"; Plex's own final credits carry it): ours when the segment is `final` (nothing but credits follows);
- the item is found by its file: `media_parts.file` -> `media_items` -> `metadata_items` (an episode, type 4);
- `taggings` has no triggers, so any SQLite writes it; `tags` has FTS4 triggers on a table made with Plex's own
  ICU tokenizer, so a row there (the marker tag, missing on a server whose own detection never found an intro)
  can only be written by Plex's "Plex SQLite" (stock SQLite: "unknown tokenizer: collating",
  cjmanca/plex-credits-detect issue #60). With `plex_sqlite` set, every write goes through that binary.

Our rows carry `thumb_url = 'intro-daemon'` (Plex leaves it empty on marker rows; MarkerEditor kept its own
bookkeeping in that column until 2023), so they can be listed, replaced and removed, and no other row is ever
changed. A marker Plex's own detection made is left as it is, and while one of a kind is there ours of that kind is
not added (two intro markers for one episode): we supplement Plex's detection, as plex-credits-detect does. Any
re-analysis by Plex deletes custom markers; the next push of the episode finds ours gone and writes them again.

Safety: the database is copied next to itself once, before the first write (`<name>.before-intro-daemon`); a
write takes SQLite's write lock up front and waits at most `busy_timeout_s` for Plex to release its own, else
the push is retried later (`TransientPublishError`); everything that needs a person says what to do.
"""

from __future__ import annotations

import logging
import os
import re
import sqlite3
import subprocess
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from daemon.config_reader import Table
from daemon.pathmap import PathMap, is_windows_path
from daemon.publish.base import EpisodeRef, PushAction, PushResult, outcome, pushed, to_ms
from daemon.publish.errors import ItemNotFoundError, PermanentPublishError, TransientPublishError
from daemon.publish.options import Kind, Sources
from detector.result import Segment

log = logging.getLogger(__name__)

OURS = "intro-daemon"  # taggings.thumb_url of every row we write
MARKER_TAG_TYPE = 12  # tags.tag_type of Plex's one marker tag
EPISODE_TYPE = 4  # metadata_items.metadata_type of episodes
INTRO, CREDITS = "intro", "credits"  # taggings.text of the markers we write (Plex's third kind is 'commercial')
REPRESENTS = (INTRO, CREDITS)
# taggings.extra_data per (text, final): (PMS >= 1.40.0.7775, older); MarkerEditorForPlex Server/PlexQueryManager.js
# `ExtraData` at 6c38366 (intro, credits, final credits).
EXTRA_DATA = {
    (INTRO, False): ('{"pv:version":"5","url":"pv%3Aversion=5"}', "pv%3Aversion=5"),
    (CREDITS, False): ('{"pv:version":"4","url":"pv%3Aversion=4"}', "pv%3Aversion=4"),
    (CREDITS, True): (
        '{"pv:final":"1","pv:version":"4","url":"pv%3Afinal=1&pv%3Aversion=4"}',
        "pv%3Afinal=1&pv%3Aversion=4",
    ),
}
EXTRA_DATA_JSON, EXTRA_DATA_LEGACY = EXTRA_DATA[(INTRO, False)]  # an intro's
BACKUP_SUFFIX = ".before-intro-daemon"
PLEX_SQLITE_HINT = (
    'set plex_sqlite to the "Plex SQLite" binary installed with Plex Media Server (Linux: '
    '"/usr/lib/plexmediaserver/Plex SQLite"; Windows: "C:\\Program Files\\Plex\\Plex Media Server\\Plex SQLite.exe"; '
    'macOS: "/Applications/Plex Media Server.app/Contents/MacOS/Plex SQLite")'
)
DATABASE_HINT = (
    "com.plexapp.plugins.library.db in Plex's data folder, under Plug-in Support/Databases (Linux: /var/lib/"
    "plexmediaserver/Library/Application Support/Plex Media Server/Plug-in Support/Databases/)"
)
_NEEDS_PLEX_SQLITE = re.compile(r"unknown tokenizer|no such collation sequence|no such module", re.IGNORECASE)
_BUSY = re.compile(r"database is locked|database table is locked|database is busy", re.IGNORECASE)

# The marker tag, as MarkerEditor tells its users to create it with Plex SQLite; only when there is none.
_CREATE_MARKER_TAG = (
    "INSERT INTO tags (tag_type, created_at, updated_at) "
    "SELECT 12, strftime('%s','now'), strftime('%s','now') WHERE NOT EXISTS (SELECT 1 FROM tags WHERE tag_type = 12)"
)
_MARKER_TAG = "(SELECT MIN(id) FROM tags WHERE tag_type = 12)"
# Columns as MarkerEditor writes them (its #addMarkerStatement). The plan is decided before the write (outside the
# transaction when Plex SQLite writes), so each insert says how many of ours of its kind the item may hold before
# it: another writer in between (the service and `intro-daemon push`) cannot make two.
_INSERT = (
    'INSERT INTO taggings (metadata_item_id, tag_id, "index", text, time_offset, end_time_offset, thumb_url, '
    "created_at, extra_data) "
    f'SELECT ?, {_MARKER_TAG}, COALESCE((SELECT MAX("index") FROM taggings WHERE metadata_item_id = ? AND tag_id = '
    f"{_MARKER_TAG}), -1) + 1, ?, ?, ?, '{OURS}', strftime('%s','now'), ? "
    f"WHERE (SELECT COUNT(*) FROM taggings WHERE metadata_item_id = ? AND thumb_url = '{OURS}' AND tag_id = "
    f"{_MARKER_TAG} AND text = ?) < ?"
)
_UPDATE = (
    f"UPDATE taggings SET time_offset = ?, end_time_offset = ?, extra_data = ? WHERE id = ? AND thumb_url = '{OURS}'"
)
_DELETE = f"DELETE FROM taggings WHERE id = ? AND thumb_url = '{OURS}'"

# What the publisher reads, per table: a database without these is not one it knows how to write.
_NEEDED_COLUMNS = {
    "taggings": {"id", "metadata_item_id", "tag_id", "index", "text", "time_offset", "end_time_offset", "thumb_url",
                 "created_at", "extra_data"},
    "tags": {"id", "tag_type"},
    "media_parts": {"media_item_id", "file", "deleted_at"},
    "media_items": {"id", "metadata_item_id"},
    "metadata_items": {"id", "metadata_type"},
}  # fmt: skip


@dataclass(frozen=True)
class PlexDbOptions:
    database: Path  # com.plexapp.plugins.library.db
    plex_sqlite: Path | None = None  # Plex's own SQLite shell; every write goes through it when set
    path_map: PathMap = field(default_factory=PathMap)
    busy_timeout_s: float = 5.0  # how long a write waits for Plex's write lock before it is retried later
    # Plex's re-analysis of an item (also when a new episode joins its season) deletes custom markers: every
    # pushed episode is pushed again this often, which writes back only what is gone. 0: never.
    reapply_hours: float = 6.0
    kinds: tuple[str, ...] = REPRESENTS


def _parse(table: Table, sources: Sources) -> PlexDbOptions:
    return PlexDbOptions(
        database=table.required_path("database"),
        plex_sqlite=table.path("plex_sqlite", None),
        path_map=sources.path_map,
        busy_timeout_s=table.number("busy_timeout_s", PlexDbOptions.busy_timeout_s, minimum=0.0, maximum=600.0),
        reapply_hours=table.number("reapply_hours", PlexDbOptions.reapply_hours, minimum=0.0),
    )


@dataclass(frozen=True)
class Marker:
    id: int
    metadata_item_id: int
    text: str  # intro, credits
    start_ms: int
    end_ms: int
    extra_data: str | None
    ours: bool


Statement = tuple[str, tuple[object, ...]]


class PlexDbPublisher:
    kind = "plex_db"

    def __init__(self, name: str, options: PlexDbOptions) -> None:
        self.name = name
        self.options = options
        self.kinds = options.kinds
        self.label = f"plex_db target '{name}'"
        self.reapply_s = options.reapply_hours * 3600.0 or None  # read by the push service (daemon/publish/pusher.py)
        self._written: dict[int, frozenset[str]] = {}  # item -> the kinds of ours last seen or written there

    @property
    def backup_path(self) -> Path:
        database = self.options.database
        return database.with_name(database.name + BACKUP_SUFFIX)

    def probe(self) -> None:
        with self._connection() as db:
            self._check_schema(db)
            tag = _marker_tag(db)
            ours = len(self.markers(db=db))
        if tag is None and self.options.plex_sqlite is None:
            raise PermanentPublishError(self._no_marker_tag())
        log.info(
            "%s: %s, %d marker(s) of ours, extra_data as for PMS %s",
            self.label,
            self.options.database,
            ours,
            "1.40 or newer" if self._extra_data_json() else "older than 1.40",
        )

    def push(self, episode: EpisodeRef, segments: Iterable[Segment]) -> PushResult:
        wanted = pushed(segments, self.kinds)
        server_path = self.options.path_map.to_server(episode.path)
        with self._connection() as db:
            items = self._items(db, server_path)
            plan, action, detail, kept = self._plan(db, items, wanted)
        if plan:
            if plan[0][0] == _CREATE_MARKER_TAG and self.options.plex_sqlite is None:
                raise PermanentPublishError(self._no_marker_tag())
            self._backup_once()
            if self.options.plex_sqlite is not None:
                self._write_with_plex_sqlite(plan, self.options.plex_sqlite)  # each statement guards itself
            else:
                with self._write_transaction() as db:
                    plan, action, detail, kept = self._plan(db, items, wanted)  # again, under the write lock
                    self._execute(db, plan)
        for item in items:  # what is there now, to tell a marker Plex deleted from one never written
            self._written[item] = kept[item]
        return PushResult(self.name, action, f"{server_path}: {detail}")

    # Reading

    def markers(self, *, db: sqlite3.Connection | None = None) -> list[Marker]:
        """Every marker of ours in the database (what `remove_all` would delete)."""
        if db is None:
            with self._connection() as own:
                return self.markers(db=own)
        rows = db.execute(
            "SELECT id, metadata_item_id, text, time_offset, end_time_offset, extra_data FROM taggings "
            f"WHERE thumb_url = ? AND tag_id = {_MARKER_TAG} ORDER BY metadata_item_id, id",
            (OURS,),
        ).fetchall()
        return [Marker(r[0], r[1], r[2], r[3], r[4], r[5], ours=True) for r in rows]

    def _items(self, db: sqlite3.Connection, server_path: str) -> list[int]:
        """The episodes whose file is `server_path` (a file in two libraries is two items)."""
        query = (
            "SELECT DISTINCT metadata_items.id FROM media_parts "
            "JOIN media_items ON media_items.id = media_parts.media_item_id "
            "JOIN metadata_items ON metadata_items.id = media_items.metadata_item_id "
            "WHERE media_parts.file = ? {collate} AND media_parts.deleted_at IS NULL AND metadata_items.metadata_type = ?"
        )
        collate = "COLLATE NOCASE" if is_windows_path(server_path) else ""  # Windows paths: case-insensitive
        items = [r[0] for r in db.execute(query.format(collate=collate), (server_path, EPISODE_TYPE)).fetchall()]
        if not items:
            raise ItemNotFoundError(
                f"{self.label}: no episode with the file {server_path} in Plex's database (not scanned yet, or "
                "the path map does not give the path Plex sees)"
            )
        return items

    def _item_markers(self, db: sqlite3.Connection, item: int) -> list[Marker]:
        """The item's intro and credits markers, Plex's and ours, in time order."""
        rows = db.execute(
            "SELECT id, text, time_offset, end_time_offset, extra_data, thumb_url FROM taggings "
            f"WHERE metadata_item_id = ? AND text IN (?, ?) AND tag_id = {_MARKER_TAG} ORDER BY time_offset, id",
            (item, *REPRESENTS),
        ).fetchall()
        return [Marker(r[0], item, r[1], r[2], r[3], r[4], ours=r[5] == OURS) for r in rows]

    def _extra_data_json(self, db: sqlite3.Connection | None = None) -> bool:
        """PMS 1.40.0.7775 made every extra_data column JSON: read which from a marker, else from a media part."""
        if db is None:
            with self._connection() as own:
                return self._extra_data_json(own)
        for query in (
            f"SELECT extra_data FROM taggings WHERE tag_id = {_MARKER_TAG} AND COALESCE(thumb_url, '') != '{OURS}' "
            "AND extra_data != '' LIMIT 1",
            "SELECT extra_data FROM media_parts WHERE extra_data != '' LIMIT 1",
        ):
            row = db.execute(query).fetchone()
            if row and row[0]:
                return str(row[0]).startswith("{")
        return True  # nothing to go by: MarkerEditor assumes 1.40 or newer too

    def _check_schema(self, db: sqlite3.Connection) -> None:
        for table, needed in _NEEDED_COLUMNS.items():
            have = {r[1] for r in db.execute(f'PRAGMA table_info("{table}")')}
            missing = sorted(needed - have)
            if missing:
                raise PermanentPublishError(
                    f"{self.label}: {self.options.database} has no {table}({', '.join(missing)}): not Plex's "
                    f"library database ({DATABASE_HINT}), or a Plex Media Server version whose schema this daemon "
                    "does not know (it follows PMS 1.4x); nothing was written"
                )

    # Deciding

    def _plan(
        self, db: sqlite3.Connection, items: Sequence[int], segments: Sequence[Segment]
    ) -> tuple[list[Statement], PushAction, str, dict[int, frozenset[str]]]:
        """The statements for all `items`, what they do, and per item the kinds of ours there afterwards."""
        plan: list[Statement] = []
        kept: dict[int, frozenset[str]] = {}
        actions: list[PushAction] = []
        details: list[str] = []
        json_form = self._extra_data_json(db)
        for item in items:
            statements, action, detail, kept[item] = self._plan_item(
                self._item_markers(db, item), item, segments, json_form
            )
            plan += statements
            actions.append(action)
            details.append(detail)
        if plan and _marker_tag(db) is None:
            plan.insert(0, (_CREATE_MARKER_TAG, ()))
        action = next((a for a in actions if a is not PushAction.UNCHANGED), PushAction.UNCHANGED)
        return plan, action, "; ".join(details), kept

    def _plan_item(
        self, markers: list[Marker], item: int, segments: Sequence[Segment], json_form: bool
    ) -> tuple[list[Statement], PushAction, str, frozenset[str]]:
        """What to write for one item, what that is, and the kinds of ours there afterwards. Per kind, ours are
        matched to the segments in time order: updated in place, the missing inserted, the extra deleted. Ours of a
        kind the set lacks (or the target no longer takes) go."""
        plan: list[Statement] = []
        said: list[str] = []
        after: set[str] = set()
        skipped = False
        written = self._written.get(item, frozenset())
        for kind in REPRESENTS:
            ours = [m for m in markers if m.ours and m.text == kind]
            plex = [m for m in markers if not m.ours and m.text == kind]
            rows = [
                (
                    to_ms(s.start_s),
                    to_ms(s.end_s),
                    EXTRA_DATA[(kind, kind == CREDITS and s.final)][0 if json_form else 1],
                )
                for s in segments
                if s.kind == kind
            ]
            if rows and plex:
                # Plex's own detection found one (perhaps in a re-analysis that deleted ours): it stays, alone.
                plan += [(_DELETE, (m.id,)) for m in ours]
                times = ", ".join(f"{m.start_ms / 1000:.1f}-{m.end_ms / 1000:.1f} s" for m in plex)
                replaced = "; Plex's analysis replaced ours" if kind in written and not ours else ""
                said.append(f"has Plex's own {kind} marker ({times}){replaced}, left as it is")
                skipped = True
                continue
            changes: list[Statement] = [(_DELETE, (m.id,)) for m in ours[len(rows) :]]
            for n, (start_ms, end_ms, extra_data) in enumerate(rows):
                if n < len(ours):
                    if (ours[n].start_ms, ours[n].end_ms, ours[n].extra_data) != (start_ms, end_ms, extra_data):
                        changes.append((_UPDATE, (start_ms, end_ms, extra_data, ours[n].id)))
                else:
                    changes.append((_INSERT, (item, item, kind, start_ms, end_ms, extra_data, item, kind, n + 1)))
            plan += changes
            if rows:
                after.add(kind)
            if not ours and rows:
                again = " again (ours had gone: Plex re-analysed the item?)" if kind in written else ""
                said.append(f"{kind} marker written{again}")
            elif ours and not rows:
                said.append(f"{kind} marker removed")
            elif rows:
                said.append(f"{kind} marker {'replaced' if changes else 'as it was'}")
        before = any(m.ours for m in markers)
        if plan:
            action = outcome(before, bool(after))
        else:
            action = PushAction.SKIPPED if skipped and not after else PushAction.UNCHANGED
        return plan, action, f"item {item}, {'; '.join(said) or 'no markers'}", frozenset(after)

    # Undoing

    def remove_all(self) -> int:
        """Delete every marker of ours (and nothing else); returns how many. Backs up first, like a push."""
        with self._connection() as db:
            ours = self.markers(db=db)
        if ours:
            self._backup_once()
            plan: list[Statement] = [(_DELETE, (m.id,)) for m in ours]
            if self.options.plex_sqlite is not None:
                self._write_with_plex_sqlite(plan, self.options.plex_sqlite)
            else:
                with self._write_transaction() as db:
                    self._execute(db, plan)
        self._written.clear()
        return len(ours)

    # Writing

    @contextmanager
    def _write_transaction(self) -> Iterator[sqlite3.Connection]:
        """SQLite's write lock up front (or busy, after `busy_timeout_s`: retried later); all or nothing."""
        with self._connection() as db:
            db.execute("BEGIN IMMEDIATE")
            try:
                yield db
            except BaseException:
                db.execute("ROLLBACK")
                raise
            db.execute("COMMIT")

    @staticmethod
    def _execute(db: sqlite3.Connection, plan: Sequence[Statement]) -> None:
        for sql, params in plan:
            db.execute(sql, params)

    def _write_with_plex_sqlite(self, plan: Sequence[Statement], binary: Path) -> None:
        timeout_ms = round(self.options.busy_timeout_s * 1000)
        lines = [f"PRAGMA busy_timeout = {timeout_ms};", "BEGIN IMMEDIATE;"]
        lines += [_render(sql, params) + ";" for sql, params in plan]
        lines.append("COMMIT;")
        command = [str(binary), "-bail", str(self.options.database), "\n".join(lines)]
        try:
            done = subprocess.run(
                command, capture_output=True, text=True, timeout=self.options.busy_timeout_s + 60, check=False
            )
        except FileNotFoundError:
            raise PermanentPublishError(f"{self.label}: {binary} not found; {PLEX_SQLITE_HINT}") from None
        except PermissionError:
            raise PermanentPublishError(f"{self.label}: {binary} is not executable by this user") from None
        except subprocess.TimeoutExpired:
            raise TransientPublishError(f"{self.label}: Plex SQLite did not finish writing in time") from None
        said = " ".join((done.stderr or done.stdout).split())
        if done.returncode == 0 and not said.lower().startswith(("error", "parse error", "runtime error")):
            return
        if _BUSY.search(said):
            raise TransientPublishError(self._busy())
        raise PermanentPublishError(f"{self.label}: Plex SQLite could not write: {said[:300]}; nothing was changed")

    def _backup_once(self) -> None:
        """A copy of the whole database next to it, made with SQLite's backup API before the first write ever."""
        target = self.backup_path
        if target.exists():
            return
        partial = target.with_name(target.name + ".partial")
        try:
            with self._connection() as db:
                copy = sqlite3.connect(partial)
                try:
                    db.backup(copy)
                    copy.execute("PRAGMA journal_mode = DELETE")  # one self-contained file, whatever Plex's mode
                finally:
                    copy.close()
            os.replace(partial, target)
        except OSError as error:
            partial.unlink(missing_ok=True)
            raise PermanentPublishError(
                f"{self.label}: cannot back up Plex's database to {target} ({error.strerror or error}): the folder "
                "must be writable by this user and have room for a copy; nothing was written"
            ) from None
        except sqlite3.Error:
            partial.unlink(missing_ok=True)
            raise
        log.warning("%s: Plex's database backed up to %s before its first change", self.label, target)

    # Connecting

    @contextmanager
    def _connection(self) -> Iterator[sqlite3.Connection]:
        """A connection in autocommit mode (writes take their own transaction); SQLite errors become ours."""
        path = self.options.database
        if not path.is_file():
            raise PermanentPublishError(
                f"{self.label}: no Plex database at {path}; set database to {DATABASE_HINT}, on the machine that "
                "runs Plex (a copy over the network will not do: SQLite's locks do not work there)"
            )
        if not os.access(path, os.R_OK | os.W_OK) or not os.access(path.parent, os.W_OK | os.X_OK):
            raise PermanentPublishError(
                f"{self.label}: this user cannot write {path} and its folder (SQLite keeps its journal there); "
                "run the daemon as Plex's user (often 'plex') or give it write access to both"
            )
        try:
            db = sqlite3.connect(
                f"{path.resolve().as_uri()}?mode=rw",
                uri=True,
                timeout=self.options.busy_timeout_s,
                isolation_level=None,
            )
        except sqlite3.Error as error:
            raise self._error(error) from None
        try:
            yield db
        except sqlite3.Error as error:
            raise self._error(error) from None
        finally:
            db.close()

    def _error(self, error: sqlite3.Error) -> Exception:
        message = str(error)
        if _BUSY.search(message) or getattr(error, "sqlite_errorcode", None) in (sqlite3.SQLITE_BUSY, 6):
            return TransientPublishError(self._busy())
        if _NEEDS_PLEX_SQLITE.search(message):
            return PermanentPublishError(
                f"{self.label}: this write needs Plex's own SQLite ({message}: Plex's database uses an ICU "
                f"tokenizer and collation only its SQLite has); {PLEX_SQLITE_HINT}; nothing was written"
            )
        if "readonly" in message or "read-only" in message:
            return PermanentPublishError(
                f"{self.label}: {self.options.database} is read-only to this user ({message}); give it write access "
                "to the file and its folder, or run the daemon as Plex's user"
            )
        if "no such table" in message or "no such column" in message:
            return PermanentPublishError(
                f"{self.label}: {message}: not Plex's library database ({DATABASE_HINT}), or a PMS version whose "
                "schema this daemon does not know; nothing was written"
            )
        return PermanentPublishError(
            f"{self.label}: Plex's database {self.options.database}: {message} (damaged, or not a SQLite "
            f"database? Plex keeps dated backups next to it, and so does this daemon: {self.backup_path.name})"
        )

    def _busy(self) -> str:
        return (
            f"{self.label}: Plex's database is busy (Plex Media Server is writing to it); waited "
            f"{self.options.busy_timeout_s:g} s, will try again"
        )

    def _no_marker_tag(self) -> str:
        return (
            f"{self.label}: Plex's database has no marker tag yet (a tags row with tag_type 12, made the first "
            "time Plex's own intro detection finds an intro; it needs Plex Pass). Creating it needs Plex's own "
            f"SQLite: {PLEX_SQLITE_HINT}; or let Plex detect intros in one show once"
        )


def _marker_tag(db: sqlite3.Connection) -> int | None:
    row = db.execute(f"SELECT {_MARKER_TAG}").fetchone()
    return None if row is None or row[0] is None else int(row[0])


def _render(sql: str, params: Sequence[object]) -> str:
    """`sql` with its `?` replaced by SQL literals, for a SQLite shell (ours hold no `?` inside a string)."""
    parts = sql.split("?")
    if len(parts) != len(params) + 1:
        raise ValueError(f"{len(params)} parameters for {len(parts) - 1} placeholders")
    out = [parts[0]]
    for value, part in zip(params, parts[1:], strict=True):
        out.append(_literal(value) + part)
    return "".join(out)


def _literal(value: object) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise TypeError(f"no SQL literal for {type(value).__name__}")
    if isinstance(value, int):
        return str(value)
    return "'" + value.replace("'", "''") + "'"


KIND = Kind(
    parse=_parse,
    build=lambda name, options, _wiring: PlexDbPublisher(name, options),
    represents=REPRESENTS,
    cannot="Plex's markers are intro, credits and commercial: none for a recap or a preview",
)

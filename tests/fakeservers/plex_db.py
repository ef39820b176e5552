"""Plex Media Server's library database (`com.plexapp.plugins.library.db`), built from Plex's own schema: the tables
and columns the `plex_db` publisher reads or writes, and what makes stock SQLite fail on Plex's database.

The CREATE TABLE statements are those danrahn/MarkerEditorForPlex keeps for its tests, taken with `.schema` from
a real database (`Test/TestHelpers.js`, `getCreateTables()`, commit 6c38366324a1b5f4da9cc1eb69a7c7ed1ea634f5,
Aug 2025), cut down to the columns needed here, types as there; `taggings` and `tags` whole.

What MarkerEditor leaves out ("minus triggers, minus nonstandard collate") is added back, because that is the
pitfall: Plex's `tags` table has FTS4 triggers feeding `fts4_tag_titles_icu`, a table made with Plex's own ICU
tokenizer (`tokenize=collating 'root@colStrength=primary;colAlternate=shifted'`), and `metadata_items` has an index
in Plex's `icu_root` collation. Stock SQLite cannot make either (it says "unknown tokenizer: collating" and "no such
collation sequence: icu_root"), so the FTS table's schema row is written with `writable_schema`, and the index is
made while a stand-in `icu_root` collation is registered. From then on, as on a real Plex database, any INSERT into
`tags` fails outside Plex's own SQLite (the trigger is prepared before its WHEN is looked at: cjmanca/plex-credits-
detect issue #60 shows that failure on a real one), while `taggings`, which has no trigger, takes rows from any
SQLite (MarkerEditor and plex-credits-detect write it with stock SQLite libraries). The triggers follow the form of
Plex's metadata_items ones quoted in Saoneth/plex-custom-audio `cmd/Plex Custom Audio Mapper/mapper.go` (9bf4ae3)
and dakusan/PlexPlaylistImporter issue #18.

`FAKE_PLEX_SQLITE` stands in for the "Plex SQLite" shell: it runs the script it is given like `sqlite3 -bail`, with
the tags triggers lifted for the length of the transaction, since a stock SQLite cannot load Plex's tokenizer.
"""

from __future__ import annotations

import sqlite3
import sys
from collections.abc import Iterator
from contextlib import closing, contextmanager
from pathlib import Path
from typing import Any

# taggings.extra_data as Plex writes it, PMS >= 1.40 (MarkerEditorForPlex Server/PlexQueryManager.js `ExtraData` at
# 6c38366: Intro, Credits, CreditsFinal, "goes to the end of the media item"), and before 1.40 (`ExtraData.Legacy`)
INTRO_EXTRA_DATA = '{"pv:version":"5","url":"pv%3Aversion=5"}'
CREDITS_EXTRA_DATA = '{"pv:version":"4","url":"pv%3Aversion=4"}'
FINAL_CREDITS_EXTRA_DATA = '{"pv:final":"1","pv:version":"4","url":"pv%3Afinal=1&pv%3Aversion=4"}'
LEGACY_INTRO_EXTRA_DATA = "pv%3Aversion=5"
LEGACY_FINAL_CREDITS_EXTRA_DATA = "pv%3Afinal=1&pv%3Aversion=4"

# From MarkerEditorForPlex Test/TestHelpers.js (6c38366): taggings and tags as there, the others cut down.
SCHEMA = """
CREATE TABLE IF NOT EXISTS "taggings" (
    "id" INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    "metadata_item_id" integer,
    "tag_id" integer,
    "index" integer,
    "text" varchar(255),
    "time_offset" integer,
    "end_time_offset" integer,
    "thumb_url" varchar(255),
    "created_at" dt_integer(8),
    'extra_data' varchar(255));
CREATE INDEX "index_taggings_on_metadata_item_id" ON "taggings" ("metadata_item_id" );
CREATE INDEX "index_taggings_on_tag_id" ON "taggings" ("tag_id" );
CREATE TABLE IF NOT EXISTS "tags" ("id" INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL, "metadata_item_id" integer,
    "tag" varchar(255) COLLATE NOCASE, "tag_type" integer, "user_thumb_url" varchar(255), "user_art_url" varchar(255),
    "user_music_url" varchar(255), "created_at" datetime, "updated_at" datetime, "tag_value" integer,
    'extra_data' varchar(255), 'key' varchar(255), 'parent_id' integer);
CREATE INDEX "index_tags_on_tag_type" ON "tags" ("tag_type" );
CREATE TABLE IF NOT EXISTS "metadata_items" ("id" INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    "library_section_id" integer, "parent_id" integer, "metadata_type" integer, "guid" varchar(255),
    "title" varchar(255), "title_sort" varchar(255) COLLATE NOCASE, "original_title" varchar(255), "index" integer,
    "duration" integer, "deleted_at" dt_integer(8));
CREATE INDEX "index_metadata_items_on_metadata_type" ON "metadata_items" ("metadata_type" );
CREATE TABLE IF NOT EXISTS "media_items" ("id" INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    "library_section_id" integer, "section_location_id" integer, "metadata_item_id" integer, "duration" integer,
    "deleted_at" dt_integer(8), "extra_data" varchar(255));
CREATE INDEX "index_media_items_on_metadata_item_id" ON "media_items" ("metadata_item_id" );
CREATE TABLE IF NOT EXISTS "media_parts" ("id" INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL, "media_item_id" integer,
    "directory_id" integer, "hash" varchar(255), "file" varchar(255), "index" integer, "size" integer(8),
    "duration" integer, "created_at" dt_integer(8), "updated_at" dt_integer(8), "deleted_at" dt_integer(8),
    "extra_data" varchar(255));
CREATE INDEX "index_media_parts_on_media_item_id" ON "media_parts" ("media_item_id" );
CREATE INDEX "index_media_parts_on_file" ON "media_parts" ("file" );
"""

ICU_TOKENIZER = "collating 'root@colStrength=primary;colAlternate=shifted'"
FTS_TABLE = f"CREATE VIRTUAL TABLE fts4_tag_titles_icu USING fts4(tag, tokenize={ICU_TOKENIZER})"
TAG_TRIGGERS = """
CREATE TRIGGER fts4_tag_titles_before_delete_icu BEFORE DELETE ON tags BEGIN
    DELETE FROM fts4_tag_titles_icu WHERE docid=old.rowid; END;
CREATE TRIGGER fts4_tag_titles_after_insert_icu AFTER INSERT ON tags WHEN new.tag_type IN (0,1,2,4,6,207,400) BEGIN
    INSERT INTO fts4_tag_titles_icu(docid, tag) VALUES(new.rowid, new.tag); END;
"""
ICU_INDEX = 'CREATE INDEX "index_title_sort_icu" ON "metadata_items" ("title_sort" COLLATE icu_root)'
SHOW, SEASON, EPISODE = 2, 3, 4


def _icu_stand_in(a: str, b: str) -> int:
    return (a.casefold() > b.casefold()) - (a.casefold() < b.casefold())


class FakePlexDb:
    def __init__(self, path: Path, *, marker_tag: bool = True) -> None:
        """A library with one show and season; `marker_tag`: the tags row of markers (tag_type 12) exists, as on a
        server whose own intro detection has found an intro once."""
        self.path = path
        with closing(sqlite3.connect(path)) as db:
            db.execute("PRAGMA journal_mode = WAL")  # as Plex runs it
            db.executescript(SCHEMA)
            db.create_collation("icu_root", _icu_stand_in)
            db.execute(ICU_INDEX)
            db.execute("INSERT INTO tags (tag, tag_type) VALUES ('Drama', 1)")
            if marker_tag:
                db.execute("INSERT INTO tags (tag_type, created_at, updated_at) VALUES (12, 1700000000, 1700000000)")
            db.execute("INSERT INTO metadata_items (library_section_id, metadata_type, title) VALUES (1, 2, 'Show')")
            db.execute("INSERT INTO metadata_items (library_section_id, parent_id, metadata_type) VALUES (1, 1, 3)")
            db.execute("PRAGMA writable_schema = ON")
            db.execute(
                "INSERT INTO sqlite_master (type, name, tbl_name, rootpage, sql) "
                "VALUES ('table', 'fts4_tag_titles_icu', 'fts4_tag_titles_icu', 0, ?)",
                (FTS_TABLE,),
            )
            db.execute("PRAGMA writable_schema = OFF")
            db.commit()
        with self.connect() as db:  # a new connection reads the schema with the FTS table in it
            db.executescript(TAG_TRIGGERS)

    @contextmanager
    def connect(self) -> Iterator[sqlite3.Connection]:
        """Plex's own connection, as far as stock SQLite goes: the `icu_root` collation, not the tokenizer."""
        db = sqlite3.connect(self.path, timeout=0.1)
        db.create_collation("icu_root", _icu_stand_in)
        try:
            with db:
                yield db
        finally:
            db.close()

    def add_episode(self, file: str, *, metadata_type: int = EPISODE, deleted: bool = False) -> int:
        """An item with one media item and one part (`file` as Plex sees it); returns its id (the ratingKey)."""
        with self.connect() as db:
            item = db.execute(
                "INSERT INTO metadata_items (library_section_id, parent_id, metadata_type, title) VALUES (1, 2, ?, ?)",
                (metadata_type, Path(file).stem),
            ).lastrowid
            media = db.execute(
                "INSERT INTO media_items (library_section_id, metadata_item_id) VALUES (1, ?)", (item,)
            ).lastrowid
            db.execute(
                "INSERT INTO media_parts (media_item_id, file, extra_data, deleted_at) VALUES (?, ?, ?, ?)",
                (media, file, '{"ma:container":"mkv","url":"ma%3Acontainer=mkv"}', 1700000000 if deleted else None),
            )
        assert item is not None
        return item

    def marker_tag(self) -> int | None:
        with self.connect() as db:
            row = db.execute("SELECT id FROM tags WHERE tag_type = 12").fetchone()
        return None if row is None else int(row[0])

    def add_plex_marker(
        self, item: int, start_ms: int, end_ms: int, *, text: str = "intro", extra_data: str | None = None
    ) -> int:
        """A marker from Plex's own detection: thumb_url empty, index after the item's others."""
        if extra_data is None:
            extra_data = INTRO_EXTRA_DATA if text == "intro" else CREDITS_EXTRA_DATA
        tag = self.marker_tag()
        with self.connect() as db:
            (index,) = db.execute(
                'SELECT COALESCE(MAX("index"), -1) + 1 FROM taggings WHERE metadata_item_id = ? AND tag_id = ?',
                (item, tag),
            ).fetchone()
            marker = db.execute(
                'INSERT INTO taggings (metadata_item_id, tag_id, "index", text, time_offset, end_time_offset, '
                "thumb_url, created_at, extra_data) VALUES (?, ?, ?, ?, ?, ?, '', 1700000000, ?)",
                (item, tag, index, text, start_ms, end_ms, extra_data),
            ).lastrowid
        assert marker is not None
        return marker

    def reanalyse(
        self, item: int, *, intro: tuple[int, int] | None = None, credits: tuple[int, int] | None = None
    ) -> None:
        """What Plex's analysis of an item does to markers: all of them go, and what it detected comes back."""
        with self.connect() as db:
            db.execute("DELETE FROM taggings WHERE metadata_item_id = ? AND tag_id = ?", (item, self.marker_tag()))
        if intro is not None:
            self.add_plex_marker(item, *intro)
        if credits is not None:
            self.add_plex_marker(item, *credits, text="credits")

    def markers(self, item: int | None = None) -> list[dict[str, Any]]:
        """Every marker row (of `item`), all columns."""
        with self.connect() as db:
            db.row_factory = sqlite3.Row
            rows = db.execute(
                "SELECT * FROM taggings WHERE tag_id = (SELECT id FROM tags WHERE tag_type = 12) "
                "AND (? IS NULL OR metadata_item_id = ?) ORDER BY id",
                (item, item),
            ).fetchall()
        return [dict(r) for r in rows]

    def triggers(self) -> list[str]:
        with self.connect() as db:
            return [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'trigger' ORDER BY name")]

    @contextmanager
    def write_lock(self) -> Iterator[None]:
        """Plex Media Server in the middle of a write: it holds the database's write lock."""
        db = sqlite3.connect(self.path, isolation_level=None)
        try:
            db.execute("BEGIN IMMEDIATE")
            yield
            db.execute("ROLLBACK")
        finally:
            db.close()


FAKE_PLEX_SQLITE = """
import sqlite3, sys
from pathlib import Path

args = [a for a in sys.argv[1:] if a != "-bail"]
database, script = args
Path(sys.argv[0]).with_suffix(".calls").open("a").write(database + "\\n")
db = sqlite3.connect(database, isolation_level=None)
triggers = db.execute("SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'tags'").fetchall()
lift = "".join(f"DROP TRIGGER {name};" for name, _ in triggers)
put_back = "".join(sql + ";" for _, sql in triggers)
script = script.replace("BEGIN IMMEDIATE;", "BEGIN IMMEDIATE;" + lift, 1).replace("COMMIT;", put_back + "COMMIT;")
try:
    db.executescript(script)
except sqlite3.Error as error:
    print(f"Runtime error near line 2: {error} ({error.sqlite_errorcode})", file=sys.stderr)
    sys.exit(1)
"""


def fake_plex_sqlite(folder: Path) -> Path:
    """An executable "Plex SQLite"; each call appends the database's path to `<it>.calls`."""
    script = folder / "plex_sqlite_fake.py"
    script.write_text(FAKE_PLEX_SQLITE)
    binary = folder / "Plex SQLite"
    binary.write_text(f'#!/bin/sh\nexec "{sys.executable}" "{script}" "$@"\n')
    binary.chmod(0o755)
    return binary


def calls(binary: Path) -> list[str]:
    log = binary.parent / "plex_sqlite_fake.calls"
    return log.read_text().splitlines() if log.exists() else []

"""The plex_db publisher against a database built from Plex's schema (tests/fakeservers/plex_db.py): our rows
created, kept, replaced and removed; Plex's own markers never touched; what a re-analysis deleted written again;
Plex's write lock waited out then retried; a missing, read-only or foreign database refused with what to do; one
backup before the first write; the tokenizer that stock SQLite lacks, and "Plex SQLite" for what needs it."""

from __future__ import annotations

import dataclasses
import os
import sqlite3
from contextlib import closing
from pathlib import Path

import pytest

from daemon.config import TargetConfig
from daemon.config_reader import ConfigError
from daemon.pathmap import PathMap
from daemon.publish.base import EpisodeRef, PushAction
from daemon.publish.config import parse_options
from daemon.publish.errors import ItemNotFoundError, PermanentPublishError, TransientPublishError
from daemon.publish.plex_db import (
    BACKUP_SUFFIX,
    EXTRA_DATA_JSON,
    EXTRA_DATA_LEGACY,
    OURS,
    PlexDbOptions,
    PlexDbPublisher,
)
from detector.result import Intro
from tests.daemon.publish.segments import CREDITS, EVERY_KIND, INTRO, RECAP, WITHOUT_CREDITS, intro
from tests.fakeservers.plex_db import (
    CREDITS_EXTRA_DATA,
    FINAL_CREDITS_EXTRA_DATA,
    INTRO_EXTRA_DATA,
    LEGACY_FINAL_CREDITS_EXTRA_DATA,
    LEGACY_INTRO_EXTRA_DATA,
    FakePlexDb,
    calls,
    fake_plex_sqlite,
)

MAP = PathMap.from_pairs([("/mnt/tv", "/data/tv")])
E1, E2, E3 = (EpisodeRef(Path(f"/mnt/tv/Show/S01E0{n}.mkv"), 1500.0) for n in (1, 2, 3))


def server_file(episode: EpisodeRef) -> str:
    return str(episode.path).replace("/mnt/tv", "/data/tv")


@pytest.fixture
def plex(tmp_path: Path) -> FakePlexDb:
    return FakePlexDb(tmp_path / "com.plexapp.plugins.library.db")


@pytest.fixture(params=["stock", "plex_sqlite"])
def writer(request: pytest.FixtureRequest, tmp_path: Path) -> Path | None:
    """Writes through Python's SQLite, or (with `plex_sqlite` set) through the "Plex SQLite" shell."""
    return fake_plex_sqlite(tmp_path) if request.param == "plex_sqlite" else None


def publisher(plex: FakePlexDb, plex_sqlite: Path | None = None, **options: float) -> PlexDbPublisher:
    return PlexDbPublisher("plex", PlexDbOptions(plex.path, plex_sqlite=plex_sqlite, path_map=MAP, **options))


def ours(plex: FakePlexDb, item: int | None = None) -> list[dict[str, object]]:
    return [m for m in plex.markers(item) if m["thumb_url"] == OURS]


def test_created_unchanged_replaced_removed(plex: FakePlexDb, writer: Path | None) -> None:
    item = plex.add_episode(server_file(E1))
    credits = plex.add_plex_marker(item, 1_400_000, 1_500_000, text="credits")
    target = publisher(plex, writer)
    target.probe()

    result = target.push(E1, intro(12.345, 70.0, 0.9))
    assert result.action is PushAction.CREATED and server_file(E1) in result.detail and "again" not in result.detail
    [row] = ours(plex, item)
    assert (row["text"], row["time_offset"], row["end_time_offset"]) == ("intro", 12_345, 70_000)
    assert row["extra_data"] == EXTRA_DATA_JSON and row["tag_id"] == plex.marker_tag()
    assert row["index"] == 1 and isinstance(row["created_at"], int)  # after Plex's credits (index 0)

    assert target.push(E1, intro(12.345, 70.0, 0.9)).action is PushAction.UNCHANGED
    assert ours(plex, item) == [row]

    assert target.push(E1, intro(20.0, 80.5, 0.9)).action is PushAction.REPLACED
    [replaced] = ours(plex, item)
    assert (replaced["id"], replaced["time_offset"], replaced["end_time_offset"]) == (row["id"], 20_000, 80_500)

    assert target.push(E1, ()).action is PushAction.REMOVED
    assert ours(plex) == [] and [m["id"] for m in plex.markers(item)] == [credits]
    assert target.push(E1, ()).action is PushAction.UNCHANGED
    assert target.markers() == []
    if writer is not None:
        assert len(calls(writer)) == 3  # created, replaced, removed; nothing for what was unchanged


def test_plex_own_intro_marker_is_never_touched(plex: FakePlexDb, writer: Path | None) -> None:
    item = plex.add_episode(server_file(E3))
    plex.add_plex_marker(item, 5_000, 50_000)
    before = plex.markers(item)
    target = publisher(plex, writer)

    result = target.push(E3, intro(6.0, 52.0, 0.9))
    assert result.action is PushAction.SKIPPED and "Plex's own intro marker (5.0-50.0 s)" in result.detail
    assert target.push(E3, ()).action is PushAction.UNCHANGED
    assert target.remove_all() == 0
    assert plex.markers(item) == before
    assert not Path(str(plex.path) + BACKUP_SUFFIX).exists()  # nothing was written, so nothing backed up


def test_markers_a_reanalysis_deleted_are_written_again(plex: FakePlexDb, writer: Path | None) -> None:
    e1, e2 = plex.add_episode(server_file(E1)), plex.add_episode(server_file(E2))
    target = publisher(plex, writer)
    assert target.push(E1, intro(10.0, 60.0, 0.9)).action is PushAction.CREATED
    assert target.push(E2, intro(11.0, 61.0, 0.9)).action is PushAction.CREATED

    # Plex analyses both again: custom markers go; it finds credits in one and its own intro in the other.
    plex.reanalyse(e1, credits=(1_400_000, 1_490_000))
    plex.reanalyse(e2, intro=(9_000, 59_000))
    assert ours(plex) == []

    again = target.push(E1, intro(10.0, 60.0, 0.9))
    assert again.action is PushAction.CREATED and "again" in again.detail
    [row] = ours(plex, e1)
    assert (row["time_offset"], row["end_time_offset"], row["index"]) == (10_000, 60_000, 1)
    replaced = target.push(E2, intro(11.0, 61.0, 0.9))
    assert replaced.action is PushAction.SKIPPED and "Plex's analysis replaced ours" in replaced.detail
    assert [(m["thumb_url"], m["time_offset"]) for m in plex.markers(e2)] == [("", 9_000)]


def test_a_fresh_publisher_rewrites_what_a_reanalysis_deleted(plex: FakePlexDb) -> None:
    """The daemon restarted in between: nothing remembered, the marker is still written again."""
    item = plex.add_episode(server_file(E1))
    publisher(plex).push(E1, intro(10.0, 60.0, 0.9))
    plex.reanalyse(item)
    assert publisher(plex).push(E1, intro(10.0, 60.0, 0.9)).action is PushAction.CREATED
    assert len(ours(plex, item)) == 1


def test_plex_holding_the_write_lock_is_transient(plex: FakePlexDb, writer: Path | None) -> None:
    item = plex.add_episode(server_file(E1))
    target = publisher(plex, writer, busy_timeout_s=0.2)
    with plex.write_lock(), pytest.raises(TransientPublishError, match=r"busy .*will try again"):
        target.push(E1, intro(10.0, 60.0, 0.9))
    assert ours(plex) == []
    retry = target.push(E1, intro(10.0, 60.0, 0.9))
    assert retry.action is PushAction.CREATED and "again" not in retry.detail
    assert len(ours(plex, item)) == 1


def test_one_backup_before_the_first_write(plex: FakePlexDb) -> None:
    plex.add_episode(server_file(E1))
    plex.add_episode(server_file(E2))
    backup = Path(str(plex.path) + BACKUP_SUFFIX)
    target = publisher(plex)
    target.push(E1, ())  # nothing to do: no backup
    assert not backup.exists()

    target.push(E1, intro(10.0, 60.0, 0.9))
    assert backup.exists() and target.backup_path == backup
    with sqlite3.connect(backup) as copy:  # the database as it was before: a whole SQLite file, no marker of ours
        assert copy.execute("SELECT COUNT(*) FROM media_parts").fetchone() == (2,)
        assert copy.execute("SELECT COUNT(*) FROM taggings WHERE thumb_url = ?", (OURS,)).fetchone() == (0,)
    made = backup.stat().st_mtime_ns, backup.read_bytes()

    target.push(E2, intro(10.0, 60.0, 0.9))
    target.push(E1, intro(12.0, 60.0, 0.9))
    publisher(plex).push(E1, ())
    assert (backup.stat().st_mtime_ns, backup.read_bytes()) == made
    assert sorted(p.name for p in plex.path.parent.iterdir() if "before" in p.name) == [backup.name]


def test_missing_database_says_where_it_is(tmp_path: Path) -> None:
    target = PlexDbPublisher("plex", PlexDbOptions(tmp_path / "nope.db", path_map=MAP))
    for attempt in (target.probe, lambda: target.push(E1, intro(1.0, 2.0, 0.9))):
        with pytest.raises(PermanentPublishError, match=r"no Plex database at .*nope\.db; set database to .*Databases"):
            attempt()
    assert list(tmp_path.iterdir()) == []  # no empty database made in its place


def test_read_only_database_says_what_access_is_needed(plex: FakePlexDb, monkeypatch: pytest.MonkeyPatch) -> None:
    plex.add_episode(server_file(E1))
    plex.path.chmod(0o444)
    if os.geteuid() == 0:  # root may write anything: the check sees what the daemon's own user would
        monkeypatch.setattr("daemon.publish.plex_db.os.access", lambda path, mode: Path(path) != plex.path)
    try:
        with pytest.raises(PermanentPublishError, match=r"cannot write .* run the daemon as Plex's user"):
            publisher(plex).push(E1, intro(1.0, 2.0, 0.9))
    finally:
        plex.path.chmod(0o644)
    assert ours(plex) == []


def test_a_database_that_is_not_plexs_is_refused(tmp_path: Path) -> None:
    other = tmp_path / "other.db"
    with sqlite3.connect(other) as db:
        db.execute("CREATE TABLE taggings (id INTEGER PRIMARY KEY)")
    target = PlexDbPublisher("plex", PlexDbOptions(other, path_map=MAP))
    with pytest.raises(PermanentPublishError, match=r"has no taggings\(.*not Plex's library database.*PMS"):
        target.probe()
    with pytest.raises(PermanentPublishError, match=r"no such table: .*not Plex's library database"):
        target.push(E1, intro(1.0, 2.0, 0.9))
    not_sqlite = tmp_path / "notes.txt"
    not_sqlite.write_text("not a database" * 100)
    with pytest.raises(PermanentPublishError, match="not a database"):
        PlexDbPublisher("plex", PlexDbOptions(not_sqlite)).probe()


def test_unknown_file_is_item_not_found(plex: FakePlexDb) -> None:
    plex.add_episode(server_file(E1), deleted=True)  # Plex keeps parts of deleted files, marked deleted
    with pytest.raises(ItemNotFoundError, match=r"no episode with the file /data/tv/Show/S01E01\.mkv"):
        publisher(plex).push(E1, intro(1.0, 2.0, 0.9))


def test_windows_server_paths_match_whatever_their_case(plex: FakePlexDb) -> None:
    item = plex.add_episode("D:\\TV\\Show\\S01E01.mkv")
    target = PlexDbPublisher("plex", PlexDbOptions(plex.path, path_map=PathMap.from_pairs([("/mnt/tv", "d:\\tv")])))
    assert target.push(E1, intro(1.0, 2.0, 0.9)).action is PushAction.CREATED
    assert len(ours(plex, item)) == 1


def test_extra_data_follows_the_servers_version(tmp_path: Path) -> None:
    """Before PMS 1.40 extra_data was a URL-encoded string: read from Plex's own markers, written the same way."""
    plex = FakePlexDb(tmp_path / "old.db")
    first, second = plex.add_episode(server_file(E1)), plex.add_episode(server_file(E2))
    plex.add_plex_marker(first, 5_000, 50_000, extra_data=LEGACY_INTRO_EXTRA_DATA)
    target = publisher(plex)
    target.probe()
    target.push(E2, intro(1.0, 2.0, 0.9))
    assert [m["extra_data"] for m in ours(plex, second)] == [EXTRA_DATA_LEGACY]


def test_remove_all_takes_only_ours(plex: FakePlexDb) -> None:
    e1, e2, e3 = (plex.add_episode(server_file(e)) for e in (E1, E2, E3))
    plex.add_plex_marker(e3, 5_000, 50_000)
    plex.add_plex_marker(e1, 1_400_000, 1_500_000, text="credits")
    target = publisher(plex)
    target.push(E1, intro(1.0, 2.0, 0.9))
    target.push(E2, intro(1.0, 2.0, 0.9))
    assert [m.metadata_item_id for m in target.markers()] == [e1, e2]
    foreign = [m for m in plex.markers() if m["thumb_url"] != OURS]
    assert target.remove_all() == 2
    assert plex.markers() == foreign and target.markers() == []


# Plex's tokenizer: what stock SQLite cannot do, and "Plex SQLite"


def test_stock_sqlite_cannot_insert_into_plexs_tags_but_can_into_taggings(plex: FakePlexDb) -> None:
    """The fixture's pitfall is Plex's: a trigger on `tags` names a table with Plex's ICU tokenizer."""
    with closing(sqlite3.connect(plex.path)) as db:
        with pytest.raises(sqlite3.OperationalError, match="unknown tokenizer: collating"):
            db.execute("INSERT INTO tags (tag_type) VALUES (12)")
        with pytest.raises(sqlite3.OperationalError, match="no such collation sequence: icu_root"):
            db.execute("UPDATE metadata_items SET title_sort = 'x'")
        db.execute("INSERT INTO taggings (metadata_item_id, tag_id, text) VALUES (1, 1, 'intro')")
        db.execute("SELECT * FROM metadata_items JOIN media_items ON media_items.metadata_item_id = metadata_items.id")


def test_no_marker_tag_without_plex_sqlite_is_refused_with_what_to_do(tmp_path: Path) -> None:
    plex = FakePlexDb(tmp_path / "library.db", marker_tag=False)
    plex.add_episode(server_file(E1))
    target = publisher(plex)
    for attempt in (target.probe, lambda: target.push(E1, intro(1.0, 2.0, 0.9))):
        with pytest.raises(PermanentPublishError, match=r"no marker tag yet .*set plex_sqlite to .*Plex SQLite"):
            attempt()
    assert plex.marker_tag() is None and plex.markers() == []
    assert not Path(str(plex.path) + BACKUP_SUFFIX).exists()
    assert target.push(E1, ()).action is PushAction.UNCHANGED  # nothing to write needs no tag


def test_plex_sqlite_creates_the_marker_tag(tmp_path: Path) -> None:
    plex = FakePlexDb(tmp_path / "library.db", marker_tag=False)
    item = plex.add_episode(server_file(E1))
    triggers = plex.triggers()
    binary = fake_plex_sqlite(tmp_path)
    target = publisher(plex, binary)
    target.probe()
    assert target.push(E1, intro(1.0, 2.0, 0.9)).action is PushAction.CREATED
    assert plex.marker_tag() is not None and len(ours(plex, item)) == 1
    assert plex.triggers() == triggers and calls(binary) == [str(plex.path)]
    assert Path(str(plex.path) + BACKUP_SUFFIX).exists()


def test_a_write_only_plex_sqlite_can_make_is_refused_without_it(plex: FakePlexDb) -> None:
    """Should Plex ever give `taggings` a trigger of that kind, the stock write fails whole and says why."""
    item = plex.add_episode(server_file(E1))
    with plex.connect() as db:
        db.execute(
            "CREATE TRIGGER t AFTER INSERT ON taggings BEGIN "
            "INSERT INTO fts4_tag_titles_icu(docid, tag) VALUES(new.rowid, new.text); END"
        )
    with pytest.raises(PermanentPublishError, match=r"needs Plex's own SQLite .*unknown tokenizer.*set plex_sqlite"):
        publisher(plex).push(E1, intro(1.0, 2.0, 0.9))
    assert plex.markers(item) == []


def test_missing_plex_sqlite_binary_says_where_it_is(plex: FakePlexDb, tmp_path: Path) -> None:
    plex.add_episode(server_file(E1))
    with pytest.raises(PermanentPublishError, match=r"not found; set plex_sqlite to .*/usr/lib/plexmediaserver"):
        publisher(plex, tmp_path / "nope").push(E1, intro(1.0, 2.0, 0.9))


# Config


def test_options_from_the_config(tmp_path: Path) -> None:
    target = TargetConfig(
        name="plexdb",
        kind="plex_db",
        options={"database": "plex/library.db", "plex_sqlite": "/usr/lib/plexmediaserver/Plex SQLite"},
        path_maps=MAP,
    )
    options = parse_options(target, environ={}, base=tmp_path)
    assert options == PlexDbOptions(
        tmp_path / "plex/library.db", plex_sqlite=Path("/usr/lib/plexmediaserver/Plex SQLite"), path_map=MAP
    )
    with pytest.raises(ConfigError, match=r"targets\.plexdb\.database"):
        parse_options(TargetConfig(name="plexdb", kind="plex_db", options={}), environ={})


def test_markers_a_re_analysis_wiped_are_written_back_by_the_next_run_after_reapply_hours(
    plex: FakePlexDb, tmp_path: Path
) -> None:
    from datetime import UTC, datetime, timedelta

    from daemon.publish.pusher import PushService
    from tests.fakeservers.db import make_db, store_result

    item = plex.add_episode("/data/tv/Show/e1.mkv")
    sessions = make_db(tmp_path)
    store_result(sessions, Path("/mnt/tv/Show/e1.mkv"), Intro(5.0, 35.0, 0.9), ["plex"])
    clock = [datetime(2026, 12, 4, 12, 0, tzinfo=UTC)]
    service = PushService(sessions, [publisher(plex, reapply_hours=6.0)], clock=lambda: clock[0])
    assert [r.state for r in service.run_due()] == ["done"]
    plex.reanalyse(item, credits=(1_400_000, 1_450_000))  # Plex's analysis: ours is gone
    assert ours(plex, item) == []
    clock[0] += timedelta(hours=5)
    assert service.run_due() == []  # not yet: nothing is asked of the database before reapply_hours
    clock[0] += timedelta(hours=2)
    assert [r.state for r in service.run_due()] == ["done"]
    assert [(m["time_offset"], m["end_time_offset"]) for m in ours(plex, item)] == [(5000, 35000)]
    assert [m["text"] for m in plex.markers(item) if m["thumb_url"] != OURS] == ["credits"]


# Every kind: Plex has intro and credits markers (credits "final" when nothing but credits follows)


def rows_of(plex: FakePlexDb, item: int) -> list[tuple[object, ...]]:
    return [(m["text"], m["time_offset"], m["end_time_offset"], m["extra_data"]) for m in ours(plex, item)]


def test_the_intro_and_the_final_credits_become_plex_markers_once(plex: FakePlexDb, writer: Path | None) -> None:
    item = plex.add_episode(server_file(E1))
    target = publisher(plex, writer)
    assert target.push(E1, EVERY_KIND).action is PushAction.CREATED
    assert rows_of(plex, item) == [
        ("intro", 60_500, 120_250, INTRO_EXTRA_DATA),
        ("credits", 1_380_000, 1_460_000, FINAL_CREDITS_EXTRA_DATA),  # what Plex's own final credits carry
    ]
    assert [m["index"] for m in ours(plex, item)] == [0, 1]
    assert {m["text"] for m in plex.markers(item)} == {"intro", "credits"}  # no recap or preview row: Plex has none

    written = len(calls(writer)) if writer else 0
    assert target.push(E1, EVERY_KIND).action is PushAction.UNCHANGED
    assert (len(calls(writer)) if writer else 0) == written  # nothing written the second time

    [intro_row, _] = ours(plex, item)
    result = target.push(E1, WITHOUT_CREDITS)
    assert result.action is PushAction.REPLACED and "credits marker removed" in result.detail
    assert [m["id"] for m in ours(plex, item)] == [intro_row["id"]]  # the intro's row untouched

    not_final = (RECAP, INTRO, dataclasses.replace(CREDITS, final=False))
    assert target.push(E1, not_final).action is PushAction.REPLACED
    assert rows_of(plex, item)[1] == ("credits", 1_380_000, 1_460_000, CREDITS_EXTRA_DATA)
    assert target.push(E1, ()).action is PushAction.REMOVED and ours(plex) == []


def test_plex_own_credits_keep_ours_out_and_the_intro_still_goes(plex: FakePlexDb) -> None:
    item = plex.add_episode(server_file(E1))
    own = plex.add_plex_marker(item, 1_385_000, 1_460_000, text="credits", extra_data=FINAL_CREDITS_EXTRA_DATA)
    result = publisher(plex).push(E1, EVERY_KIND)
    assert result.action is PushAction.CREATED
    assert "has Plex's own credits marker (1385.0-1460.0 s), left as it is" in result.detail
    assert [m["text"] for m in ours(plex, item)] == ["intro"]
    assert [m["id"] for m in plex.markers(item) if m["text"] == "credits"] == [own]


def test_final_credits_in_the_old_extra_data_form(tmp_path: Path) -> None:
    plex = FakePlexDb(tmp_path / "old.db")
    first, second = plex.add_episode(server_file(E1)), plex.add_episode(server_file(E2))
    plex.add_plex_marker(first, 5_000, 50_000, extra_data=LEGACY_INTRO_EXTRA_DATA)
    publisher(plex).push(E2, EVERY_KIND)
    assert [m["extra_data"] for m in ours(plex, second)] == [EXTRA_DATA_LEGACY, LEGACY_FINAL_CREDITS_EXTRA_DATA]


def test_a_target_for_intros_only_writes_no_credits_and_takes_its_old_ones_off(plex: FakePlexDb) -> None:
    item = plex.add_episode(server_file(E1))
    publisher(plex).push(E1, EVERY_KIND)  # a config that took credits too
    narrowed = PlexDbPublisher("plex", PlexDbOptions(plex.path, path_map=MAP, kinds=("intro",)))
    assert narrowed.push(E1, EVERY_KIND).action is PushAction.REPLACED
    assert [m["text"] for m in ours(plex, item)] == ["intro"]
    assert narrowed.push(E1, EVERY_KIND).action is PushAction.UNCHANGED

"""Watching the library folders with watchdog, turned into a few library-level calls (`LibrarySink`).

Only file names are judged here (extension, hidden, partial-download); what a change means for the database is
the sink's business. Reads (open / close-without-write, e.g. the detector's own) are ignored.
"""

from __future__ import annotations

import errno
import logging
import os
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Protocol

from watchdog.events import (
    EVENT_TYPE_CLOSED,
    EVENT_TYPE_CREATED,
    EVENT_TYPE_DELETED,
    EVENT_TYPE_MODIFIED,
    EVENT_TYPE_MOVED,
    FileSystemEvent,
    FileSystemEventHandler,
)
from watchdog.observers import Observer
from watchdog.observers.api import BaseObserver
from watchdog.observers.polling import PollingObserver, PollingObserverVFS

from daemon.config import LibraryConfig
from daemon.library.filter import LibraryFilter

log = logging.getLogger(__name__)


class LibrarySink(Protocol):
    def changed(self, path: Path) -> None:
        """An episode file appeared or was written: settle it, then queue it."""

    def deleted(self, path: Path) -> None: ...

    def moved(self, src: Path, dest: Path) -> None:
        """Renamed within the library: the results move with it."""

    def folder_deleted(self, path: Path) -> None: ...

    def folder_moved(self, src: Path, dest: Path) -> None: ...


def _text(value: bytes | str) -> str:
    return value.decode("utf-8", "surrogateescape") if isinstance(value, bytes) else value


class _Handler(FileSystemEventHandler):
    def __init__(self, library: LibraryFilter, sink: LibrarySink) -> None:
        self._library = library
        self._sink = sink

    def dispatch(self, event: FileSystemEvent) -> None:
        try:
            if event.is_directory:
                self._folder_event(event)
            else:
                self._file_event(event)
        except Exception:  # the observer thread must survive whatever one event does
            log.exception("error handling %s", event)

    def _file_event(self, event: FileSystemEvent) -> None:
        src = Path(_text(event.src_path))
        kind = event.event_type
        if kind in (EVENT_TYPE_CREATED, EVENT_TYPE_MODIFIED, EVENT_TYPE_CLOSED):
            if self._library.accepts(src):
                self._sink.changed(src)
        elif kind == EVENT_TYPE_DELETED:
            if self._library.accepts(src):
                self._sink.deleted(src)
        elif kind == EVENT_TYPE_MOVED:
            dest = Path(_text(event.dest_path))
            src_ok, dest_ok = self._library.accepts(src), self._library.accepts(dest)
            if src_ok and dest_ok:
                self._sink.moved(src, dest)
            elif src_ok:
                self._sink.deleted(src)
            elif dest_ok:  # e.g. a download renamed from "x.mkv.part" to "x.mkv"
                self._sink.changed(dest)

    def _folder_event(self, event: FileSystemEvent) -> None:
        src = Path(_text(event.src_path))
        kind = event.event_type
        if kind == EVENT_TYPE_DELETED:
            self._sink.folder_deleted(src)
        elif kind == EVENT_TYPE_MOVED:
            dest = Path(_text(event.dest_path))
            if self._library.accepts_folder(dest):
                self._sink.folder_moved(src, dest)
            else:
                self._sink.folder_deleted(src)
        elif kind == EVENT_TYPE_CREATED and self._library.accepts_folder(src):
            # A folder moved in from outside arrives as one "created" event: its files need looking at too.
            for path in self._library.walk(src):
                self._sink.changed(path)


class Watcher:
    """One inotify observer over every library folder, or polling: for shares where inotify sees no remote writes,
    and for the folders left over when inotify's watch limit is reached (one watch per folder).

    At the limit a folder is watched alone (its files and its new subfolders) and its subfolders one by one, so
    inotify covers as much as fits; one polling observer walks what is left, skipping what inotify covers. A folder
    created later that does not fit gets its own poller. The limit is logged once, with the sysctl that raises it.
    """

    def __init__(self, config: LibraryConfig, library: LibraryFilter, sink: LibrarySink) -> None:
        self._library = library
        self._handler = _Handler(library, sink)
        self._polling = config.polling
        self._poll_interval_s = config.poll_interval_s
        self._inotify: BaseObserver = Observer()
        self._deep: set[str] = set()  # folders inotify watches with everything below them
        self._flat: set[str] = set()  # folders inotify watches alone (their subfolders are decided one by one)
        self._poller: BaseObserver | None = None
        self._late: list[BaseObserver] = []  # pollers for folders created after the limit was reached
        self._lock = threading.Lock()
        self._warned = False
        self._overflow = _WatchLimitLog(self._poll_late)

    @property
    def polled(self) -> bool:
        """Whether any part of the library is polled (by choice or for want of inotify watches)."""
        return self._poller is not None or bool(self._late)

    def start(self) -> None:
        if self._polling:
            self._poller = PollingObserver(timeout=self._poll_interval_s)
            for root in self._library.roots:
                self._poller.schedule(self._handler, str(root), recursive=True)
            self._poller.start()
            log.debug("watching by polling every %.0f s", self._poll_interval_s)
            return
        _INOTIFY_LOG.addFilter(self._overflow)
        self._inotify.start()
        leftover = [root for root in self._library.roots if not self._watch(root)]
        if leftover or self._flat:
            self._poller = PollingObserverVFS(os.stat, self._unwatched_entries, polling_interval=self._poll_interval_s)
            for root in [*self._flat_roots(), *leftover]:
                self._poller.schedule(self._handler, str(root), recursive=True)
            self._poller.start()
            self._warn_limit(f"{len(self._deep) + len(self._flat)} folders use inotify, the rest is polled")
        log.debug("watching with inotify")

    def stop(self) -> None:
        _INOTIFY_LOG.removeFilter(self._overflow)
        with self._lock:
            observers = [self._inotify, *([self._poller] if self._poller else []), *self._late]
        for observer in observers:
            if observer.is_alive():
                observer.stop()
                observer.join()

    def _watch(self, folder: Path) -> bool:
        """Watch `folder` with inotify, all of it or as much as fits; False when not even the folder itself fits."""
        try:
            self._inotify.schedule(self._handler, str(folder), recursive=True)
            self._deep.add(str(folder))
            return True
        except OSError as e:
            if e.errno not in _LIMIT_ERRORS:
                raise
        try:
            self._inotify.schedule(self._handler, str(folder), recursive=False)
        except OSError as e:
            if e.errno not in _LIMIT_ERRORS:
                raise
            return False
        self._flat.add(str(folder))
        for sub in _subfolders(folder):
            if self._library.accepts_folder(sub):
                self._watch(sub)
        return True

    def _flat_roots(self) -> list[Path]:
        """The library folders inotify watches only in part: their pollers walk what inotify leaves."""
        return [root for root in self._library.roots if str(root) in self._flat]

    def _unwatched_entries(self, folder: str | None) -> Iterator[os.DirEntry[str]]:
        """`os.scandir` for the poller, without what inotify reports: nothing under a folder it watches whole, only
        the subfolders of one it watches alone."""
        assert folder is not None
        if folder in self._deep:
            return iter(())
        with os.scandir(folder) as entries:
            if folder in self._flat:
                return iter([entry for entry in entries if entry.is_dir(follow_symlinks=False)])
            return iter(list(entries))

    def _poll_late(self, folder: str) -> None:
        """A folder created under an inotify watch after the limit was reached (watchdog could not watch it)."""
        poller = PollingObserver(timeout=self._poll_interval_s)
        poller.schedule(self._handler, folder, recursive=True)
        with self._lock:
            self._late.append(poller)
        poller.start()
        self._warn_limit(f"{folder} and what is created in it later are polled")

    def _warn_limit(self, what: str) -> None:
        with self._lock:
            if self._warned:
                return
            self._warned = True
        log.warning(
            "inotify's watch limit is reached (%s watches): %s every %g s. To watch everything with inotify, raise "
            "it (one watch per folder): sysctl -w fs.inotify.max_user_watches=524288, and in /etc/sysctl.d/ to keep it",
            _watch_limit(),
            what,
            self._poll_interval_s,
        )


_LIMIT_ERRORS = {errno.ENOSPC, errno.EMFILE}  # inotify's answers when no watch or instance is left
_INOTIFY_LOG = logging.getLogger("watchdog.observers.inotify")


class _WatchLimitLog(logging.Filter):
    """Watchdog says only in a log record that it could not watch a new folder, so the record is where we learn it."""

    def __init__(self, poll: Callable[[str], None]) -> None:
        super().__init__()
        self._poll = poll

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args if isinstance(record.args, tuple) else ()
        if record.msg == "Unable to watch %r: %s" and len(args) == 2:
            path, error = args
            if isinstance(path, (str, bytes)) and isinstance(error, OSError) and error.errno in _LIMIT_ERRORS:
                self._poll(os.fsdecode(path))
                return False  # said once, by the watcher
        return True


def _subfolders(folder: Path) -> list[Path]:
    try:
        with os.scandir(folder) as entries:
            return sorted(Path(e.path) for e in entries if e.is_dir(follow_symlinks=False))
    except OSError:  # gone or unreadable meanwhile: nothing to watch there
        return []


def _watch_limit() -> str:
    # The first is this user namespace's own limit (a container's); the second the host's, the same in the host.
    for name in ("/proc/sys/user/max_inotify_watches", "/proc/sys/fs/inotify/max_user_watches"):
        try:
            return Path(name).read_text().strip()
        except OSError:
            continue
    return "unknown"

"""Watching the library folders with watchdog, turned into a few library-level calls (`LibrarySink`).

Only file names are judged here (extension, hidden, partial-download); what a change means for the database is
the sink's business. Reads (open / close-without-write, e.g. the detector's own) are ignored.
"""

from __future__ import annotations

import logging
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
from watchdog.observers.polling import PollingObserver

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
    """One observer over every library folder; `polling` for shares where inotify sees no remote writes."""

    def __init__(self, config: LibraryConfig, library: LibraryFilter, sink: LibrarySink) -> None:
        self._observer: BaseObserver = PollingObserver(timeout=config.poll_interval_s) if config.polling else Observer()
        handler = _Handler(library, sink)
        for root in library.roots:
            self._observer.schedule(handler, str(root), recursive=True)
        self._polling = config.polling

    def start(self) -> None:
        self._observer.start()
        log.debug("watching with %s", "polling" if self._polling else "inotify")

    def stop(self) -> None:
        self._observer.stop()
        self._observer.join()

"""The one error type for media the detector cannot use."""

from __future__ import annotations

from pathlib import Path


class DecodeError(Exception):
    """A file cannot be analysed: unreadable, truncated, empty, or missing its audio or video stream.

    The message names the file and the cause, so it can be shown to the user as it is.
    """

    def __init__(self, path: str | Path, cause: str) -> None:
        self.path = Path(path)
        self.cause = cause
        super().__init__(f"{self.path}: {cause}")

    def __reduce__(self) -> tuple[type[DecodeError], tuple[Path, str]]:
        # Pickled as it was made (the daemon's detection process sends it back): not from the joined message.
        return type(self), (self.path, self.cause)


class MemoryLimitError(DecodeError):
    """Analysing a file would take the process over its memory ceiling (detector.memory). The file may be fine
    (the message says so): it cannot be analysed here, as things are."""

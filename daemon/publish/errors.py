"""Publishing errors. The type says what the queue does next, so callers never inspect messages.

- `TransientPublishError`: the server may accept the same push later (refused, timeout, 5xx, 429):
  retry with backoff.
- `PermanentPublishError`: retrying cannot help until a person acts (bad key, missing plugin, unknown item,
  a file we must not overwrite): the push is marked failed and waits for `intro-daemon push --retry-failed`.

Messages are written to be shown to the user as they are, and never contain a secret.
"""

from __future__ import annotations


class PublishError(Exception):
    """Base of every error a publisher raises on purpose."""


class TransientPublishError(PublishError):
    def __init__(self, message: str, retry_after_s: float | None = None) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s  # the server's Retry-After, when it sent one


class PermanentPublishError(PublishError):
    pass


class AuthError(PermanentPublishError):
    """401/403: the key or token is wrong, expired, or lacks the rights the route needs."""


class NotFoundError(PermanentPublishError):
    """An HTTP 404; publishers turn it into `ItemNotFoundError` or `PluginMissingError` when they can."""


class ItemNotFoundError(PermanentPublishError):
    """The server has no item for the episode's file (after re-reading its library)."""


class PluginMissingError(PermanentPublishError):
    """The server lacks the plugin whose route the publisher needs; the message says what to install."""


class ForeignFileError(PermanentPublishError):
    """A sidecar or chapter set exists that the daemon did not write; it is left alone."""

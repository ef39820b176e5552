"""What happens to a push after an attempt: a pure function of the outcome, the attempts so far and the time.

- success: done.
- transient error (server down, timeout, 5xx, 429): pending again after a capped exponential backoff, never
  failed, so nothing is lost however long a server is away. A server's Retry-After is honoured (within the cap).
- item not found: retried a few times, slowly, since a daemon that watches files often finishes a detection before
  the server has scanned the new file; then failed.
- any other permanent error (bad key, missing plugin, foreign file): failed at once; `push --retry-failed` resets.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from daemon.publish.errors import ItemNotFoundError, PublishError, TransientPublishError
from daemon.retry import RetryPolicy

PENDING, DONE, FAILED = "pending", "done", "failed"  # the values of db.models.PushState


@dataclass(frozen=True)
class PushPolicy:
    """Transient errors (server down, 5xx, 429) are retried forever; an unknown item a few times, slowly."""

    transient: RetryPolicy = field(default_factory=lambda: RetryPolicy(None, backoff_s=60.0, cap_s=3600.0))
    not_found: RetryPolicy = field(default_factory=lambda: RetryPolicy(4, backoff_s=600.0, cap_s=3600.0))


DEFAULT_POLICY = PushPolicy()


@dataclass(frozen=True)
class Next:
    state: str
    attempts: int  # including the one just made
    last_error: str | None
    next_attempt_at: datetime | None  # None: nothing scheduled


def after_success(attempts: int) -> Next:
    return Next(DONE, attempts + 1, None, None)


def after_error(error: Exception, attempts: int, now: datetime, policy: PushPolicy = DEFAULT_POLICY) -> Next:
    tries = attempts + 1
    message = str(error) or type(error).__name__
    if isinstance(error, TransientPublishError):
        wait = policy.transient.delay_s(tries)
        if error.retry_after_s is not None:
            wait = min(policy.transient.cap_s, max(wait, error.retry_after_s))
        return Next(PENDING, tries, message, now + timedelta(seconds=wait))
    if isinstance(error, ItemNotFoundError) and not policy.not_found.gives_up(tries):
        wait = policy.not_found.delay_s(tries)
        return Next(PENDING, tries, message, now + timedelta(seconds=wait))
    if not isinstance(error, PublishError):
        message = f"unexpected {type(error).__name__}: {message}"  # a bug or an answer we cannot read
    return Next(FAILED, tries, message, None)

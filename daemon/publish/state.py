"""What happens to a push after an attempt: a pure function of the outcome, the attempts so far and the time.

- success: done.
- transient error (server down, timeout, 5xx, 429): pending again after a capped exponential backoff, never
  failed, so nothing is lost however long a server is away. A server's Retry-After is honoured (within the cap).
- item not found: retried a few times, slowly, since a daemon that watches files often finishes a detection before
  the server has scanned the new file; then failed.
- any other permanent error (bad key, missing plugin, foreign file): failed at once; `push --retry-failed` resets.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from daemon.publish.errors import ItemNotFoundError, PublishError, TransientPublishError

PENDING, DONE, FAILED = "pending", "done", "failed"  # the values of db.models.PushState


@dataclass(frozen=True)
class RetryPolicy:
    base_s: float = 60.0  # first retry of a transient error
    cap_s: float = 3600.0  # the longest wait between two tries
    not_found_tries: int = 4  # attempts before an unknown item counts as failed
    not_found_base_s: float = 600.0  # 10 min, then 20, 40


DEFAULT_POLICY = RetryPolicy()


@dataclass(frozen=True)
class Next:
    state: str
    attempts: int  # including the one just made
    last_error: str | None
    next_attempt_at: datetime | None  # None: nothing scheduled


def backoff_s(attempts: int, base_s: float, cap_s: float) -> float:
    """Wait after the `attempts`-th failure: base, 2 base, 4 base, ..., at most `cap_s`."""
    return min(cap_s, base_s * 2 ** max(0, attempts - 1))


def after_success(attempts: int) -> Next:
    return Next(DONE, attempts + 1, None, None)


def after_error(error: Exception, attempts: int, now: datetime, policy: RetryPolicy = DEFAULT_POLICY) -> Next:
    tries = attempts + 1
    message = str(error) or type(error).__name__
    if isinstance(error, TransientPublishError):
        wait = backoff_s(tries, policy.base_s, policy.cap_s)
        if error.retry_after_s is not None:
            wait = min(policy.cap_s, max(wait, error.retry_after_s))
        return Next(PENDING, tries, message, now + timedelta(seconds=wait))
    if isinstance(error, ItemNotFoundError) and tries < policy.not_found_tries:
        wait = backoff_s(tries, policy.not_found_base_s, max(policy.cap_s, policy.not_found_base_s))
        return Next(PENDING, tries, message, now + timedelta(seconds=wait))
    if not isinstance(error, PublishError):
        message = f"unexpected {type(error).__name__}: {message}"  # a bug or an answer we cannot read
    return Next(FAILED, tries, message, None)


# `push --retry-failed`, `push PATH`, or a new detection: pending now, the count starting over.
RESET = Next(PENDING, 0, None, None)

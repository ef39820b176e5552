"""What happens to a push after an attempt: a pure function of the outcome, the attempts so far and the time.

- success: done.
- transient error (server down, timeout, 5xx, 429): pending again, never failed, so nothing is lost however long
  a server is away. The wait belongs to the server, not to the push (`PushService` pauses the whole target): it
  doubles with the target's failures in a row up to a cap, and is never shorter than the server's Retry-After.
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

# A Retry-After longer than this is taken for a mistake (a date in the wrong year, seconds meant as ms): a server
# that asks for more than a day is asked again after a day.
RETRY_AFTER_LIMIT_S = 86_400.0


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


def transient_wait_s(failures: int, retry_after_s: float | None, policy: PushPolicy = DEFAULT_POLICY) -> float:
    """How long a target rests after its `failures`-th transient failure in a row: the capped backoff, or the
    server's Retry-After when that is longer (up to `RETRY_AFTER_LIMIT_S`)."""
    wait = policy.transient.delay_s(failures)
    if retry_after_s is not None:
        wait = max(wait, min(retry_after_s, RETRY_AFTER_LIMIT_S))
    return wait


def after_error(
    error: Exception, attempts: int, now: datetime, policy: PushPolicy = DEFAULT_POLICY, *, target_failures: int = 1
) -> Next:
    """`target_failures`: the target's transient failures in a row, this one included (sets a transient wait)."""
    tries = attempts + 1
    message = str(error) or type(error).__name__
    if isinstance(error, TransientPublishError):
        wait = transient_wait_s(target_failures, error.retry_after_s, policy)
        return Next(PENDING, tries, message, now + timedelta(seconds=wait))
    if isinstance(error, ItemNotFoundError) and not policy.not_found.gives_up(tries):
        wait = policy.not_found.delay_s(tries)
        return Next(PENDING, tries, message, now + timedelta(seconds=wait))
    if not isinstance(error, PublishError):
        message = f"unexpected {type(error).__name__}: {message}"  # a bug or an answer we cannot read
    return Next(FAILED, tries, message, None)

from datetime import UTC, datetime, timedelta

import pytest

from daemon.publish import state
from daemon.publish.errors import (
    AuthError,
    ForeignFileError,
    ItemNotFoundError,
    PluginMissingError,
    TransientPublishError,
)
from daemon.retry import RetryPolicy
from db.episodes import reset_push
from db.models import Push

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
POLICY = state.PushPolicy(
    transient=RetryPolicy(None, backoff_s=60, cap_s=3600), not_found=RetryPolicy(3, backoff_s=600, cap_s=3600)
)


def test_backoff_doubles_and_is_capped() -> None:
    waits = [POLICY.transient.delay_s(n) for n in range(1, 10)]
    assert waits[:7] == [60, 120, 240, 480, 960, 1920, 3600]
    assert max(waits) == 3600


def test_transient_errors_stay_pending_however_many_attempts() -> None:
    attempts = 0
    for failures in range(1, 51):
        nxt = state.after_error(TransientPublishError("down"), attempts, NOW, POLICY, target_failures=failures)
        assert nxt.state == state.PENDING
        assert nxt.next_attempt_at is not None and nxt.next_attempt_at <= NOW + timedelta(seconds=3600)
        attempts = nxt.attempts
    assert attempts == 50


def test_the_wait_follows_the_targets_failures_not_the_pushs_attempts() -> None:
    # A push tried often before (the server flapped) waits as little as the target's first failure says.
    nxt = state.after_error(TransientPublishError("down"), 40, NOW, POLICY, target_failures=1)
    assert nxt.next_attempt_at == NOW + timedelta(seconds=60)
    nxt = state.after_error(TransientPublishError("down"), 0, NOW, POLICY, target_failures=3)
    assert nxt.next_attempt_at == NOW + timedelta(seconds=240)


def test_retry_after_is_never_cut_short_and_is_taken_up_to_a_day() -> None:
    wait = state.transient_wait_s
    assert wait(1, 900, POLICY) == 900  # longer than the backoff: the server's word
    assert wait(1, 5, POLICY) == 60  # shorter: the backoff still applies
    assert wait(9, 7200, POLICY) == 7200  # past our own cap, still honoured
    assert wait(1, 10**6, POLICY) == state.RETRY_AFTER_LIMIT_S  # more than a day: a mistake
    assert wait(9, None, POLICY) == 3600


@pytest.mark.parametrize("error", [AuthError("401"), PluginMissingError("install it"), ForeignFileError("not ours")])
def test_permanent_errors_fail_at_once_with_their_message(error: Exception) -> None:
    nxt = state.after_error(error, 0, NOW, POLICY)
    assert (nxt.state, nxt.attempts, nxt.last_error, nxt.next_attempt_at) == ("failed", 1, str(error), None)


def test_an_unknown_item_is_retried_slowly_then_fails() -> None:
    first = state.after_error(ItemNotFoundError("no item"), 0, NOW, POLICY)
    assert first.state == "pending" and first.next_attempt_at == NOW + timedelta(seconds=600)
    second = state.after_error(ItemNotFoundError("no item"), first.attempts, NOW, POLICY)
    assert second.state == "pending" and second.next_attempt_at == NOW + timedelta(seconds=1200)
    third = state.after_error(ItemNotFoundError("no item"), second.attempts, NOW, POLICY)
    assert third.state == "failed" and third.last_error == "no item"


def test_an_unexpected_exception_fails_and_says_so() -> None:
    nxt = state.after_error(KeyError("Items"), 2, NOW, POLICY)
    assert nxt.state == "failed" and nxt.attempts == 3
    assert nxt.last_error == "unexpected KeyError: 'Items'"


def test_success_and_reset() -> None:
    assert state.after_success(4) == state.Next("done", 5, None, None)
    push = Push(target="t", state="failed", attempts=4, last_error="401", next_attempt_at=NOW)
    reset_push(push)
    assert (push.state, push.attempts, push.last_error, push.next_attempt_at) == ("pending", 0, None, None)

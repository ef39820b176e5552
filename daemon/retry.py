"""When to try again after a failure, for detections and pushes alike: an exponential backoff, capped, and a
number of attempts after which to give up."""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int | None = 3  # None: never give up
    backoff_s: float = 300.0  # the first wait; doubles with every attempt
    cap_s: float = math.inf  # the longest wait

    def delay_s(self, attempts: int) -> float:
        """Wait after the `attempts`-th failure: backoff, 2x backoff, 4x ..., at most `cap_s`."""
        return min(self.cap_s, self.backoff_s * 2 ** max(0, attempts - 1))

    def gives_up(self, attempts: int) -> bool:
        return self.max_attempts is not None and attempts >= self.max_attempts

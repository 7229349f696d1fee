"""When to poll next: the interval, or an exponential backoff with jitter after throttling."""

from __future__ import annotations

import random
from collections.abc import Callable

MAX_BACKOFF = 300.0


def next_delay(
    interval: float,
    throttled_polls: int,
    *,
    cap: float = MAX_BACKOFF,
    rand: Callable[[], float] = random.random,
) -> float:
    """Seconds until the next poll.

    After ``n`` throttled polls in a row: ``interval * 2**n`` capped at ``cap``, with "equal
    jitter" (half fixed, half random) so that many clients sharing the account's limit do
    not retry in step, and never less than the interval.
    """
    if throttled_polls <= 0:
        return interval
    ceiling = min(cap, interval * (2 ** min(throttled_polls, 16)))
    return float(max(interval, ceiling / 2 + rand() * ceiling / 2))

"""Request throttling as EC2 does it: a token bucket per region and throttle family.

Each request takes a token from its family's bucket; an empty bucket refuses the request
(``RequestLimitExceeded``) and refills at a steady rate up to its burst size. Sizes and
rates are those of AWS's EC2 API throttling page.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping

from amimon.records import record

_EPSILON = 1e-9


@record
class Limit:
    """A bucket's size (the burst) and its refill rate in tokens per second."""

    burst: float
    refill: float


# DescribeStoreImageTasks has a bucket of its own; the store and restore task creations
# share one; DescribeImages is in the general bucket of non-mutating (Describe) actions.
FAMILIES: Mapping[str, str] = {
    "DescribeStoreImageTasks": "DescribeStoreImageTasks",
    "CreateStoreImageTask": "CreateStoreRestoreImageTask",
    "CreateRestoreImageTask": "CreateStoreRestoreImageTask",
    "DescribeImages": "Describe",
}
LIMITS: Mapping[str, Limit] = {
    "DescribeStoreImageTasks": Limit(burst=50, refill=0.5),
    "CreateStoreRestoreImageTask": Limit(burst=50, refill=0.1),
    "Describe": Limit(burst=100, refill=20),
}


def family_of(action: str) -> str | None:
    """The throttle family of an action; None for actions this simulator does not throttle."""
    if action in FAMILIES:
        return FAMILIES[action]
    return "Describe" if action.startswith("Describe") else None


class TokenBucket:
    """Starts full; ``take`` at a monotonic time ``now`` spends one token if there is one."""

    def __init__(self, limit: Limit, now: float) -> None:
        self.limit = limit
        self._tokens = limit.burst
        self._at = now

    def _refill(self, now: float) -> None:
        elapsed = max(0.0, now - self._at)
        self._tokens = min(self.limit.burst, self._tokens + elapsed * self.limit.refill)
        self._at = max(self._at, now)

    def take(self, now: float) -> bool:
        self._refill(now)
        if self._tokens >= 1 - _EPSILON:  # times are floats: 1000.05 - 1000.0 < 0.05
            self._tokens = max(0.0, self._tokens - 1)
            return True
        return False

    def tokens(self, now: float) -> float:
        self._refill(now)
        return self._tokens


class Throttle:
    """The buckets of one account: one per (region, family), made full on first use."""

    def __init__(
        self,
        monotonic: Callable[[], float] = time.monotonic,
        limits: Mapping[str, Limit] = LIMITS,
    ) -> None:
        self._monotonic = monotonic
        self._limits = dict(limits)
        self._buckets: dict[tuple[str, str], TokenBucket] = {}
        self._lock = threading.Lock()

    def _bucket(self, region: str, family: str, now: float) -> TokenBucket:
        key = (region, family)
        if key not in self._buckets:
            self._buckets[key] = TokenBucket(self._limits[family], now)
        return self._buckets[key]

    def allow(self, action: str, region: str) -> bool:
        """Take a token for one request; False means answer ``RequestLimitExceeded``."""
        family = family_of(action)
        if family is None or family not in self._limits:
            return True
        with self._lock:
            now = self._monotonic()
            return self._bucket(region, family, now).take(now)

    def tokens(self, action: str, region: str) -> float:
        """Tokens left for ``action`` in ``region`` (the burst size if never used)."""
        family = family_of(action)
        if family is None or family not in self._limits:
            return float("inf")
        with self._lock:
            now = self._monotonic()
            return self._bucket(region, family, now).tokens(now)

"""Requests at a polite pace, each page retried where it stopped.

``DescribeStoreImageTasks`` has a token bucket per account and region (50 requests of
burst, refilled at 0.5 a second) shared with every other caller, and each page is a
request. A ``Pacer`` keeps amimon's own share: at most ``burst`` requests at once, then
``rate`` a second, so one listing leaves at least half the account's burst to others.
A page that fails in a way waiting can fix is retried with backoff and jitter, keeping
the pages already fetched.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from amimon.aws.errors import classify
from amimon.model import ErrorKind, Target
from amimon.records import record

log = logging.getLogger(__name__)

# AWS's documented bucket for DescribeStoreImageTasks: 50 burst, 0.5/s refill.
STORE_TASKS_BURST = 25.0
STORE_TASKS_RATE = 0.5


class Cancelled(Exception):
    """The source was closed while a request waited its turn."""


@dataclass
class Waiter:
    """Time for pacing and retries: real by default, replaceable in tests (``pause``
    instead of really waiting). ``sleep`` returns False once the source is closing."""

    monotonic: Callable[[], float] = time.monotonic
    rand: Callable[[], float] = random.random
    pause: Callable[[float], None] | None = None
    stop: threading.Event = field(default_factory=threading.Event)

    def sleep(self, seconds: float) -> bool:
        if self.pause is not None:
            self.pause(max(0.0, seconds))
        elif seconds > 0:
            self.stop.wait(seconds)
        return not self.stop.is_set()


class Pacer:
    """A token bucket of ``burst`` requests refilled at ``rate`` a second. Thread-safe."""

    def __init__(self, burst: float, rate: float, waiter: Waiter) -> None:
        self.burst = burst
        self.rate = rate
        self._waiter = waiter
        self._tokens = burst
        self._at = waiter.monotonic()
        self._lock = threading.Lock()

    def _refill(self) -> None:
        now = self._waiter.monotonic()
        self._tokens = min(self.burst, self._tokens + (now - self._at) * self.rate)
        self._at = now

    def take(self) -> float:
        """Wait for a token and take it; returns the seconds waited. Raises ``Cancelled``."""
        waited = 0.0
        while True:
            with self._lock:
                self._refill()
                if self._tokens >= 1:
                    self._tokens -= 1
                    return waited
                delay = (1 - self._tokens) / self.rate
            if not self._waiter.sleep(delay):
                raise Cancelled()
            waited += delay

    def drain(self) -> None:
        """AWS said the account is throttled: someone else is spending the bucket, so
        amimon's next requests go at the refill rate."""
        with self._lock:
            self._refill()
            self._tokens = min(self._tokens, 0.0)


@record
class RetryPolicy:
    """How a failed page is retried: ``attempts`` in all, exponential backoff from
    ``base`` seconds to ``cap``, each wait half fixed and half random (jitter)."""

    attempts: int = 6
    base: float = 1.0
    cap: float = 30.0

    def delay(self, attempt: int, rand: Callable[[], float]) -> float:
        ceiling = min(self.cap, self.base * 2.0 ** (attempt - 1))
        return float(ceiling / 2 + rand() * ceiling / 2)


RETRYABLE = frozenset(
    {ErrorKind.THROTTLED, ErrorKind.NETWORK, ErrorKind.SERVER, ErrorKind.BAD_RESPONSE}
)

Call = Callable[..., Mapping[str, Any]]


@dataclass
class Requests:
    """Counts of the requests a source made (retries included), for tests and benchmarks."""

    sent: int = 0
    retried: int = 0
    waited: float = 0.0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def add(self, *, retried: bool = False, waited: float = 0.0) -> None:
        with self._lock:
            self.sent += 1
            self.retried += int(retried)
            self.waited += waited


def request(
    call: Call,
    params: Mapping[str, Any],
    *,
    target: Target,
    pacer: Pacer,
    policy: RetryPolicy,
    waiter: Waiter,
    counts: Requests,
    action: str = "DescribeStoreImageTasks",
) -> Mapping[str, Any]:
    """One request, paced and retried while the failure is one waiting can fix."""
    attempt = 1
    while True:
        waited = pacer.take()
        counts.add(retried=attempt > 1, waited=waited)
        try:
            return call(**params)
        except Exception as exc:
            error = classify(exc, target, action)
            if error.kind not in RETRYABLE or attempt >= policy.attempts:
                raise error from exc
            if error.kind is ErrorKind.THROTTLED:
                pacer.drain()
            delay = policy.delay(attempt, waiter.rand)
            log.info(
                "%s for %s: %s (code=%s request_id=%s); attempt %d, retrying in %.1f s",
                action,
                target.label,
                error.message,
                error.code,
                error.request_id,
                attempt,
                delay,
            )
            if not waiter.sleep(delay):
                raise Cancelled() from exc
            attempt += 1


def pages(
    call: Call,
    params: Mapping[str, Any],
    *,
    target: Target,
    pacer: Pacer,
    policy: RetryPolicy,
    waiter: Waiter,
    counts: Requests,
    action: str = "DescribeStoreImageTasks",
) -> Iterator[Mapping[str, Any]]:
    """Every page of a paginated call, following ``NextToken``; a failed page is retried
    where it stopped. Raises ``AwsError`` when a page keeps failing."""
    token: str | None = None
    while True:
        page_params = dict(params)
        if token:
            page_params["NextToken"] = token
        page = request(
            call,
            page_params,
            target=target,
            pacer=pacer,
            policy=policy,
            waiter=waiter,
            counts=counts,
            action=action,
        )
        yield page
        token = page.get("NextToken") or None
        if token is None:
            return

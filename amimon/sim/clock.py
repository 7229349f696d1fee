"""Simulated time: scaled wall-clock time for the demo, a frozen clock for tests."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    """Anything that says what time it is in the simulated world."""

    def now(self) -> datetime: ...


class ScaledClock:
    """Starts at ``origin`` (default: the real time now) and runs ``speed`` times faster."""

    def __init__(
        self,
        speed: float = 1.0,
        origin: datetime | None = None,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        if speed <= 0:
            raise ValueError(f"speed must be positive, got {speed}")
        self.speed = speed
        self.origin = origin or datetime.now(UTC)
        self._monotonic = monotonic
        self._start = monotonic()

    def now(self) -> datetime:
        elapsed = (self._monotonic() - self._start) * self.speed
        return self.origin + timedelta(seconds=elapsed)


class FrozenClock:
    """Stands still until told to move: ``advance()`` or ``set()``. Thread-safe."""

    def __init__(self, at: datetime) -> None:
        self._now = at
        self._lock = threading.Lock()

    def now(self) -> datetime:
        with self._lock:
            return self._now

    def advance(self, by: float | timedelta) -> datetime:
        step = by if isinstance(by, timedelta) else timedelta(seconds=by)
        with self._lock:
            self._now += step
            return self._now

    def set(self, at: datetime) -> None:
        with self._lock:
            self._now = at

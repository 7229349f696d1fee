"""When clock-driven text next changes, so the monitor wakes only when something it shows moves.

Durations are written by ``amimon.durations.format_duration``: whole seconds under a
minute, minutes under a day, hours beyond. A text in minutes may be late by ``LAZY`` so that
rows whose minutes turn over within a few seconds of each other are repainted together.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from datetime import datetime, timedelta

LAZY = timedelta(seconds=5)
_TINY = timedelta(milliseconds=10)


def unit(seconds: float, step: int = 1) -> int:
    """The smallest step ``format_duration`` shows for a duration of ``seconds``."""
    if seconds < 60:
        return step
    return 60 if seconds < 86400 else 3600


def since_changes(start: datetime, now: datetime, *, step: int = 1, lazy: bool = True) -> datetime:
    """When ``format_duration(now - start)`` (counting up) next shows another text."""
    seconds = (now - start).total_seconds()
    if seconds < 0:
        return start
    size = unit(seconds, step)
    at = start + timedelta(seconds=(math.floor(seconds / size) + 1) * size)
    return at + LAZY if lazy and size >= 60 else at


def until_changes(end: datetime, now: datetime, *, lazy: bool = True) -> datetime | None:
    """When ``format_duration(end - now)`` (counting down) next shows another text; None
    once it reads zero for good."""
    seconds = (end - now).total_seconds()
    if seconds <= 0:
        return None
    size = unit(seconds)
    shown = math.floor(seconds / size) * size
    if shown <= 0:
        return None  # "0s" until the end, and after it
    at = end - timedelta(seconds=shown) + _TINY
    return at + LAZY if lazy and size >= 60 else at


def earliest(moments: Iterable[datetime | None]) -> datetime | None:
    """The first of ``moments`` that is set, or None."""
    return min((m for m in moments if m is not None), default=None)

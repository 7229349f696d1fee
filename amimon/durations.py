"""One duration grammar, in and out: ``45s``, ``12m``, ``1h05m``, ``3d04h``, ``1h30m``, ``90``."""

from __future__ import annotations

import math
import re
from datetime import timedelta

_PART_RE = re.compile(r"(\d+(?:\.\d+)?)\s*([dhms])", re.IGNORECASE)
_WHOLE_RE = re.compile(r"^\s*(?:\d+(?:\.\d+)?\s*[dhms]\s*)+$", re.IGNORECASE)
_UNIT_SECONDS = {"d": 86400, "h": 3600, "m": 60, "s": 1}


def parse_duration(value: str, *, allow_zero: bool = False) -> float:
    """Seconds in a duration: a number of seconds (``"90"``) or units run together
    (``"45m"``, ``"1h30m"``, ``"1h05m"``, ``"3d04h"``, ``"1.5h"``) as amimon prints them."""
    text = value.strip()
    try:
        seconds = float(text)
    except ValueError:
        if not _WHOLE_RE.match(text):
            raise ValueError(
                f"{value!r} is not a duration (like 90s, 45m, 1h30m, 6h or 2d)"
            ) from None
        seconds = sum(float(n) * _UNIT_SECONDS[unit.lower()] for n, unit in _PART_RE.findall(text))
    if not math.isfinite(seconds) or seconds < 0:
        raise ValueError(f"{value!r} is not a duration (like 90s, 45m, 1h30m, 6h or 2d)")
    if seconds == 0 and not allow_zero:
        raise ValueError(f"{value!r} must be longer than zero")
    return seconds


def format_duration(delta: timedelta | None) -> str:
    """Compact human duration: ``45s``, ``12m``, ``1h05m``, ``3d04h``; ``-`` for unknown.
    ``parse_duration`` reads every string this returns."""
    if delta is None:
        return "-"
    seconds = max(0, int(delta.total_seconds()))
    if seconds < 60:
        return f"{seconds}s"
    minutes = seconds // 60
    if minutes < 60:
        return f"{minutes}m"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours}h{minutes:02d}m"
    days, hours = divmod(hours, 24)
    return f"{days}d{hours:02d}h"

"""Pure Rich helpers shared by the monitor and the scriptable commands.

API text always goes in as ``Text(value)`` (never markup), so a bucket called ``[bold]``
shows as exactly that.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from rich.text import Text

from amimon.model import TaskState


@dataclass(frozen=True)
class Palette:
    """Styles per meaning. The monitor builds one from its theme's variables."""

    running: str = "cyan"
    done: str = "green"
    failed: str = "bold red"
    unknown: str = "magenta"
    muted: str = "dim"
    warning: str = "yellow"

    def for_state(self, state: str) -> str:
        return {
            TaskState.IN_PROGRESS.value: self.running,
            TaskState.COMPLETED.value: self.done,
            TaskState.FAILED.value: self.failed,
        }.get(state, self.unknown)


DEFAULT_PALETTE = Palette()

_EIGHTHS = " ▏▎▍▌▋▊▉"


def bar(progress: int | None, width: int = 10) -> str:
    """A block-character bar of ``width`` cells for a percentage, with eighth-cell steps."""
    if progress is None:
        return "·" * width
    eighths = round(max(0, min(100, progress)) * width * 8 / 100)
    full, part = divmod(eighths, 8)
    text = "█" * full + (_EIGHTHS[part] if part else "")
    return text.ljust(width)


def progress_text(
    progress: int | None, state: str, palette: Palette = DEFAULT_PALETTE, width: int = 10
) -> Text:
    """``████▍      47%`` styled by state."""
    label = "  ?%" if progress is None else f"{progress:>3}%"
    text = Text(bar(progress, width), style=palette.for_state(state))
    text.append(" " + label)
    return text


def state_text(state: str, palette: Palette = DEFAULT_PALETTE, vanished: bool = False) -> Text:
    """The state as a styled word; unknown states are shown as the API spelled them."""
    label = state or "Unknown"
    if vanished:
        return Text(f"{label} (gone)", style=palette.muted)
    return Text(label, style=palette.for_state(state))


def duration(delta: timedelta | None) -> str:
    """Compact human duration: ``45s``, ``12m``, ``1h05m``, ``3d04h``; ``-`` for unknown."""
    if delta is None:
        return "-"
    seconds = max(0, int(delta.total_seconds()))
    if seconds < 60:
        return f"{seconds}s"
    minutes, _ = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes}m"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours}h{minutes:02d}m"
    days, hours = divmod(hours, 24)
    return f"{days}d{hours:02d}h"


def age(moment: datetime | None, now: datetime, step: int = 1) -> str:
    """How long ago, e.g. ``12m ago``; ``-`` when unknown. Under a minute, seconds are
    rounded down to ``step``."""
    if moment is None:
        return "-"
    delta = now - moment
    if step > 1 and delta < timedelta(minutes=1):
        delta = timedelta(seconds=int(delta.total_seconds()) // step * step)
    return f"{duration(delta)} ago"


def rate(percent_per_minute: float | None) -> str:
    """``2.5%/min``, ``0.12%/min``; ``-`` when unknown."""
    if percent_per_minute is None:
        return "-"
    if percent_per_minute >= 10:
        return f"{percent_per_minute:.0f}%/min"
    if percent_per_minute >= 1:
        return f"{percent_per_minute:.1f}%/min"
    return f"{percent_per_minute:.2f}%/min"


def timestamp(moment: datetime | None) -> str:
    """ISO-like UTC time without microseconds, e.g. ``2026-11-27 17:05:03 UTC``."""
    if moment is None:
        return "-"
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def clock_time(moment: datetime) -> str:
    """``14:05 UTC``: enough for an ETA within a day, with the date when further out."""
    utc = moment.astimezone(UTC)
    return utc.strftime("%H:%M UTC")


def plain(value: str) -> Text:
    """API text as a Text that is never parsed as markup."""
    return Text(value)

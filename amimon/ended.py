"""When a task ended, to within one poll, how long it took and how fast it went (pure).

The API has no completion time: amimon knows a task ended after the last poll that saw it
running and by the first poll that saw it finished. The middle of that window is the best
guess, good to half its width.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from amimon.durations import format_duration
from amimon.model import TaskState, TrackedTask
from amimon.records import record

# A duration or a rate is "measured" when the window is this narrow (or a tenth of the
# run): a task that ended while amimon was not looking has a window too wide to learn from.
PRECISE_MARGIN = timedelta(minutes=2)


@record
class Ending:
    """A task reached its final state after ``after`` (None: unknown, it was already
    finished when first seen) and by ``by``."""

    start: datetime | None
    after: datetime | None
    by: datetime

    @property
    def at(self) -> datetime:
        """The best guess: the middle of the window (``by`` when the window is open)."""
        if self.after is None:
            return self.by
        return self.after + (self.by - self.after) / 2

    @property
    def margin(self) -> timedelta | None:
        """Half the window: ``at`` is right to within this. None when the window is open."""
        if self.after is None:
            return None
        return max(timedelta(0), (self.by - self.after) / 2)

    @property
    def took(self) -> timedelta | None:
        """From the start to ``at``; None when either end is unknown."""
        if self.start is None or self.after is None:
            return None
        return max(timedelta(0), self.at - self.start)

    @property
    def precise(self) -> bool:
        """Narrow enough to learn a duration or a rate from."""
        took, margin = self.took, self.margin
        if took is None or margin is None or took <= timedelta(0):
            return False
        return margin <= max(PRECISE_MARGIN, took / 10)

    def gib_per_minute(self, size_gib: float | None) -> float | None:
        """Snapshot GiB per minute, when the size is known and the run was measured."""
        took = self.took
        if size_gib is None or took is None or not self.precise:
            return None
        return size_gib / (took.total_seconds() / 60.0)


def ending(tracked: TrackedTask) -> Ending | None:
    """When a Completed or Failed task ended, as the monitor state knows it (also for a
    state seeded from history); None for other tasks."""
    task = tracked.task
    if task.state == TaskState.COMPLETED:
        by = tracked.completed_seen_at
        if by is None:  # already Completed when first seen
            return Ending(task.start_time, None, tracked.first_seen)
    elif task.state == TaskState.FAILED:
        by = tracked.last_change
    else:
        return None
    after = tracked.before_change
    if after is None and by != tracked.first_seen:
        after = task.start_time  # it ended after it started, at the very least
    return Ending(task.start_time, after, by)


def _clock(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M UTC")


def gib_rate(value: float | None) -> str:
    """``1.4 GiB/min``; ``-`` when unknown (no snapshot size, or not measured)."""
    if value is None:
        return "-"
    return f"{value:.2f} GiB/min" if value < 1 else f"{value:.1f} GiB/min"


def describe(end: Ending, state: str | None, size_gib: float | None = None) -> str:
    """``completed ≈ 2026-11-27 14:02 UTC (±15s), took 1h12m, 1.4 GiB/min`` for the detail
    panel; ``completed before 2026-11-27 14:02 UTC`` when the window is open."""
    verb = "failed" if state == TaskState.FAILED else "completed"
    margin = end.margin
    if margin is None:
        return f"{verb} before {_clock(end.by)}"
    words = f"{verb} ≈ {_clock(end.at)} (±{format_duration(margin)})"
    if end.took is not None:
        words += f", took {format_duration(end.took)}"
    # A failed task stored only part of its snapshots: its size over its time says nothing.
    rate = end.gib_per_minute(size_gib) if verb == "completed" else None
    if rate is not None:
        words += f", {gib_rate(rate)}"
    return words

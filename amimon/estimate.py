"""Rate, ETA and stall of a running task, from the progress samples the reducer keeps.

The API reports whole percent at each poll, so every figure here rests on the times
progress was seen to change ("edges"). An estimate is computed as of the last poll that
saw the task, never from the clock: between polls the ETA stays put and only the time
left counts down, so steady progress never makes it swing back and forth.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from amimon.model import DEFAULT_SETTINGS, Settings, TaskState, TrackedTask
from amimon.records import record

# An estimate resting on fewer percentage points than this is marked approximate: one
# point of rounding is then more than a fifth of what was measured.
FIRM_POINTS = 5


@record
class Estimate:
    """Derived progress figures for an InProgress task."""

    rate: float | None = None  # percent per minute
    eta_at: datetime | None = None
    stalled: bool = False
    # True while the rate rests on fewer than FIRM_POINTS percentage points.
    approximate: bool = False
    # True when the ETA comes from the history of the task's bucket (median snapshot
    # GiB/min of finished tasks times the AMI's size), not from the task's own progress.
    from_history: bool = False

    def remaining(self, now: datetime) -> timedelta | None:
        """Time left until ``eta_at``; never negative."""
        if self.eta_at is None:
            return None
        return max(timedelta(0), self.eta_at - now)


NO_ESTIMATE = Estimate()


def _minutes(delta: timedelta) -> float:
    return delta.total_seconds() / 60.0


@record
class _Rate:
    """A task's speed in percentage points a second."""

    observed: float  # while moving
    effective: float  # decayed when a step is overdue
    points: int  # percentage points it rests on


def _window_rate(tracked: TrackedTask, as_of: datetime, settings: Settings) -> _Rate | None:
    """The rate over the edges in the window ending at the last edge."""
    edges = [s for s in tracked.samples if s.edge]
    if len(edges) < 2:
        return None
    last = edges[-1]
    horizon = last.at - settings.rate_window
    # Anchor on the newest edge at or before the window's start, else the oldest edge.
    before = [s for s in edges[:-1] if s.at <= horizon]
    ref = before[-1] if before else edges[0]
    span = last.at - ref.at
    gained = last.progress - ref.progress
    if gained <= 0 or span < settings.min_span:
        return None
    observed = gained / _minutes(span)
    effective = observed
    if _minutes(as_of - last.at) > 1.0 / observed:
        # Polls have seen no step for longer than a step takes: the task is slowing.
        effective = gained / _minutes(as_of - ref.at)
    return _Rate(observed, effective, gained)


def _start_rate(tracked: TrackedTask, as_of: datetime, settings: Settings) -> _Rate | None:
    """The average since ``TaskStartTime``. Whole percent rounds down, so the task is on
    average half a point further than it says."""
    task = tracked.task
    progress = task.percent
    if task.start_time is None or not progress:
        return None
    elapsed = as_of - task.start_time
    if elapsed < settings.min_span:
        return None
    rate = (progress + 0.5) / _minutes(elapsed)
    return _Rate(rate, rate, progress)


def estimate(
    tracked: TrackedTask, as_of: datetime, settings: Settings = DEFAULT_SETTINGS
) -> Estimate:
    """Rate (% per minute), ETA and stalled flag of an InProgress task, as of ``as_of``: the
    last poll that saw the task (``MonitorState.seen_at``).

    The rate comes from the progress edges in the last ``rate_window`` once they rest on
    ``FIRM_POINTS`` points, else from whichever of them and the average since
    ``TaskStartTime`` rests on more. A stalled task has no ETA: none is better than a wrong
    one.
    """
    task = tracked.task
    progress = task.percent
    if task.state != TaskState.IN_PROGRESS or progress is None or tracked.vanished_at:
        return NO_ESTIMATE
    window = _window_rate(tracked, as_of, settings)
    start = _start_rate(tracked, as_of, settings)
    chosen = window
    if window is None or (window.points < FIRM_POINTS and start and start.points > window.points):
        chosen = start
    # Stalled: no movement for stall_after, and for 3x the step time the task has shown.
    threshold = settings.stall_after
    if window is not None:
        threshold = max(threshold, timedelta(minutes=3.0 / window.observed))
    stalled = as_of - tracked.last_change > threshold
    if chosen is None or stalled or progress >= 100:
        return Estimate(rate=chosen.effective if chosen else None, stalled=stalled)
    rate = chosen.effective
    # Partway to the next whole percent already, by at most one point.
    since = _minutes(max(timedelta(0), as_of - tracked.last_change))
    remaining = max(0.0, 100 - progress - min(0.99, rate * since))
    return Estimate(
        rate=rate,
        eta_at=as_of + timedelta(minutes=remaining / rate),
        stalled=False,
        approximate=chosen.points < FIRM_POINTS,
    )


def history_estimate(
    tracked: TrackedTask, as_of: datetime, size_gib: float | None, gib_per_minute: float | None
) -> Estimate | None:
    """An ETA for a running task that has no rate of its own yet, from its bucket's history:
    what is left of its snapshot data at the bucket's median GiB/min. None without both."""
    task = tracked.task
    progress = task.percent
    if (
        task.state != TaskState.IN_PROGRESS
        or progress is None
        or tracked.vanished_at is not None
        or not size_gib
        or not gib_per_minute
        or gib_per_minute <= 0
    ):
        return None
    minutes = size_gib * (100 - progress) / 100 / gib_per_minute
    return Estimate(
        rate=gib_per_minute * 100 / size_gib,
        eta_at=as_of + timedelta(minutes=minutes),
        approximate=True,
        from_history=True,
    )

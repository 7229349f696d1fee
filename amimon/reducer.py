"""The pure heart of amimon: fold each poll into the monitor state and say what changed.

``reduce(state, snapshot, now)`` reads no clock and does no I/O, so every behaviour here is
a table-driven test away. Rates, ETAs and the stalled flag are derived on demand by
``estimate(task, now)`` from the progress samples the reducer keeps.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from amimon.model import PollFailure, Snapshot, StoreTask, Target, TaskKey, TaskState


@dataclass(frozen=True)
class Settings:
    """Tuning for the estimates and for how long things are remembered."""

    # Whole-percent steps seen every 15 s need minutes of history to give a steady rate.
    rate_window: timedelta = timedelta(minutes=10)
    # An estimate from less than this much history is noise, not a rate.
    min_span: timedelta = timedelta(seconds=60)
    max_samples: int = 32
    # A task is stalled when it has not moved for this long and for 3x its usual step time.
    stall_after: timedelta = timedelta(minutes=15)
    # A vanished task is shown for this long, then dropped.
    forget_after: timedelta = timedelta(hours=1)


DEFAULT_SETTINGS = Settings()


@dataclass(frozen=True)
class Sample:
    """Progress seen at a poll. ``edge`` means the value had just changed, so ``at`` is
    within one poll of when the task really reached it; only edges anchor a rate."""

    at: datetime
    progress: int
    edge: bool


@dataclass(frozen=True)
class TrackedTask:
    """A task as amimon knows it: the last report plus what amimon saw over time."""

    task: StoreTask
    first_seen: datetime
    last_change: datetime
    samples: tuple[Sample, ...] = ()
    # The API has no completion time: this is the poll at which Completed was first seen,
    # None when the task was already Completed when amimon first saw it.
    completed_seen_at: datetime | None = None
    vanished_at: datetime | None = None

    @property
    def key(self) -> TaskKey:
        return self.task.key


@dataclass(frozen=True)
class TargetFailure:
    """A target whose polls are failing, and since when."""

    failure: PollFailure
    since: datetime
    count: int = 1


@dataclass(frozen=True)
class MonitorState:
    """Everything the monitor knows. Treat as immutable: ``reduce`` returns a new one."""

    tasks: Mapping[TaskKey, TrackedTask] = field(default_factory=dict)
    polls: int = 0
    last_success: datetime | None = None
    failures: Mapping[Target | None, TargetFailure] = field(default_factory=dict)
    covered: frozenset[Target] = frozenset()
    # Consecutive polls that were throttled: drives the backoff.
    throttled_polls: int = 0
    # Scoped polls since the last full listing, and whether a task left the scope (so only
    # a full listing can say whether it completed, failed or vanished).
    polls_since_full: int = 0
    full_poll_due: bool = True

    @property
    def stale_since(self) -> datetime | None:
        """When data started going stale (the oldest ongoing failure), or None if fresh."""
        if not self.failures:
            return None
        return min(f.since for f in self.failures.values())

    @property
    def loaded(self) -> bool:
        """True once any poll has answered."""
        return self.last_success is not None


# Events ------------------------------------------------------------------------------


@dataclass(frozen=True)
class TaskAppeared:
    task: TrackedTask
    at: datetime
    # True for tasks found by the first poll of their target: not news, just the start.
    initial: bool = False


@dataclass(frozen=True)
class TaskProgressed:
    task: TrackedTask
    at: datetime
    old: int | None
    new: int | None


@dataclass(frozen=True)
class TaskCompleted:
    task: TrackedTask
    at: datetime


@dataclass(frozen=True)
class TaskFailed:
    task: TrackedTask
    at: datetime
    reason: str


@dataclass(frozen=True)
class TaskStateChanged:
    """A transition that is neither to Completed nor to Failed (e.g. to an unknown state)."""

    task: TrackedTask
    at: datetime
    old: str
    new: str


@dataclass(frozen=True)
class TaskVanished:
    """A task no longer returned: usually it left the 31-day window."""

    task: TrackedTask
    at: datetime


@dataclass(frozen=True)
class PollFailed:
    failure: PollFailure
    at: datetime


@dataclass(frozen=True)
class PollRecovered:
    target: Target | None
    at: datetime
    down_since: datetime


Event = (
    TaskAppeared
    | TaskProgressed
    | TaskCompleted
    | TaskFailed
    | TaskStateChanged
    | TaskVanished
    | PollFailed
    | PollRecovered
)


# Reducer -----------------------------------------------------------------------------


def _first_sight(task: StoreTask, now: datetime, initial: bool, events: list[Event]) -> TrackedTask:
    samples: tuple[Sample, ...] = ()
    if task.state == TaskState.IN_PROGRESS and task.progress is not None:
        samples = (Sample(now, task.progress, edge=False),)
    tracked = TrackedTask(task=task, first_seen=now, last_change=now, samples=samples)
    events.append(TaskAppeared(tracked, now, initial=initial))
    if not initial:
        # Started and finished between two polls: still news.
        if task.state == TaskState.COMPLETED:
            tracked = replace(tracked, completed_seen_at=now)
            events.append(TaskCompleted(tracked, now))
        elif task.state == TaskState.FAILED:
            events.append(TaskFailed(tracked, now, task.failure_reason))
    return tracked


def _add_sample(
    samples: tuple[Sample, ...], sample: Sample, now: datetime, settings: Settings
) -> tuple[Sample, ...]:
    if samples and sample.progress < samples[-1].progress:
        # Progress went backwards (the API's figure is an estimate): start over.
        return (replace(sample, edge=False),)
    kept = [*samples, sample]
    horizon = now - settings.rate_window
    # Keep the window, plus one sample before it so a full window always has an anchor.
    first_inside = next((i for i, s in enumerate(kept) if s.at >= horizon), len(kept))
    start = max(0, first_inside - 1, len(kept) - settings.max_samples)
    return tuple(kept[start:])


def _update(
    old: TrackedTask, task: StoreTask, now: datetime, settings: Settings, events: list[Event]
) -> TrackedTask:
    prev = old.task
    progress_changed = task.progress != prev.progress
    state_changed = task.state != prev.state
    samples = old.samples
    if task.state != TaskState.IN_PROGRESS:
        samples = ()  # only running tasks are estimated: finished ones keep no history
    elif progress_changed and task.progress is not None:
        samples = _add_sample(samples, Sample(now, task.progress, edge=True), now, settings)
    tracked = replace(
        old,
        task=task,
        samples=samples,
        last_change=now if (progress_changed or state_changed) else old.last_change,
        vanished_at=None,
    )
    if progress_changed:
        events.append(TaskProgressed(tracked, now, prev.progress, task.progress))
    if state_changed:
        if task.state == TaskState.COMPLETED:
            tracked = replace(tracked, completed_seen_at=now)
            events.append(TaskCompleted(tracked, now))
        elif task.state == TaskState.FAILED:
            events.append(TaskFailed(tracked, now, task.failure_reason))
        else:
            events.append(TaskStateChanged(tracked, now, prev.state, task.state))
    return tracked


def _clears(failure_target: Target | None, covered: frozenset[Target]) -> bool:
    if failure_target is None:
        return bool(covered)
    if failure_target in covered:
        return True
    # A target with no region configured is covered once its resolved region answers.
    return failure_target.region is None and any(
        t.profile == failure_target.profile and t.endpoint_url == failure_target.endpoint_url
        for t in covered
    )


def _reduce_failures(
    state: MonitorState, snapshot: Snapshot, now: datetime, events: list[Event]
) -> dict[Target | None, TargetFailure]:
    failures = dict(state.failures)
    for target in list(failures):
        if _clears(target, snapshot.covered):
            events.append(PollRecovered(target, now, failures.pop(target).since))
    for failure in snapshot.failures:
        prev = failures.get(failure.target)
        if prev is None:
            failures[failure.target] = TargetFailure(failure, since=now)
            events.append(PollFailed(failure, now))
        else:
            if (prev.failure.kind, prev.failure.message) != (failure.kind, failure.message):
                events.append(PollFailed(failure, now))
            failures[failure.target] = TargetFailure(failure, prev.since, prev.count + 1)
    return failures


def reduce(
    state: MonitorState,
    snapshot: Snapshot,
    now: datetime,
    settings: Settings = DEFAULT_SETTINGS,
) -> tuple[MonitorState, tuple[Event, ...]]:
    """Fold one poll into the state; return the new state and the events it produced.

    Tasks of targets that did not answer are kept as they were; a task of an answering
    target that is no longer returned is marked vanished, and dropped after
    ``settings.forget_after``. Unchanged tasks keep their identity (the same object), so a
    view can tell what changed with ``is``.
    """
    events: list[Event] = []
    tasks = dict(state.tasks)
    seen: set[TaskKey] = set()
    for task in snapshot.tasks:
        key = task.key
        if key in seen:
            continue
        seen.add(key)
        old = tasks.get(key)
        if old is None:
            initial = task.target not in state.covered
            tasks[key] = _first_sight(task, now, initial, events)
        elif old.task != task or old.vanished_at is not None:
            tasks[key] = _update(old, task, now, settings, events)

    forget_before = now - settings.forget_after
    scope = snapshot.scope
    left_scope = False
    for key, tracked in list(tasks.items()):
        if key in seen:
            continue
        if tracked.vanished_at is None:
            answered = key.target in snapshot.covered
            if scope is not None and (key.target, key.ami_id) not in snapshot.checked:
                # A scoped poll cannot tell "finished" from "gone": ask for a full listing.
                left_scope |= answered and tracked.task.state in scope
            elif answered:
                tracked = replace(tracked, vanished_at=now)
                tasks[key] = tracked
                events.append(TaskVanished(tracked, now))
        elif tracked.vanished_at < forget_before:
            del tasks[key]

    failures = _reduce_failures(state, snapshot, now, events)
    throttled = any(f.kind == "throttled" for f in snapshot.failures)
    full_answered = scope is None and bool(snapshot.covered) and not snapshot.failures
    new_state = MonitorState(
        tasks=tasks,
        polls=state.polls + 1,
        last_success=now if snapshot.covered else state.last_success,
        failures=failures,
        covered=state.covered | snapshot.covered,
        throttled_polls=state.throttled_polls + 1 if throttled else 0,
        polls_since_full=0 if full_answered else state.polls_since_full + 1,
        full_poll_due=left_scope or (state.full_poll_due and not full_answered),
    )
    return new_state, tuple(events)


# Estimates ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Estimate:
    """Derived progress figures for an InProgress task at a given moment."""

    rate: float | None = None  # percent per minute
    eta_at: datetime | None = None
    stalled: bool = False

    def remaining(self, now: datetime) -> timedelta | None:
        """Time left until ``eta_at``; never negative."""
        if self.eta_at is None:
            return None
        return max(timedelta(0), self.eta_at - now)


NO_ESTIMATE = Estimate()


def _minutes(delta: timedelta) -> float:
    return delta.total_seconds() / 60.0


def _window_rate(
    samples: tuple[Sample, ...], now: datetime, settings: Settings
) -> tuple[float, float] | None:
    """(observed, effective) rate in % per minute from the edges in the window ending at the
    last edge; effective decays with the time since that edge once a step is overdue."""
    edges = [s for s in samples if s.edge]
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
    if _minutes(now - last.at) > 1.0 / observed:
        # Overdue for the next step: the task is slowing, so let the rate decay with time.
        return observed, gained / _minutes(now - ref.at)
    return observed, observed


def estimate(
    tracked: TrackedTask, now: datetime, settings: Settings = DEFAULT_SETTINGS
) -> Estimate:
    """Rate (% per minute), ETA and stalled flag of an InProgress task at ``now``.

    The rate comes from the progress edges seen in the last ``rate_window``; without two
    edges far enough apart it falls back to the average since ``TaskStartTime``. When
    neither is trustworthy, or the task is stalled, there is no ETA: none is better than a
    wrong one.
    """
    task = tracked.task
    if task.state != TaskState.IN_PROGRESS or task.progress is None or tracked.vanished_at:
        return NO_ESTIMATE
    progress = task.progress
    rates = _window_rate(tracked.samples, now, settings)
    observed, rate = rates if rates else (None, None)
    if rate is None and task.start_time is not None and progress > 0:
        elapsed = now - task.start_time
        if elapsed >= settings.min_span:
            rate = progress / _minutes(elapsed)
    # Stalled: no movement for stall_after, and for 3x the step time the task has shown.
    threshold = settings.stall_after
    if observed:
        threshold = max(threshold, timedelta(minutes=3.0 / observed))
    stalled = now - tracked.last_change > threshold
    eta_at = None
    if rate is not None and rate > 0 and progress < 100 and not stalled:
        # Progress is whole percent: partway to the next step already, at most one step.
        since = _minutes(max(timedelta(0), now - tracked.last_change))
        remaining = max(0.0, 100 - progress - min(1.0, rate * since))
        eta_at = now + timedelta(minutes=remaining / rate)
    return Estimate(rate=rate, eta_at=eta_at, stalled=stalled)

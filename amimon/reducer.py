"""The pure heart of amimon: fold each poll into the monitor state and say what changed.

``reduce(state, snapshot, now)`` reads no clock and does no I/O, so every behaviour here is
a table-driven test away. Rates and ETAs are derived on demand in ``amimon.estimate`` from
the progress samples the reducer keeps.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime

from amimon.estimate import estimate
from amimon.model import (
    DEFAULT_SETTINGS,
    ErrorKind,
    ImageInfo,
    ImageLookup,
    PollFailure,
    Sample,
    Settings,
    Snapshot,
    StoreTask,
    Target,
    TargetPoll,
    TaskKey,
    TaskState,
    TrackedTask,
)

__all__ = [
    "DEFAULT_SETTINGS",
    "Event",
    "MonitorState",
    "Sample",
    "Settings",
    "TrackedTask",
    "add_images",
    "images_wanted",
    "reduce",
]


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
    # When each target last answered completely: tasks of a target were true at that time.
    answered_at: Mapping[Target, datetime] = field(default_factory=dict)
    failures: Mapping[Target | None, TargetFailure] = field(default_factory=dict)
    # Consecutive polls that were throttled: drives the backoff.
    throttled_polls: int = 0
    # Per target: scoped polls since its last full listing, and the targets that need a
    # full listing because a task left the scope unexplained (or none has answered yet).
    polls_since_full: Mapping[Target, int] = field(default_factory=dict)
    full_due: frozenset[Target] = frozenset()
    # AMI details from DescribeImages, looked up once per (target, AMI); targets that may
    # not call it (the permission is optional), with why.
    images: Mapping[tuple[Target, str], ImageInfo] = field(default_factory=dict)
    images_denied: Mapping[Target, PollFailure] = field(default_factory=dict)
    # From the history file: the median snapshot GiB/min of finished tasks per (target,
    # bucket), the ETA of a task that has no rate of its own yet.
    bucket_rates: Mapping[tuple[Target, str], float] = field(default_factory=dict)

    @property
    def covered(self) -> frozenset[Target]:
        """Targets that have answered at least once."""
        return frozenset(self.answered_at)

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

    def seen_at(self, target: Target) -> datetime | None:
        """When ``target``'s tasks were last confirmed."""
        return self.answered_at.get(target)

    def image(self, task: StoreTask) -> ImageInfo | None:
        """What DescribeImages said of the task's AMI, if it has been asked."""
        if task.ami_id is None:
            return None
        return self.images.get((task.target, task.ami_id))

    def image_of(self, tracked: TrackedTask) -> ImageInfo | None:
        return self.image(tracked.task)

    def is_stale(self, target: Target) -> bool:
        """True while polls of ``target`` are failing (its data is the last good data)."""
        return any(_concerns(t, target) for t in self.failures)


def _concerns(failure_target: Target | None, target: Target) -> bool:
    if failure_target is None or failure_target == target:
        return True
    return failure_target.region is None and (
        failure_target.profile == target.profile
        and failure_target.endpoint_url == target.endpoint_url
    )


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
    reason: str | None


@dataclass(frozen=True)
class TaskStateChanged:
    """A transition that is neither to Completed nor to Failed (e.g. to an unknown state)."""

    task: TrackedTask
    at: datetime
    old: str | None
    new: str | None


@dataclass(frozen=True)
class TaskStalled:
    """A running task has not moved for the stall window: reported once, like an ending."""

    task: TrackedTask
    at: datetime


@dataclass(frozen=True)
class ImagesUnavailable:
    """AMI details cannot be looked up for a target (said once per target)."""

    failure: PollFailure
    at: datetime


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


TaskEvent = (
    TaskAppeared
    | TaskProgressed
    | TaskCompleted
    | TaskFailed
    | TaskStateChanged
    | TaskStalled
    | TaskVanished
)
Event = TaskEvent | PollFailed | PollRecovered | ImagesUnavailable


# Reducer -----------------------------------------------------------------------------


def _first_sight(task: StoreTask, now: datetime, initial: bool, events: list[Event]) -> TrackedTask:
    samples: tuple[Sample, ...] = ()
    if task.state == TaskState.IN_PROGRESS and task.percent is not None:
        samples = (Sample(now, task.percent, edge=False),)
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
    old: TrackedTask,
    task: StoreTask,
    now: datetime,
    seen_before: datetime | None,
    settings: Settings,
    events: list[Event],
) -> TrackedTask:
    prev = old.task
    progress_changed = task.progress != prev.progress
    state_changed = task.state != prev.state
    samples = old.samples
    if task.state != TaskState.IN_PROGRESS:
        samples = ()  # only running tasks are estimated: finished ones keep no history
    elif progress_changed and task.percent is not None:
        samples = _add_sample(samples, Sample(now, task.percent, edge=True), now, settings)
    tracked = replace(
        old,
        task=task,
        samples=samples,
        last_change=now if (progress_changed or state_changed) else old.last_change,
        before_change=seen_before if state_changed else old.before_change,
        vanished_at=None,
        stalled_at=None if (progress_changed or state_changed) else old.stalled_at,
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
    return any(_concerns(failure_target, t) for t in covered)


def _reduce_failures(
    state: MonitorState, snapshot: Snapshot, now: datetime, events: list[Event]
) -> dict[Target | None, TargetFailure]:
    failures = dict(state.failures)
    covered = snapshot.covered
    for target in list(failures):
        if _clears(target, covered):
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


def _fold_tasks(
    state: MonitorState,
    polls: tuple[TargetPoll, ...],
    tasks: dict[TaskKey, TrackedTask],
    now: datetime,
    settings: Settings,
    events: list[Event],
) -> set[TaskKey]:
    seen: set[TaskKey] = set()
    for poll in polls:
        initial = poll.target not in state.answered_at
        seen_before = state.answered_at.get(poll.target)
        for task in poll.tasks:
            key = task.key
            if key in seen:
                continue
            seen.add(key)
            old = tasks.get(key)
            if old is None:
                tasks[key] = _first_sight(task, now, initial, events)
            elif old.task != task or old.vanished_at is not None:
                tasks[key] = _update(old, task, now, seen_before, settings, events)
    return seen


def _fold_stalls(
    tasks: dict[TaskKey, TrackedTask],
    seen: set[TaskKey],
    now: datetime,
    settings: Settings,
    events: list[Event],
) -> None:
    """Mark running tasks that have just become stalled; each is reported once."""
    for key in seen:
        tracked = tasks[key]
        if tracked.task.state != TaskState.IN_PROGRESS or tracked.stalled_at is not None:
            continue
        if estimate(tracked, now, settings).stalled:
            tracked = replace(tracked, stalled_at=now)
            tasks[key] = tracked
            events.append(TaskStalled(tracked, now))


def _fold_absences(
    polls: Mapping[Target, TargetPoll],
    tasks: dict[TaskKey, TrackedTask],
    seen: set[TaskKey],
    now: datetime,
    settings: Settings,
    events: list[Event],
) -> set[Target]:
    """Mark tasks the answers say are gone; return the targets whose scoped answer could not
    say where a task went (they need a full listing)."""
    forget_before = now - settings.forget_after
    unexplained: set[Target] = set()
    for key, tracked in list(tasks.items()):
        if key in seen:
            continue
        if tracked.vanished_at is not None:
            if tracked.vanished_at < forget_before:
                del tasks[key]
            continue
        poll = polls.get(key.target)
        if poll is None or poll.partial:
            continue
        if poll.complete_for(tracked.task):
            tracked = replace(tracked, vanished_at=now)
            tasks[key] = tracked
            events.append(TaskVanished(tracked, now))
        elif poll.scope is not None and tracked.task.state in poll.scope:
            # A scoped poll cannot tell "finished" from "gone": ask for a full listing.
            unexplained.add(key.target)
    return unexplained


def reduce(
    state: MonitorState,
    snapshot: Snapshot,
    now: datetime,
    settings: Settings = DEFAULT_SETTINGS,
) -> tuple[MonitorState, tuple[Event, ...]]:
    """Fold one poll into the state; return the new state and the events it produced.

    Tasks of targets that did not answer are kept as they were; a task of an answering
    target that is no longer returned is marked vanished, and dropped after
    ``settings.forget_after``. A partial snapshot (pages of a listing still running) only
    adds and updates tasks. Unchanged tasks keep their identity (the same object), so a
    view can tell what changed with ``is``.
    """
    events: list[Event] = []
    tasks = dict(state.tasks)
    seen = _fold_tasks(state, snapshot.polls, tasks, now, settings, events)
    if snapshot.partial and not snapshot.failures:
        return replace(state, tasks=tasks), tuple(events)

    complete = {p.target: p for p in snapshot.polls if not p.partial}
    _fold_stalls(tasks, seen, now, settings, events)
    unexplained = _fold_absences(complete, tasks, seen, now, settings, events)
    failures = _reduce_failures(state, snapshot, now, events)
    throttled = any(f.kind is ErrorKind.THROTTLED for f in snapshot.failures)

    answered_at = dict(state.answered_at)
    since_full = dict(state.polls_since_full)
    full_due = set(state.full_due)
    for target, poll in complete.items():
        answered_at[target] = now
        if poll.scope is None:
            since_full[target] = 0
            full_due.discard(target)
        else:
            since_full[target] = since_full.get(target, 0) + 1
    full_due |= unexplained
    new_state = replace(
        state,
        tasks=tasks,
        polls=state.polls + 1,
        last_success=now if complete else state.last_success,
        answered_at=answered_at,
        failures=failures,
        throttled_polls=state.throttled_polls + 1 if throttled else 0,
        polls_since_full=since_full,
        full_due=frozenset(full_due),
    )
    return new_state, tuple(events)


# AMI details -------------------------------------------------------------------------


def images_wanted(state: MonitorState) -> dict[Target, list[str]]:
    """The AMIs of known tasks not yet looked up, per target allowed to look them up."""
    wanted: dict[Target, set[str]] = {}
    for key in state.tasks:
        target, ami = key.target, key.ami_id
        if ami is None or target in state.images_denied or (target, ami) in state.images:
            continue
        wanted.setdefault(target, set()).add(ami)
    return {target: sorted(amis) for target, amis in wanted.items()}


def add_images(
    state: MonitorState, lookup: ImageLookup, now: datetime
) -> tuple[MonitorState, tuple[Event, ...]]:
    """Fold a round of DescribeImages look-ups into the state. A target that may not call
    it is said once and not asked again; other failures are asked again next poll."""
    events: list[Event] = []
    images = dict(state.images)
    for image in lookup.images:
        images[(image.target, image.ami_id)] = image
    denied = dict(state.images_denied)
    for failure in lookup.failures:
        if failure.kind is ErrorKind.PERMISSION and failure.target is not None:
            if failure.target not in denied:
                events.append(ImagesUnavailable(failure, now))
            denied[failure.target] = failure
    return replace(state, images=images, images_denied=denied), tuple(events)

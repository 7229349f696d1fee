"""The pure heart of amimon: fold each poll into the monitor state and say what changed.

``reduce(state, snapshot, now)`` reads no clock and does no I/O, so every behaviour here is
a table-driven test away. Rates and ETAs are derived on demand in ``amimon.estimate`` from
the progress samples the reducer keeps.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from datetime import datetime

from amimon.estimate import estimate
from amimon.events import (
    Event,
    ImagesUnavailable,
    PollFailed,
    PollRecovered,
    TaskAppeared,
    TaskCompleted,
    TaskEvent,
    TaskFailed,
    TaskProgressed,
    TaskStalled,
    TaskStateChanged,
    TaskVanished,
)
from amimon.model import (
    DEFAULT_SETTINGS,
    ErrorKind,
    ImageLookup,
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
from amimon.state import MonitorState, TargetFailure, concerns, images_wanted

# The state and the events live in ``amimon.state`` and ``amimon.events`` (the screen
# draws a state without loading the events); they are named here too, with the reducer.
__all__ = [
    "DEFAULT_SETTINGS",
    "Event",
    "ImagesUnavailable",
    "MonitorState",
    "PollFailed",
    "PollRecovered",
    "Sample",
    "Settings",
    "TargetFailure",
    "TaskAppeared",
    "TaskCompleted",
    "TaskEvent",
    "TaskFailed",
    "TaskProgressed",
    "TaskStalled",
    "TaskStateChanged",
    "TaskVanished",
    "TrackedTask",
    "add_images",
    "images_wanted",
    "reduce",
]


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
    return any(concerns(failure_target, t) for t in covered)


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

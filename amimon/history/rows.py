"""What one poll adds to the history: a pure function from the states before and after it.

``poll_rows(before, after, now)`` reads no clock and does no I/O. The reducer keeps every
unchanged task the same object, so a poll that changed ten tasks of a thousand costs ten
rows, found by identity. The events ``reduce()`` returned are not needed: every fact they
carry is in the two states, so a caller that reduced several pages of one listing may pass
the state before the first page and the state after the last.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from amimon.model import Target, TaskState, TrackedTask
from amimon.records import record
from amimon.state import MonitorState

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_SURROGATE = re.compile("[\ud800-\udfff]")
_MICROSECOND = timedelta(microseconds=1)


def to_us(moment: datetime) -> int:
    """Whole microseconds since the epoch: exact, unlike a float timestamp."""
    return (moment - EPOCH) // _MICROSECOND


def from_us(us: int) -> datetime:
    return EPOCH + timedelta(microseconds=us)


def storable(value: str | None) -> str | None:
    """``value`` unchanged unless it holds lone surrogates, which UTF-8 (and so SQLite)
    cannot carry: those become U+FFFD rather than costing the whole poll's write."""
    if value is None:
        return None
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return _SURROGATE.sub("\ufffd", value)
    return value


@record
class TaskRow:
    """A task's current values, and when its current state began if this poll saw that:
    after ``state_after`` (None: unknown) and by ``state_seen``. Both None when the state
    did not change in this poll (the stored window stays)."""

    target: Target
    ami_id: str
    start_time: datetime
    bucket: str | None
    object_key: str | None
    progress: int | None
    state: str | None
    reason: str | None
    first_seen: datetime
    last_change: datetime
    state_after: datetime | None
    state_seen: datetime | None
    vanished_at: datetime | None
    updated: datetime


@record
class ChangeRow:
    """A state change and the poll window it happened in: after the last poll that saw
    ``old_state`` (None: not seen, e.g. it started and ended between two polls), by the
    first poll that saw ``new_state``."""

    target: Target
    ami_id: str
    start_time: datetime
    old_state: str | None
    new_state: str | None
    after: datetime | None
    seen: datetime


@record
class SampleRow:
    """Progress seen at a poll (``edge``: it had just changed). The store keeps at most one
    a minute and the newest ``MAX_SAMPLES`` per task."""

    target: Target
    ami_id: str
    start_time: datetime
    at: datetime
    progress: int
    edge: bool


@record
class ImageInfo:
    """What DescribeImages says about an AMI; either field may be unknown."""

    target: Target
    ami_id: str
    name: str | None = None
    size_gib: float | None = None


@record
class PollRows:
    """Everything one poll adds to the history: written in one transaction."""

    at: datetime
    answered: tuple[tuple[Target, datetime], ...] = ()
    tasks: tuple[TaskRow, ...] = ()
    changes: tuple[ChangeRow, ...] = ()
    samples: tuple[SampleRow, ...] = ()

    @property
    def empty(self) -> bool:
        return not (self.answered or self.tasks)


def _task_row(
    tracked: TrackedTask,
    ami_id: str,
    start: datetime,
    window: tuple[datetime | None, datetime | None],
    now: datetime,
) -> TaskRow:
    task = tracked.task
    return TaskRow(
        target=task.target,
        ami_id=ami_id,
        start_time=start,
        bucket=storable(task.bucket),
        object_key=storable(task.object_key),
        progress=task.progress,
        state=storable(task.state),
        reason=storable(task.failure_reason),
        first_seen=tracked.first_seen,
        last_change=tracked.last_change,
        state_after=window[0],
        state_seen=window[1],
        vanished_at=tracked.vanished_at,
        updated=now,
    )


def poll_rows(before: MonitorState, after: MonitorState, now: datetime) -> PollRows:
    """The rows one poll adds: the targets that answered, every task that changed (new,
    moved, changed state, vanished, back), its state change with the poll window it
    happened in, and its new progress sample.

    A task first seen on its target's first answer has no known start of its state (it
    may have finished long ago); one first seen later began its state after it started.
    Tasks without an AMI id or a start time cannot be told apart across restarts and are
    not recorded.
    """
    answered = tuple(
        (target, at)
        for target, at in after.answered_at.items()
        if before.answered_at.get(target) != at
    )
    tasks: list[TaskRow] = []
    changes: list[ChangeRow] = []
    samples: list[SampleRow] = []
    # Identity, not keys: hashing 1,000 task keys costs more than the rest of a quiet poll.
    unchanged = {id(t) for t in before.tasks.values()}
    for key, tracked in after.tasks.items():
        if id(tracked) in unchanged:
            continue
        old = before.tasks.get(key)
        task = tracked.task
        ami_id, start = storable(task.ami_id), task.start_time
        if ami_id is None or start is None:
            continue
        state = storable(task.state)
        window: tuple[datetime | None, datetime | None] = (None, None)
        if old is None:
            initial = task.target not in before.answered_at
            window = (None if initial else min(start, now), now)
            if not initial and task.state != TaskState.IN_PROGRESS:
                changes.append(ChangeRow(task.target, ami_id, start, None, state, window[0], now))
        elif old.task.state != task.state:
            window = (tracked.before_change, now)
            old_state = storable(old.task.state)
            changes.append(ChangeRow(task.target, ami_id, start, old_state, state, window[0], now))
        tasks.append(_task_row(tracked, ami_id, start, window, now))
        if tracked.samples:
            last = tracked.samples[-1]
            if old is None or not old.samples or old.samples[-1] is not last:
                samples.append(
                    SampleRow(task.target, ami_id, start, last.at, last.progress, last.edge)
                )
    return PollRows(now, answered, tuple(tasks), tuple(changes), tuple(samples))


def _known_window(tracked: TrackedTask, start: datetime) -> tuple[datetime | None, datetime]:
    """When the task's current state began, as far as the monitor state remembers."""
    after = tracked.before_change
    if tracked.task.state == TaskState.COMPLETED and tracked.completed_seen_at is not None:
        return (start if after is None else after), tracked.completed_seen_at
    return after, (tracked.first_seen if after is None else tracked.last_change)


def state_rows(state: MonitorState, now: datetime) -> PollRows:
    """Everything ``state`` knows, as rows: what a fresh file that replaced a damaged or
    locked one needs, since tasks that do not change again would never reach it."""
    tasks: list[TaskRow] = []
    samples: list[SampleRow] = []
    for tracked in state.tasks.values():
        task = tracked.task
        ami_id, start = storable(task.ami_id), task.start_time
        if ami_id is None or start is None:
            continue
        tasks.append(_task_row(tracked, ami_id, start, _known_window(tracked, start), now))
        samples.extend(
            SampleRow(task.target, ami_id, start, s.at, s.progress, s.edge) for s in tracked.samples
        )
    return PollRows(now, tuple(state.answered_at.items()), tuple(tasks), (), tuple(samples))

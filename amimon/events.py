"""What a poll changed, as ``amimon.reducer.reduce`` tells it: the news the event log,
the toasts, the bell, ``on_event`` commands and ``wait`` act on."""

from __future__ import annotations

from datetime import datetime

from amimon.model import PollFailure, Target, TrackedTask
from amimon.records import record

__all__ = [
    "Event",
    "ImagesUnavailable",
    "PollFailed",
    "PollRecovered",
    "TaskAppeared",
    "TaskCompleted",
    "TaskEvent",
    "TaskFailed",
    "TaskProgressed",
    "TaskStalled",
    "TaskStateChanged",
    "TaskVanished",
]


@record
class TaskAppeared:
    """A task seen for the first time."""

    task: TrackedTask
    at: datetime
    # True for tasks found by the first poll of their target: not news, just the start.
    initial: bool = False


@record
class TaskProgressed:
    """A running task's percentage moved."""

    task: TrackedTask
    at: datetime
    old: int | None
    new: int | None


@record
class TaskCompleted:
    """A task reached Completed."""

    task: TrackedTask
    at: datetime


@record
class TaskFailed:
    """A task reached Failed, with the reason the API gave."""

    task: TrackedTask
    at: datetime
    reason: str | None


@record
class TaskStateChanged:
    """A transition that is neither to Completed nor to Failed (e.g. to an unknown state)."""

    task: TrackedTask
    at: datetime
    old: str | None
    new: str | None


@record
class TaskStalled:
    """A running task has not moved for the stall window: reported once, like an ending."""

    task: TrackedTask
    at: datetime


@record
class ImagesUnavailable:
    """AMI details cannot be looked up for a target (said once per target)."""

    failure: PollFailure
    at: datetime


@record
class TaskVanished:
    """A task no longer returned: usually it left the 31-day window."""

    task: TrackedTask
    at: datetime


@record
class PollFailed:
    """A poll (of one target, or of all: ``failure.target`` None) failed."""

    failure: PollFailure
    at: datetime


@record
class PollRecovered:
    """Polls of a target answer again after failing since ``down_since``."""

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

"""What the monitor knows: ``MonitorState``, which ``amimon.reducer`` folds each poll into.

Apart from the reducer and its events so that the screen can be drawn, and the state
passed around, without loading them (the first frame has no news to tell).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import field
from datetime import datetime

from amimon.model import ImageInfo, PollFailure, StoreTask, Target, TaskKey, TrackedTask
from amimon.records import record

__all__ = ["MonitorState", "TargetFailure", "concerns", "images_wanted"]


@record
class TargetFailure:
    """A target whose polls are failing, and since when."""

    failure: PollFailure
    since: datetime
    count: int = 1


@record
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
        return any(concerns(t, target) for t in self.failures)


def concerns(failure_target: Target | None, target: Target) -> bool:
    """True if a failure of ``failure_target`` (None: all of them; a target without a
    region: its profile's every region) covers ``target``."""
    if failure_target is None or failure_target == target:
        return True
    return failure_target.region is None and (
        failure_target.profile == target.profile
        and failure_target.endpoint_url == target.endpoint_url
    )


def images_wanted(state: MonitorState) -> dict[Target, list[str]]:
    """The AMIs of known tasks not yet looked up, per target allowed to look them up."""
    wanted: dict[Target, set[str]] = {}
    for key in state.tasks:
        target, ami = key.target, key.ami_id
        if ami is None or target in state.images_denied or (target, ami) in state.images:
            continue
        wanted.setdefault(target, set()).add(ami)
    return {target: sorted(amis) for target, amis in wanted.items()}

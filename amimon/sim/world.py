"""The simulated account: a scenario's tasks and images moved forward by a clock. No I/O."""

from __future__ import annotations

import bisect
import secrets
import threading
from collections.abc import Iterator
from datetime import datetime, timedelta

from amimon.model import TaskState
from amimon.sim.clock import Clock
from amimon.sim.images import Image, resolve_image
from amimon.sim.protocol import ApiError, PageTokens
from amimon.sim.spec import DEFAULT_REGION, WINDOW, Scenario, TaskSpec, TaskStatus, status_at


def _order(spec: TaskSpec) -> tuple[timedelta, str]:
    return (spec.start, spec.ami_id)


def not_found(ami_ids: list[str]) -> ApiError:
    """EC2's error for AMI ids that do not exist (or no longer do)."""
    if len(ami_ids) == 1:
        return ApiError("InvalidAMIID.NotFound", f"The image id '[{ami_ids[0]}]' does not exist")
    return ApiError("InvalidAMIID.NotFound", f"The image ids '[{', '.join(ami_ids)}]' do not exist")


class Simulator:
    """Tasks per region kept in start order, so a page costs its size, not the whole list."""

    def __init__(self, scenario: Scenario, clock: Clock, created_duration: timedelta) -> None:
        self.clock = clock
        self.origin = clock.now()
        self.account = scenario.account
        self.tokens = PageTokens(secrets.token_bytes(16))
        self._created_duration = created_duration
        self._lock = threading.Lock()
        self._tasks: dict[str, list[TaskSpec]] = {}
        for spec in scenario.tasks:
            self._tasks.setdefault(spec.region, []).append(spec)
        for specs in self._tasks.values():
            specs.sort(key=_order)
        # Which AMIs exist where, and the earliest scripted store of each (never later
        # than the simulator's start), from which an image's creation date is derived.
        self._facts = scenario.image_facts()
        self._first: dict[str, dict[str, timedelta]] = {}
        for spec in scenario.tasks:
            first = self._first.setdefault(spec.region, {})
            first[spec.ami_id] = min(first.get(spec.ami_id, timedelta(0)), spec.start)
        stored = {spec.ami_id for spec in scenario.tasks}
        for facts in scenario.images:
            if facts.region is not None:
                self._first.setdefault(facts.region, {}).setdefault(facts.ami_id, timedelta(0))
            elif facts.ami_id not in stored:
                self._first.setdefault(DEFAULT_REGION, {}).setdefault(facts.ami_id, timedelta(0))
        self._images: dict[tuple[str, str], Image] = {}

    # tasks

    def tasks(
        self, region: str, now: datetime, before: tuple[datetime, str] | None = None
    ) -> Iterator[TaskStatus]:
        """Tasks of ``region`` in the 31-day window at ``now``, newest first; with ``before``
        (a start time and AMI id), only those older than that point."""
        with self._lock:
            specs = list(self._tasks.get(region, ()))
        elapsed = now - self.origin
        end = bisect.bisect_right(specs, elapsed, key=lambda s: s.start)  # started by now
        if before is not None:
            point = (before[0] - self.origin, before[1])
            end = min(end, bisect.bisect_left(specs, point, key=_order))
        oldest = elapsed - WINDOW
        for index in range(end - 1, -1, -1):
            spec = specs[index]
            if spec.start < oldest:
                break
            status = status_at(spec, self.origin, now)
            if status is not None:
                yield status

    def regions(self) -> list[str]:
        """Regions with tasks, the default region first."""
        with self._lock:
            return sorted(self._tasks, key=lambda r: (r != DEFAULT_REGION, r))

    def create(self, region: str, ami_id: str, bucket: str) -> TaskSpec:
        image = self.image(region, ami_id)
        if image is None or image.deregistered:
            raise not_found([ami_id])
        now = self.clock.now()
        for task in self.tasks(region, now):
            if task.spec.ami_id != ami_id:
                continue
            if task.state == TaskState.IN_PROGRESS:
                raise ApiError(
                    "InvalidParameter", f"A store task for {ami_id} is already in progress."
                )
            if task.spec.bucket == bucket and task.state == TaskState.COMPLETED:
                raise ApiError(
                    "InvalidParameter", f"{ami_id} is already stored in bucket {bucket}."
                )
        spec = TaskSpec(
            ami_id=ami_id,
            bucket=bucket,
            start=now - self.origin,
            duration=self._created_duration,
            region=region,
        )
        with self._lock:
            bisect.insort(self._tasks.setdefault(region, []), spec, key=_order)
        return spec

    # images

    def image(self, region: str, ami_id: str) -> Image | None:
        """The image of ``ami_id`` in ``region``, deregistered or not; None if there is none."""
        with self._lock:
            first = self._first.get(region, {}).get(ami_id)
            if first is None:
                return None
            image = self._images.get((region, ami_id))
            if image is None:
                image = resolve_image(
                    ami_id, self._facts.get(ami_id), self.account, self.origin + first
                )
                self._images[(region, ami_id)] = image
            return image

    def images(self, region: str) -> list[Image]:
        """Every image of ``region`` (deregistered ones too), by AMI id."""
        with self._lock:
            ids = sorted(self._first.get(region, ()))
        return [image for ami in ids if (image := self.image(region, ami)) is not None]

"""The simulated world's facts: scripted store tasks, image facts, and a task's state at a moment."""

from __future__ import annotations

from datetime import datetime, timedelta

from amimon.config import parse_duration
from amimon.model import TaskState
from amimon.records import record

DEFAULT_REGION = "us-east-1"
# The caller's account: AWS's documentation example account id.
DEFAULT_ACCOUNT = "111122223333"
WINDOW = timedelta(days=31)
ARCHITECTURES = ("x86_64", "arm64", "i386", "x86_64_mac", "arm64_mac")
MIN_VOLUME_GIB, MAX_VOLUME_GIB, MAX_VOLUMES = 8, 2048, 4


@record
class TaskSpec:
    """One scripted store task. ``start`` is relative to the simulator's start."""

    ami_id: str
    bucket: str
    start: timedelta
    duration: timedelta
    fail_at: int | None = None
    reason: str = ""
    region: str = DEFAULT_REGION
    object_key: str = ""

    @property
    def key(self) -> str:
        return self.object_key or f"{self.ami_id}.bin"


@record
class ImageSpec:
    """What a scenario says about one AMI; every ``None`` is derived from the AMI id.

    The image exists in each region where a task stores the AMI, in ``region`` if given,
    and in the default region if neither. ``deregistered`` images are not returned.
    """

    ami_id: str
    region: str | None = None
    name: str | None = None
    description: str | None = None
    architecture: str | None = None
    volumes: tuple[int, ...] | None = None  # GiB, the root volume first
    deregistered: bool = False
    owner: str | None = None  # None: the scenario's account


@record
class Scenario:
    """Store tasks, facts about their AMIs, and the account that asks."""

    tasks: tuple[TaskSpec, ...]
    images: tuple[ImageSpec, ...] = ()
    account: str = DEFAULT_ACCOUNT

    def image_facts(self) -> dict[str, ImageSpec]:
        """The facts per AMI id (the last one given wins)."""
        return {spec.ami_id: spec for spec in self.images}


@record
class TaskStatus:
    """A spec's task as the API reports it at one moment."""

    spec: TaskSpec
    start_time: datetime
    progress: int
    state: str
    reason: str


def status_at(spec: TaskSpec, origin: datetime, now: datetime) -> TaskStatus | None:
    """The task at ``now``, or None if it has not started yet."""
    start_time = origin + spec.start
    elapsed = now - start_time
    if elapsed < timedelta(0):
        return None
    fraction = 1.0 if spec.duration <= timedelta(0) else min(1.0, elapsed / spec.duration)
    progress = int(fraction * 100)
    if spec.fail_at is not None and progress >= spec.fail_at:
        return TaskStatus(spec, start_time, spec.fail_at, TaskState.FAILED.value, spec.reason)
    if fraction >= 1.0:
        return TaskStatus(spec, start_time, 100, TaskState.COMPLETED.value, "")
    return TaskStatus(spec, start_time, progress, TaskState.IN_PROGRESS.value, "")


def parse_offset(value: object) -> timedelta:
    """``"90s"``, ``"-45m"``, ``"2h"``, ``"3d"`` or a number of seconds."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return timedelta(seconds=value)
    if isinstance(value, str):
        text = value.strip()
        sign = -1 if text.startswith("-") else 1
        try:
            return timedelta(seconds=sign * parse_duration(text.lstrip("-"), allow_zero=True))
        except ValueError:
            pass
    raise ValueError(f"expected a duration like '45m', '-2h' or seconds, got {value!r}")

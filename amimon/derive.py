"""What follows from tasks and AMI details together: retried failures, the store quota in
use, throughput, and the command that retries a failed store. Pure; no I/O."""

from __future__ import annotations

import shlex
from collections.abc import Iterable
from datetime import UTC, datetime

from amimon.estimate import Estimate
from amimon.model import Target, TaskKey, TaskState, TrackedTask
from amimon.records import record
from amimon.state import MonitorState

# AWS's documented limit on snapshot data in in-progress store tasks per account (it was
# 600 GB before; AWS has changed it, so it is the config key store_quota_gb).
DEFAULT_STORE_QUOTA_GB = 1200
QUOTA_WARNING = 0.8

_EPOCH = datetime.min.replace(tzinfo=UTC)


def retried(tasks: Iterable[TrackedTask]) -> frozenset[TaskKey]:
    """Failed tasks whose AMI has a later task in the same bucket (same account and
    region) that completed or is running: the failure is dealt with."""
    tasks = list(tasks)
    failed = [t for t in tasks if t.task.state == TaskState.FAILED]
    if not failed:
        return frozenset()
    amis = {t.task.ami_id for t in failed}  # only their AMIs' other tasks matter
    latest_ok: dict[tuple[Target, str | None, str | None], datetime] = {}
    for tracked in tasks:
        task = tracked.task
        if task.ami_id not in amis or not task.start_time:
            continue
        if task.state in (TaskState.COMPLETED, TaskState.IN_PROGRESS):
            group = (task.target, task.ami_id, task.bucket)
            if task.start_time > latest_ok.get(group, _EPOCH):
                latest_ok[group] = task.start_time
    out = set()
    for tracked in failed:
        task = tracked.task
        later = latest_ok.get((task.target, task.ami_id, task.bucket))
        if later is not None and task.start_time is not None and later > task.start_time:
            out.add(tracked.key)
    return frozenset(out)


_retried_of: tuple[MonitorState | None, frozenset[TaskKey]] = (None, frozenset())


def retried_in(state: MonitorState) -> frozenset[TaskKey]:
    """``retried`` of a state's tasks, worked out once per state (the poll worker, the
    table and the header all ask)."""
    global _retried_of
    known, keys = _retried_of
    if known is not state:
        keys = retried(state.tasks.values())
        _retried_of = (state, keys)
    return keys


@record
class QuotaUse:
    """Snapshot GiB of a target's InProgress store tasks, against the account's limit."""

    target: Target
    used_gib: int
    unknown: int  # running tasks whose size is not known (yet, or ever)
    limit_gib: int

    @property
    def fraction(self) -> float:
        return self.used_gib / self.limit_gib if self.limit_gib else 0.0

    @property
    def warning(self) -> bool:
        return self.fraction >= QUOTA_WARNING


def quota_use(
    state: MonitorState, targets: Iterable[Target], limit_gib: int
) -> dict[Target, QuotaUse]:
    """Per target (an account and region): snapshot GiB of InProgress tasks."""
    used = {t: 0 for t in targets}
    unknown = dict.fromkeys(used, 0)
    for tracked in state.tasks.values():
        task = tracked.task
        if task.state != TaskState.IN_PROGRESS or tracked.vanished_at is not None:
            continue
        if task.target not in used:
            used[task.target], unknown[task.target] = 0, 0
        image = state.image(task)
        if image is not None and image.size_gib is not None:
            used[task.target] += image.size_gib
        else:
            unknown[task.target] += 1
    return {t: QuotaUse(t, used[t], unknown[t], limit_gib) for t in used}


def throughput(est: Estimate, size_gib: int | None) -> float | None:
    """Snapshot GiB per minute, from the rate (percent per minute) and the AMI's size."""
    if est.rate is None or size_gib is None:
        return None
    return est.rate * size_gib / 100.0


def retry_command(tracked: TrackedTask) -> str:
    """The AWS CLI command that stores the AMI again, for the user to run: amimon itself
    never calls a mutating API. CreateStoreImageTask takes no key or prefix (the object is
    always ``<ami-id>.bin``), so the bucket is all it needs."""
    task = tracked.task
    words = [
        "aws",
        "ec2",
        "create-store-image-task",
        "--image-id",
        task.ami_id or "",
        "--bucket",
        task.bucket or "",
    ]
    if task.target.region:
        words += ["--region", task.target.region]
    if task.target.profile:
        words += ["--profile", task.target.profile]
    if task.target.endpoint_url:
        words += ["--endpoint-url", task.target.endpoint_url]
    return shlex.join(words)

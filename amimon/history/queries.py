"""What the history can tell: past tasks with how long they took, and per-bucket figures."""

from __future__ import annotations

import sqlite3
import statistics
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any

from amimon.ended import Ending
from amimon.history.rows import from_us, to_us
from amimon.history.store import HistoryStore
from amimon.history.write import endpoint_text
from amimon.model import Target, TaskState
from amimon.records import record

FINAL_STATES: tuple[str, ...] = (TaskState.COMPLETED.value, TaskState.FAILED.value)


@record
class PastTask:
    """A task as the history last knew it, with when it ended and the AMI's details."""

    target: Target
    ami_id: str
    start_time: datetime
    bucket: str | None
    object_key: str | None
    progress: int | None
    state: str | None
    reason: str | None
    first_seen: datetime
    vanished_at: datetime | None
    ending: Ending | None
    image_name: str | None = None
    size_gib: float | None = None

    @property
    def gib_per_minute(self) -> float | None:
        if self.ending is None or self.state != TaskState.COMPLETED:
            return None
        return self.ending.gib_per_minute(self.size_gib)


@record
class Throughput:
    """The median snapshot GiB per minute of ``tasks`` measured completed tasks."""

    gib_per_minute: float
    tasks: int


@record
class BucketSummary:
    """One bucket's stored tasks: how many ended how, and their median time and speed."""

    bucket: str | None
    tasks: int
    completed: int
    failed: int
    median_took: timedelta | None
    median_gib_per_minute: float | None


_PAST = """
SELECT g.profile, g.region, g.endpoint, t.ami_id, t.start_us, t.bucket, t.object_key,
       t.progress, t.state, t.reason, t.first_seen_us, t.vanished_us, t.state_after_us,
       t.state_seen_us, i.name, i.size_gib
FROM tasks t JOIN targets g ON g.id = t.target_id
LEFT JOIN images i ON i.target_id = t.target_id AND i.ami_id = t.ami_id
"""


def _where(
    since: datetime | None,
    buckets: Sequence[str],
    states: Sequence[str],
    profiles: Sequence[str],
    regions: Sequence[str],
    endpoint: str | None,
    ami_ids: Sequence[str],
) -> tuple[str, list[object]]:
    clauses: list[str] = []
    args: list[object] = []

    def any_of(column: str, values: Sequence[str]) -> None:
        if values:
            clauses.append(f"{column} IN ({', '.join('?' * len(values))})")
            args.extend(values)

    if since is not None:
        clauses.append("t.start_us >= ?")
        args.append(to_us(since))
    any_of("t.ami_id", ami_ids)
    any_of("t.bucket", buckets)
    any_of("t.state", states)
    any_of("g.profile", profiles)
    any_of("g.region", regions)
    if endpoint:
        clauses.append("g.endpoint = ?")
        args.append(endpoint_text(endpoint))
    return (" WHERE " + " AND ".join(clauses)) if clauses else "", args


def _past(row: Sequence[Any]) -> PastTask:
    (profile, region, endpoint, ami_id, start_us, bucket, key, progress, state, reason) = row[:10]
    first_seen, vanished, after, seen, name, size = row[10:]
    start = from_us(start_us)
    ending = None
    if state in FINAL_STATES and seen is not None:
        ending = Ending(start, None if after is None else from_us(after), from_us(seen))
    return PastTask(
        target=Target(profile or None, region or None, endpoint or None),
        ami_id=ami_id,
        start_time=start,
        bucket=bucket,
        object_key=key,
        progress=progress,
        state=state,
        reason=reason,
        first_seen=from_us(first_seen),
        vanished_at=None if vanished is None else from_us(vanished),
        ending=ending,
        image_name=name,
        size_gib=size,
    )


def past_tasks(
    store: HistoryStore,
    *,
    since: datetime | None = None,
    buckets: Sequence[str] = (),
    states: Sequence[str] = FINAL_STATES,
    profiles: Sequence[str] = (),
    regions: Sequence[str] = (),
    endpoint: str | None = None,
    ami_ids: Sequence[str] = (),
) -> list[PastTask]:
    """Tasks in the history, newest start first: by default the finished ones (Completed
    or Failed), also those AWS no longer returns. ``since`` bounds the start time; the
    other filters take exact values (any of each; all filters together)."""
    where, args = _where(since, buckets, states, profiles, regions, endpoint, ami_ids)
    sql = f"{_PAST}{where} ORDER BY t.start_us DESC, t.ami_id"

    def query(conn: sqlite3.Connection) -> list[PastTask]:
        return [_past(row) for row in conn.execute(sql, args)]

    return store.read(query, [])


def _median(values: Iterable[float]) -> float | None:
    seen = list(values)
    return statistics.median(seen) if seen else None


def summarize(tasks: Iterable[PastTask]) -> list[BucketSummary]:
    """Per bucket (in name order): how many tasks, how many completed and failed, and the
    median duration and GiB/min of the completed ones that were measured."""
    groups: dict[str | None, list[PastTask]] = {}
    for task in tasks:
        groups.setdefault(task.bucket, []).append(task)
    out = []
    for bucket in sorted(groups, key=lambda b: (b is None, b or "")):
        group = groups[bucket]
        done = [t for t in group if t.state == TaskState.COMPLETED]
        took = _median(
            t.ending.took.total_seconds()
            for t in done
            if t.ending is not None and t.ending.precise and t.ending.took is not None
        )
        out.append(
            BucketSummary(
                bucket=bucket,
                tasks=len(group),
                completed=len(done),
                failed=sum(1 for t in group if t.state == TaskState.FAILED),
                median_took=None if took is None else timedelta(seconds=took),
                median_gib_per_minute=_median(
                    r for t in done if (r := t.gib_per_minute) is not None
                ),
            )
        )
    return out


def throughput(
    store: HistoryStore,
    bucket: str,
    *,
    target: Target | None = None,
    since: datetime | None = None,
) -> Throughput | None:
    """The median snapshot GiB/min of the measured completed tasks that stored to
    ``bucket`` (from ``target`` only, if given): the prior for the ETA of a task that has
    just started there (its size ÷ this). None until one such task with a known size."""
    tasks = past_tasks(store, since=since, buckets=(bucket,), states=(TaskState.COMPLETED.value,))
    if target is not None:
        wanted = Target(target.profile, target.region, endpoint_text(target.endpoint_url) or None)
        tasks = [t for t in tasks if t.target == wanted]
    rates = [r for t in tasks if (r := t.gib_per_minute) is not None]
    median = _median(rates)
    return None if median is None else Throughput(median, len(rates))

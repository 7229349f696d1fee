"""``seed``: a MonitorState rebuilt from the history, so the first frame already knows."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from amimon.history.rows import from_us, to_us
from amimon.history.store import HistoryStore
from amimon.history.write import target_columns
from amimon.model import StoreTask, Target, TaskKey, TaskState
from amimon.reducer import DEFAULT_SETTINGS, MonitorState, Sample, Settings, TrackedTask

# AWS returns only tasks from the last 31 days: older ones would only vanish at once.
API_WINDOW = timedelta(days=31)

_TASKS = """
SELECT id, ami_id, start_us, bucket, object_key, progress, state, reason,
       first_seen_us, last_change_us, state_after_us, state_seen_us
FROM tasks WHERE target_id = ? AND vanished_us IS NULL AND start_us >= ?
"""
_SAMPLES = """
SELECT s.task_id, s.at_us, s.progress, s.edge FROM samples s JOIN tasks t ON t.id = s.task_id
WHERE t.target_id = ? AND t.state = ? AND t.vanished_us IS NULL AND t.start_us >= ?
ORDER BY s.task_id, s.at_us
"""


def seed(
    store: HistoryStore,
    targets: Iterable[Target],
    *,
    now: datetime | None = None,
    settings: Settings = DEFAULT_SETTINGS,
) -> MonitorState:
    """The monitor's starting state for ``targets``, from what the history kept.

    Each target's tasks that had not vanished and started in AWS's 31-day window, with
    their last known values, progress samples (so ``estimate()`` has a rate at once) and
    completion windows; ``answered_at`` is each target's last recorded poll, and every
    target is in ``full_due`` so the first real poll is a full listing. The first poll then
    reports, as events, whatever changed while amimon was not running: a task that
    completed meanwhile gives one TaskCompleted whose window starts at the last poll that
    saw it running. An empty state (and a warning) if the history cannot be read.
    """
    wanted = tuple(dict.fromkeys(targets))
    cutoff = to_us((now or datetime.now(UTC)) - API_WINDOW)
    empty = MonitorState(full_due=frozenset(wanted))

    def query(conn: sqlite3.Connection) -> MonitorState:
        tasks: dict[TaskKey, TrackedTask] = {}
        answered: dict[Target, datetime] = {}
        for target in wanted:
            row = conn.execute(
                "SELECT id, last_poll_us FROM targets WHERE profile = ? AND region = ? "
                "AND endpoint = ?",
                target_columns(target),
            ).fetchone()
            if row is None:
                continue
            target_id, last_poll = row
            if last_poll is not None:
                answered[target] = from_us(last_poll)
            tasks.update(_tasks(conn, target, target_id, cutoff, settings))
        return replace(
            empty,
            tasks=tasks,
            answered_at=answered,
            last_success=max(answered.values(), default=None),
        )

    return store.read(query, empty)


def _tasks(
    conn: sqlite3.Connection, target: Target, target_id: int, cutoff: int, settings: Settings
) -> dict[TaskKey, TrackedTask]:
    stored: dict[int, list[Sample]] = {}
    for task_id, at_us, progress, edge in conn.execute(
        _SAMPLES, (target_id, TaskState.IN_PROGRESS.value, cutoff)
    ):
        stored.setdefault(task_id, []).append(Sample(from_us(at_us), progress, bool(edge)))
    out: dict[TaskKey, TrackedTask] = {}
    for row in conn.execute(_TASKS, (target_id, cutoff)):
        (task_id, ami_id, start_us, bucket, key, progress, state, reason) = row[:8]
        first_seen, last_change, state_after, state_seen = row[8:]
        task = StoreTask(
            target=target,
            ami_id=ami_id,
            start_time=from_us(start_us),
            bucket=bucket,
            object_key=key,
            progress=progress,
            state=state,
            failure_reason=reason,
        )
        tracked = TrackedTask(
            task=task,
            first_seen=from_us(first_seen),
            last_change=from_us(last_change),
            before_change=None if state_after is None else from_us(state_after),
        )
        if state == TaskState.COMPLETED and state_after is not None and state_seen is not None:
            tracked = replace(tracked, completed_seen_at=from_us(state_seen))
        if state == TaskState.IN_PROGRESS:
            samples = _samples(stored.get(task_id, []), tracked, settings)
            tracked = replace(tracked, samples=samples)
        out[task.key] = tracked
    return out


def _samples(stored: list[Sample], tracked: TrackedTask, settings: Settings) -> tuple[Sample, ...]:
    """The stored samples (at most one a minute), ending with the task's latest progress,
    restarted where progress went backwards, as the reducer does."""
    series = list(stored)
    percent = tracked.task.percent
    if percent is not None:
        last = series[-1] if series else None
        if last is None or (tracked.last_change > last.at and last.progress != percent):
            edge = tracked.last_change != tracked.first_seen
            series.append(Sample(tracked.last_change, percent, edge))
    out: list[Sample] = []
    for sample in series:
        if out and sample.progress < out[-1].progress:
            out = [replace(sample, edge=False)]
        else:
            out.append(sample)
    return tuple(out[-settings.max_samples :])

"""The table's rows for one state, filter and sort: worked out in the poll worker, so the
event loop only swaps a list in."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from amimon import render
from amimon.model import TaskKey
from amimon.reducer import MonitorState, TrackedTask
from amimon.render import Column
from amimon.view import Sort, TaskFilter, visible


@dataclass(frozen=True, eq=False)
class Order:
    """Task keys in filter and sort order, where each one is, and the widest texts of the
    tasks that are new or changed (for the column plan)."""

    state: MonitorState
    task_filter: TaskFilter
    sort: Sort
    keys: list[TaskKey]
    index: dict[TaskKey, int]
    widths: dict[Column, int]

    def fits(self, state: MonitorState, task_filter: TaskFilter, sort: Sort) -> bool:
        """Whether this order is the one for ``state`` as filtered and sorted now."""
        return self.state is state and self.task_filter == task_filter and self.sort == sort


def widths(
    tasks: Mapping[TaskKey, TrackedTask], since: Mapping[TaskKey, TrackedTask]
) -> dict[Column, int]:
    """The widest text per content-sized column among tasks not identical in ``since``."""
    out: dict[Column, int] = {}
    for key, tracked in tasks.items():
        if since.get(key) is tracked:
            continue
        task = tracked.task
        for column, value in (
            (Column.BUCKET, render.safe(task.bucket)),
            (Column.KEY, render.safe(task.object_key)),
            (Column.REASON, render.first_line(task.failure_reason, 400)),
            (Column.PROFILE, task.target.profile or ""),
            (Column.REGION, task.target.region or ""),
        ):
            if len(value) > out.get(column, 0):
                out[column] = len(value)
    return out


def order(
    state: MonitorState, task_filter: TaskFilter, sort: Sort, since: MonitorState | None = None
) -> Order:
    """The rows of ``state``; ``since`` is the state the widths are measured from."""
    keys = [t.key for t in visible(state, task_filter, sort)]
    index = {key: i for i, key in enumerate(keys)}
    measured = widths(state.tasks, since.tasks if since is not None else {})
    return Order(state, task_filter, sort, keys, index, measured)

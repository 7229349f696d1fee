"""The table's rows for one state, filter and sort: worked out in the poll worker, so the
event loop only swaps a list in; a filter change reuses the sorted rows."""

from __future__ import annotations

import gc
from collections.abc import Iterator, Mapping
from contextlib import contextmanager

from amimon import render
from amimon.model import TaskKey, TrackedTask
from amimon.records import record
from amimon.render import Column
from amimon.state import MonitorState
from amimon.view import Sort, TaskFilter, names, visible

EVERYTHING = TaskFilter()


@record(eq=False)
class Order:
    """Task keys in filter and sort order, every task in sort order (so another filter
    needs no sort), and the widest texts of the tasks that are new or changed."""

    state: MonitorState
    task_filter: TaskFilter
    sort: Sort
    keys: list[TaskKey]
    everything: list[TrackedTask]
    widths: dict[Column, int]

    def fits(self, state: MonitorState, task_filter: TaskFilter, sort: Sort) -> bool:
        """Whether this order is the one for ``state`` as filtered and sorted now."""
        return self.state is state and self.task_filter == task_filter and self.sort == sort


def widths(state: MonitorState, since: MonitorState | None) -> dict[Column, int]:
    """The widest text per column that depends on content, among tasks and AMI details
    not identical in ``since``."""
    out = _task_widths(state.tasks, since.tasks if since is not None else {})
    known = since.images if since is not None else {}
    if state.images is not known:
        for pair, image in state.images.items():
            if known.get(pair) is image:
                continue
            for column, value in (
                (Column.NAME, render.image_name(image)),
                (Column.SIZE, render.size_words(image)),
                (Column.SPEED, render.HEADERS[Column.SPEED] if image.size_gib else ""),
            ):
                if len(value) > out.get(column, 0):
                    out[column] = len(value)
    return out


def _task_widths(
    tasks: Mapping[TaskKey, TrackedTask], since: Mapping[TaskKey, TrackedTask]
) -> dict[Column, int]:
    out: dict[Column, int] = {}
    if tasks is since:
        return out
    for key, tracked in tasks.items():
        if since.get(key) is tracked:
            continue
        task = tracked.task
        for column, value in (
            (Column.STARTED, "YYYY-MM-DD HH:MM" if task.start_time else ""),
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
    state: MonitorState,
    task_filter: TaskFilter,
    sort: Sort,
    since: MonitorState | None = None,
    previous: Order | None = None,
) -> Order:
    """The rows of ``state``; ``since`` is the state the widths are measured from, and
    ``previous`` an order whose sorted rows can be reused (same state and sort).

    Sorting everything and then filtering gives what ``view.visible`` gives: both sorts
    are stable, so tasks that sort alike keep the same relative order.
    """
    with no_gc_passes():
        if previous is not None and previous.state is state and previous.sort == sort:
            everything = previous.everything
        else:
            everything = visible(state, EVERYTHING, sort)
        if task_filter == EVERYTHING:
            keys = [t.key for t in everything]
        else:
            keys = [t.key for t in task_filter.keep(everything, names(state))]
        measured = widths(state, since)
    return Order(state, task_filter, sort, keys, everything, measured)


@contextmanager
def no_gc_passes() -> Iterator[None]:
    """Sorting 10,000 tasks allocates tens of thousands of short-lived key tuples, enough
    for a dozen collector passes over everything young (they are freed by reference counts
    anyway): hold the passes off while sorting."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()

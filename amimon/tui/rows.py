"""Task rows drawn once per distinct content: the task table's cache of rendered rows.

A row's cache key is the ``TrackedTask`` itself (the reducer keeps unchanged tasks
identical, so ``is`` tells what changed), the texts that move with the clock (ETA, age),
whether it is highlighted or frozen, and the generation of the column plan and styles.
Cells come from ``render.row``, the builder ``amimon list`` and ``wait`` use too.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import NamedTuple

from rich.console import Console
from rich.style import Style
from rich.text import Text
from textual.cache import LRUCache
from textual.strip import Strip

from amimon import derive, render
from amimon.estimate import Estimate
from amimon.model import ImageInfo, Target, TaskKey, TaskState, TrackedTask
from amimon.render import Column, Palette, RowContext
from amimon.state import MonitorState
from amimon.tui.clock import since_changes, until_changes
from amimon.tui.columns import GAP, LEFT, ColumnPlan
from amimon.view import Sort

HIGHLIGHT_FOR = timedelta(seconds=3)
CACHED_ROWS = 2048  # row strips, with and without the base style

# What a row shows besides its task: the clock texts, highlight, frozen time, what
# DescribeImages said of its AMI, and whether it is a failure stored again since.
Look = tuple[str, str, bool, datetime | None, ImageInfo | None, bool]


class Styles(NamedTuple):
    """The table's styles from its CSS (component classes), as Rich styles."""

    base: Style
    cursor: Style
    changed: Style
    header: Style
    sorted: Style


class RowPainter:
    """Draws rows and the header for a column plan; keeps what it drew."""

    def __init__(self) -> None:
        self.state = MonitorState()
        self.now = datetime(1970, 1, 1, tzinfo=UTC)
        self.palette = Palette()
        self.changed_at: Mapping[TaskKey, datetime] = {}
        self.content: dict[Column, int] = {}
        self.generation = 0  # bumped when the plan, palette or styles change
        self.built = 0  # rows drawn from scratch (tests read it)
        self.retried: frozenset[TaskKey] = frozenset()
        self._frozen: dict[Target, datetime | None] = {}
        # Per task: what its estimate was worked out from (the task, as of when, its AMI's
        # size and its bucket's rate from history) and the estimate.
        self._estimates: dict[TaskKey, tuple[TrackedTask, tuple[object, ...], Estimate]] = {}
        self._rows: LRUCache[tuple[object, ...], tuple[TrackedTask, Strip]] = LRUCache(CACHED_ROWS)

    def set_state(self, state: MonitorState, widths: Mapping[Column, int]) -> bool:
        """Take a new state and the widths of its changed tasks; True when a column's
        widest text grew (the plan may change)."""
        if state is not self.state:
            self.retried = derive.retried_in(state)
        self.state, self._frozen = state, {}
        grew = False
        for column, width in widths.items():
            if width > self.content.get(column, 0):
                self.content[column] = width
                grew = True
        return grew

    def estimate(self, tracked: TrackedTask) -> tuple[Estimate, datetime | None]:
        """The task's estimate as of its last confirmation, worked out once per task."""
        as_of = self.state.seen_at(tracked.task.target)
        task = tracked.task
        rate = self.state.bucket_rates.get((task.target, task.bucket or ""))
        basis = (as_of, self.state.image(task), rate)
        cached = self._estimates.get(tracked.key)
        if cached is not None and cached[0] is tracked and cached[1] == basis:
            return cached[2], as_of
        est = render.row_estimate(tracked, as_of, self.state)
        self._estimates[tracked.key] = (tracked, basis, est)
        return est, as_of

    def frozen_at(self, target: Target) -> datetime | None:
        """When the rows of ``target`` stopped being current (None while they are)."""
        if target not in self._frozen:
            stale = self.state.is_stale(target)
            self._frozen[target] = self.state.stale_since if stale else None
        return self._frozen[target]

    def look(self, tracked: TrackedTask) -> Look:
        """What the row shows besides its task, as plain values (the cache key's tail)."""
        task = tracked.task
        frozen = self.frozen_at(task.target)
        # The words render.cell writes in the ETA and Age cells (without building them).
        eta = ""
        if task.state == TaskState.IN_PROGRESS and tracked.vanished_at is None:
            now = self.now if frozen is None else min(self.now, frozen)
            eta = render.eta_words(self.estimate(tracked)[0], now)
        age = render.duration(self.now - task.start_time) if task.start_time else "-"
        seen = self.changed_at.get(tracked.key)
        fresh = seen is not None and self.now - seen < HIGHLIGHT_FOR
        return eta, age, fresh, frozen, self.state.image(task), tracked.key in self.retried

    def row(
        self,
        tracked: TrackedTask,
        look: Look,
        plan: ColumnPlan,
        console: Console,
        styles: Styles,
        cursor: bool = False,
    ) -> Strip:
        """The row's strip (under the cursor or not), from the cache when its task and
        look were drawn before."""
        key = (id(tracked), look, self.generation, cursor)
        cached = self._rows.get(key)
        if cached is not None and cached[0] is tracked:
            return cached[1]
        plain = self._rows.get(key[:3])
        if plain is not None and plain[0] is tracked:
            strip = plain[1]
        else:
            strip = self._build(tracked, look, plan, console, styles)
            self._rows[key[:3]] = (tracked, strip)
        # The cursor's background goes under the cells' own colours, like the base style.
        styled = strip.apply_style(styles.base + styles.cursor if cursor else styles.base)
        self._rows[key] = (tracked, styled)
        return styled

    def _build(
        self, tracked: TrackedTask, look: Look, plan: ColumnPlan, console: Console, styles: Styles
    ) -> Strip:
        self.built += 1
        ctx = RowContext(self.now, self.palette, plan.bar_width)
        _, as_of = self.estimate(tracked)
        cells = render.row(
            tracked,
            plan.names,
            ctx,
            as_of,
            frozen_at=look[3],
            image=look[4],
            state=self.state,
            retried=look[5],
        )
        line = lay_out(plan, cells)
        if look[2]:
            # Only the background and weight: the state's colours stay.
            line.pad_right(plan.width - line.cell_len)
            line.stylize(Style(bgcolor=styles.changed.bgcolor, bold=styles.changed.bold))
        return to_strip(line, plan.width, console)

    def next_change(self, tracked: TrackedTask) -> list[datetime | None]:
        """When the row's clock texts or highlight next change."""
        task = tracked.task
        if self.frozen_at(task.target) is not None:
            return []  # a stale row's clock stands still
        moments: list[datetime | None] = []
        seen = self.changed_at.get(tracked.key)
        if seen is not None and self.now - seen < HIGHLIGHT_FOR:
            moments.append(seen + HIGHLIGHT_FOR)
        if task.start_time is not None:
            moments.append(since_changes(task.start_time, self.now))
        if task.state == TaskState.IN_PROGRESS and tracked.vanished_at is None:
            est, _ = self.estimate(tracked)
            if est.eta_at is not None and not est.stalled:
                moments.append(until_changes(est.eta_at, self.now))
        return moments


def header(plan: ColumnPlan, sort: Sort, sorted_style: Style) -> Text:
    """The column headers, the sorted one marked ▼ or ▲."""
    headers: list[Text] = []
    marked = False
    for planned in reversed(plan.columns):  # Started before Age when both show
        label = planned.header
        if not marked and planned.sort is sort.column:
            marked = True
            label = label[: planned.width - 1] + ("▼" if sort.descending else "▲")
            headers.append(Text(label, style=sorted_style))
        else:
            headers.append(Text(label))
    headers.reverse()
    return lay_out(plan, headers)


def lay_out(plan: ColumnPlan, cells: Sequence[Text]) -> Text:
    """Cells laid out on one line: cut with ``…`` to their width, numbers to the right."""
    line = Text(" " * LEFT, end="", no_wrap=True)
    for i, (planned, cell) in enumerate(zip(plan.columns, cells, strict=True)):
        cell.truncate(planned.width, overflow="ellipsis")
        pad = " " * (planned.width - cell.cell_len)
        if planned.right:
            line.append(pad)
            line.append_text(cell)
        else:
            line.append_text(cell)
            line.append(pad)
        if i < len(plan.columns) - 1:
            line.append(" " * GAP)
    return line


def to_strip(line: Text, width: int, console: Console) -> Strip:
    return Strip(list(line.render(console))).adjust_cell_length(width)

"""The task table on Textual's Line API: draws only the visible rows, from a cache of rows.

Filtering and sorting hand the table a new ordered list of task keys: no widget rows are
added or removed. A row is drawn once per distinct content (the reducer keeps unchanged
``TrackedTask``s identical, so ``is`` tells what changed; the clock-driven texts are part of
the key), and only the screen lines whose content changed are repainted.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import ClassVar

from rich.style import Style
from rich.text import Text
from textual import events
from textual.binding import Binding, BindingType
from textual.cache import LRUCache
from textual.geometry import Region, Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip

from amimon import render
from amimon.estimate import Estimate
from amimon.model import Target, TaskKey, TaskState
from amimon.reducer import MonitorState, TrackedTask
from amimon.render import Column, Palette, RowContext
from amimon.tui.clock import earliest, since_changes, until_changes
from amimon.tui.columns import GAP, LEFT, ColumnPlan, plan_columns
from amimon.view import Sort, SortColumn

HIGHLIGHT_FOR = timedelta(seconds=3)
HEADER_LINES = 1

# What a row looks like besides its task: the clock texts, highlight, frozen time.
RowLook = tuple[str, str, bool, datetime | None]


class TaskTable(ScrollView, can_focus=True):
    """Renders the rows it is given; keeps the cursor on its task when rows move."""

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "task-table--header",
        "task-table--sorted",
        "task-table--cursor",
        "task-table--changed",
    }
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("up", "cursor(-1)", "Up", tooltip="Previous task", show=False),
        Binding("down", "cursor(1)", "Down", tooltip="Next task", show=False),
        Binding("pageup", "page(-1)", "Page up", tooltip="A page up", show=False),
        Binding("pagedown", "page(1)", "Page down", tooltip="A page down", show=False),
        Binding("home", "edge(0)", "First", tooltip="First task", show=False),
        Binding("end", "edge(1)", "Last", tooltip="Last task", show=False),
        Binding(
            "enter", "select", "Details", tooltip="Show the selected task's details", show=False
        ),
    ]

    class Highlighted(Message):
        """The cursor is on another task (or on none)."""

        def __init__(self, key: TaskKey | None) -> None:
            super().__init__()
            self.key = key

    class Selected(Message):
        """Enter, or a click on the row under the cursor."""

        def __init__(self, key: TaskKey) -> None:
            super().__init__()
            self.key = key

    class HeaderClicked(Message):
        """A click on a column header that can sort."""

        def __init__(self, column: SortColumn) -> None:
            super().__init__()
            self.column = column

    def __init__(self, *, targets: Sequence[Target] = (), id: str | None = None) -> None:
        super().__init__(id=id)
        self.profiles = len({t.profile for t in targets}) or 1
        self.regions = len({t.region for t in targets}) or 1
        self.keys: Sequence[TaskKey] = ()
        self._index: dict[TaskKey, int] = {}
        self.state = MonitorState()
        self.now = datetime(1970, 1, 1, tzinfo=UTC)
        self.sort = Sort()
        self.palette = Palette()
        self.changed_at: Mapping[TaskKey, datetime] = {}
        self.plan: ColumnPlan | None = None
        self.cursor = 0
        self.cursor_key: TaskKey | None = None
        self._content: dict[Column, int] = {}
        self._measured: Mapping[TaskKey, TrackedTask] = {}
        self._frozen: dict[Target, datetime | None] = {}
        self._estimates: dict[TaskKey, tuple[TrackedTask, datetime | None, Estimate]] = {}
        self._rows: LRUCache[tuple[object, ...], tuple[TrackedTask, Strip]] = LRUCache(1024)
        self._drawn: dict[int, object] = {}
        self._look = 0  # bumped whenever the plan, palette or styles change
        self.rows_built = 0  # rows drawn from scratch (tests read it)

    # data in

    def show(
        self,
        state: MonitorState,
        keys: Sequence[TaskKey],
        now: datetime,
        changed_at: Mapping[TaskKey, datetime],
    ) -> None:
        """Show ``keys`` (tasks of ``state``) in this order; repaint only lines that changed."""
        if state is not self.state:
            self._measure(state)
            self._frozen = {}
        self.state, self.now, self.changed_at = state, now, changed_at
        if keys is not self.keys:
            self.keys = keys
            self._index = {key: i for i, key in enumerate(keys)}
            self.virtual_size = Size(self.size.width, len(keys) + HEADER_LINES)
            self._follow_cursor()
        self.repaint_changed()

    def tick(self, now: datetime) -> None:
        """The clock moved: repaint the lines whose clock texts changed."""
        self.now = now
        self.repaint_changed()

    def set_look(self, palette: Palette, sort: Sort) -> None:
        """New colours or sort order: every line is drawn again."""
        self.palette, self.sort = palette, sort
        self._look += 1
        self.refresh()

    def _measure(self, state: MonitorState) -> None:
        """Keep the widest text of each content-sized column up to date (changed tasks only)."""
        content, old = self._content, self._measured
        grew = False
        for key, tracked in state.tasks.items():
            if old.get(key) is tracked:
                continue
            task = tracked.task
            for column, value in (
                (Column.BUCKET, render.safe(task.bucket)),
                (Column.KEY, render.safe(task.object_key)),
                (Column.REASON, render.first_line(task.failure_reason, 400)),
                (Column.PROFILE, task.target.profile or ""),
                (Column.REGION, task.target.region or ""),
            ):
                if len(value) > content.get(column, 0):
                    content[column] = len(value)
                    grew = True
        self._measured = state.tasks
        if grew or self.plan is None:
            self._replan()

    def _replan(self) -> None:
        width = self.scrollable_content_region.width
        if width <= 0:
            return
        plan = plan_columns(width, self._content, profiles=self.profiles, regions=self.regions)
        if plan != self.plan:
            self.plan = plan
            self._look += 1
            self.refresh()

    def on_resize(self, event: events.Resize) -> None:
        self.virtual_size = Size(self.size.width, len(self.keys) + HEADER_LINES)
        self._replan()
        self._scroll_to_cursor()

    # rows

    def _estimate(self, tracked: TrackedTask) -> tuple[Estimate, datetime | None]:
        as_of = self.state.seen_at(tracked.task.target)
        cached = self._estimates.get(tracked.key)
        if cached is not None and cached[0] is tracked and cached[1] == as_of:
            return cached[2], as_of
        est = render.row_estimate(tracked, as_of)
        self._estimates[tracked.key] = (tracked, as_of, est)
        return est, as_of

    def frozen_at(self, target: Target) -> datetime | None:
        """When the rows of ``target`` stopped being current (None while they are)."""
        if target not in self._frozen:
            stale = self.state.is_stale(target)
            self._frozen[target] = self.state.stale_since if stale else None
        return self._frozen[target]

    def _look_of(self, tracked: TrackedTask) -> RowLook:
        """What the row shows besides its task, as plain values (the cache key's tail)."""
        frozen = self.frozen_at(tracked.task.target)
        est, _ = self._estimate(tracked)
        now = self.now if frozen is None else min(self.now, frozen)
        ctx = RowContext(self.now, self.palette)
        eta = render.cell(Column.ETA, tracked, est, now, ctx).plain
        age = render.cell(Column.AGE, tracked, est, now, ctx).plain
        seen = self.changed_at.get(tracked.key)
        fresh = seen is not None and self.now - seen < HIGHLIGHT_FOR
        return eta, age, fresh, frozen

    def _row_strip(self, tracked: TrackedTask, look: RowLook) -> Strip:
        key = (id(tracked), look, self._look)
        cached = self._rows.get(key)
        if cached is not None and cached[0] is tracked:
            return cached[1]
        strip = self._build_row(tracked, look)
        self._rows[key] = (tracked, strip)
        return strip

    def _build_row(self, tracked: TrackedTask, look: RowLook) -> Strip:
        assert self.plan is not None
        self.rows_built += 1
        plan = self.plan
        ctx = RowContext(self.now, self.palette, plan.bar_width)
        _, as_of = self._estimate(tracked)
        cells = render.row(tracked, plan.names, ctx, as_of, frozen_at=look[3])
        line = _line(plan, cells)
        if look[2]:
            # Only the background and weight: the state's colours stay.
            changed = self.get_component_rich_style("task-table--changed")
            line.pad_right(self.scrollable_content_region.width - line.cell_len)
            line.stylize(Style(bgcolor=changed.bgcolor, bold=changed.bold))
        return self._strip(line)

    def _strip(self, line: Text) -> Strip:
        width = self.scrollable_content_region.width
        segments = list(line.render(self.app.console))
        return Strip(segments).adjust_cell_length(width)

    def _header_strip(self) -> Strip:
        assert self.plan is not None
        style = self.get_component_rich_style("task-table--header")
        sorted_style = self.get_component_rich_style("task-table--sorted")
        headers: list[Text] = []
        marked = False
        for planned in reversed(self.plan.columns):  # Started before Age when both show
            label = planned.header
            if not marked and planned.sort is self.sort.column:
                marked = True
                arrow = "▼" if self.sort.descending else "▲"
                label = label[: planned.width - 1] + arrow
                headers.append(Text(label, style=sorted_style))
            else:
                headers.append(Text(label))
        headers.reverse()
        line = _line(self.plan, headers)
        return self._strip(line).apply_style(style)

    def render_line(self, y: int) -> Strip:
        width = self.scrollable_content_region.width
        base = self.rich_style
        if self.plan is None:
            return Strip.blank(width, base)
        if y < HEADER_LINES:
            return self._header_strip()
        index = int(self.scroll_y) + y - HEADER_LINES
        tracked = self._tracked(index)
        if tracked is None:
            self._drawn[y] = None
            return Strip.blank(width, base)
        look = self._look_of(tracked)
        self._drawn[y] = (id(tracked), look, self._look, index == self.cursor)
        strip = self._row_strip(tracked, look)
        if index == self.cursor:
            return strip.apply_style(base + self.get_component_rich_style("task-table--cursor"))
        return strip.apply_style(base)

    def row_text(self, index: int) -> list[str]:
        """What row ``index`` shows, column by column (as drawn, cut and all)."""
        tracked = self._tracked(index)
        if tracked is None or self.plan is None:
            return []
        drawn = self._row_strip(tracked, self._look_of(tracked)).text
        return [drawn[c.x : c.x + c.width].strip() for c in self.plan.columns]

    def header_text(self) -> list[str]:
        """The column headers as drawn."""
        if self.plan is None:
            return []
        drawn = self._header_strip().text
        return [drawn[c.x : c.x + c.width].strip() for c in self.plan.columns]

    def _tracked(self, index: int) -> TrackedTask | None:
        if not 0 <= index < len(self.keys):
            return None
        return self.state.tasks.get(self.keys[index])

    def repaint_changed(self) -> None:
        """Repaint the visible lines whose row, clock texts or cursor changed."""
        if self.plan is None:
            return
        top = int(self.scroll_y)
        width = self.size.width
        for y in range(HEADER_LINES, self.size.height):
            index = top + y - HEADER_LINES
            tracked = self._tracked(index)
            drawn = (
                None
                if tracked is None
                else (id(tracked), self._look_of(tracked), self._look, index == self.cursor)
            )
            if self._drawn.get(y, ()) != drawn:
                self.refresh(Region(0, y, width, 1))

    def next_change(self) -> datetime | None:
        """When a visible row's clock text or highlight next changes."""
        top = int(self.scroll_y)
        moments: list[datetime | None] = []
        for index in range(top, min(len(self.keys), top + self.size.height)):
            tracked = self._tracked(index)
            if tracked is None:
                continue
            task = tracked.task
            if self.frozen_at(task.target) is not None:
                continue  # a stale row's clock stands still
            seen = self.changed_at.get(tracked.key)
            if seen is not None and self.now - seen < HIGHLIGHT_FOR:
                moments.append(seen + HIGHLIGHT_FOR)
            if task.start_time is not None:
                moments.append(since_changes(task.start_time, self.now))
            if task.state == TaskState.IN_PROGRESS and tracked.vanished_at is None:
                est, _ = self._estimate(tracked)
                if est.eta_at is not None and not est.stalled:
                    moments.append(until_changes(est.eta_at, self.now))
        return earliest(moments)

    # cursor

    @property
    def page(self) -> int:
        return max(1, self.scrollable_content_region.height - HEADER_LINES)

    def _follow_cursor(self) -> None:
        """After new keys: the cursor stays on its task, or on its line if the task left."""
        index = self._index.get(self.cursor_key) if self.cursor_key is not None else None
        if index is None:
            index = min(self.cursor, max(0, len(self.keys) - 1))
        self.move_cursor(index, announce=True)

    def move_cursor(self, index: int, *, announce: bool = True) -> None:
        """Put the cursor on row ``index`` (clamped) and scroll it into view."""
        index = max(0, min(index, len(self.keys) - 1))
        key = self.keys[index] if self.keys else None
        moved = key != self.cursor_key
        self.cursor, self.cursor_key = index, key
        self._scroll_to_cursor()
        self.repaint_changed()
        if moved and announce:
            self.post_message(self.Highlighted(key))

    def _scroll_to_cursor(self) -> None:
        top = int(self.scroll_y)
        if self.cursor < top:
            self.scroll_to(y=self.cursor, animate=False, immediate=True)
        elif self.cursor >= top + self.page:
            self.scroll_to(y=self.cursor - self.page + 1, animate=False, immediate=True)

    def action_cursor(self, step: int) -> None:
        self.move_cursor(self.cursor + step)

    def action_page(self, direction: int) -> None:
        self.move_cursor(self.cursor + direction * self.page)

    def action_edge(self, end: int) -> None:
        self.move_cursor(len(self.keys) - 1 if end else 0)

    def action_select(self) -> None:
        if self.cursor_key is not None:
            self.post_message(self.Selected(self.cursor_key))

    def on_click(self, event: events.Click) -> None:
        offset = event.get_content_offset(self)
        if offset is None or self.plan is None:
            return
        if offset.y < HEADER_LINES:
            planned = self.plan.at(offset.x)
            if planned is not None and planned.sort is not None:
                self.post_message(self.HeaderClicked(planned.sort))
            return
        index = int(self.scroll_y) + offset.y - HEADER_LINES
        if not 0 <= index < len(self.keys):
            return
        if index == self.cursor:
            self.action_select()
        else:
            self.move_cursor(index)


def _line(plan: ColumnPlan, cells: Sequence[Text]) -> Text:
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

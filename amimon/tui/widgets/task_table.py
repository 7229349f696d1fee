"""The task table on Textual's Line API: draws only the visible rows, from a cache of rows.

Filtering and sorting hand the table a new ordered list of task keys: no widget rows are
added or removed. Rows come from ``amimon.tui.rows`` (drawn once per distinct content), and
only the screen lines whose content changed are repainted.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from contextlib import suppress
from datetime import datetime
from typing import ClassVar

from rich.text import Text
from textual import events
from textual.binding import Binding, BindingType
from textual.geometry import Region, Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip

from amimon.model import Target, TaskKey, TrackedTask
from amimon.render import Palette
from amimon.state import MonitorState
from amimon.tui import rows
from amimon.tui.clock import earliest
from amimon.tui.columns import ColumnPlan, plan_columns
from amimon.tui.order import Order
from amimon.view import Sort, SortColumn

HIGHLIGHT_FOR = rows.HIGHLIGHT_FOR
HEADER_LINES = 1
EMPTY_INDENT = 2  # columns before the words of an empty table


class TaskTable(ScrollView, can_focus=True):
    """Renders the rows it is given; keeps the cursor on its task when rows move."""

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "task-table--header",
        "task-table--sorted",
        "task-table--cursor",
        "task-table--changed",
        "task-table--empty",
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

    async def _on_key(self, event: events.Key) -> None:
        """Keys that focus a field (``/``, ``b``) act here, at once: keys typed or pasted
        right after them are already queued to this table, and are handed on to the field
        in order instead of running as commands (``/pq`` used to quit the monitor)."""
        focused = self.screen.focused
        if focused is not None and focused is not self and event.is_printable:
            # A field took focus after this key was queued: it is the field's, even a
            # ``b`` or ``/`` (a pasted "/abc-table" lost both b's and split the rest).
            event.stop()
            event.prevent_default()
            focused.post_message(events.Key(event.key, event.character))
            return
        focus = self.focus_keys.get(event.key)
        if focus is not None:
            event.stop()
            event.prevent_default()
            focus()
            return
        await super()._on_key(event)

    def __init__(self, *, targets: Sequence[Target] = (), id: str | None = None) -> None:
        super().__init__(id=id)
        # Keys that move focus to a field, and what does it (set by the app).
        self.focus_keys: dict[str, Callable[[], None]] = {}
        self.profiles = len({t.profile for t in targets}) or 1
        self.regions = len({t.region for t in targets}) or 1
        self.keys: Sequence[TaskKey] = ()
        self.sort = Sort()
        self.plan: ColumnPlan | None = None
        self.cursor = 0
        self.cursor_key: TaskKey | None = None
        self.painter = rows.RowPainter()
        self._drawn: dict[int, object] = {}
        self._look: rows.Styles | None = None
        self._header: tuple[object, Strip] = (None, Strip([]))
        # What the table says when it has no rows, and those words as drawn.
        self.empty_text = Text()
        self._empty: tuple[object, list[Strip]] = (None, [])

    @property
    def state(self) -> MonitorState:
        return self.painter.state

    @property
    def rows_built(self) -> int:
        """Rows drawn from scratch so far (tests read it)."""
        return self.painter.built

    # data in

    def show(
        self,
        rows: Order,
        now: datetime,
        changed_at: Mapping[TaskKey, datetime],
        empty: Text | None = None,
    ) -> None:
        """Show the rows of ``rows`` in their order, or ``empty`` when there are none;
        repaint only lines that changed. The words are drawn in the table, not by a
        widget of their own: showing and hiding one would lay the screen out again."""
        if empty is not None and empty != self.empty_text:
            self.empty_text = empty
            if not rows.keys:
                self.refresh()
        painter = self.painter
        if rows.state is not painter.state:
            if painter.set_state(rows.state, rows.widths) or self.plan is None:
                self._replan()
        elif self.plan is None:
            self._replan()
        painter.now, painter.changed_at = now, changed_at
        if rows.keys is not self.keys:
            if bool(rows.keys) != bool(self.keys):
                self._drawn.clear()
                self.refresh()  # rows to words, or words to rows
            self.keys = rows.keys
            self._set_virtual_size()
            self._follow_cursor()
        self.repaint_changed()

    def tick(self, now: datetime) -> None:
        """The clock moved: repaint the lines whose clock texts changed."""
        self.painter.now = now
        self.repaint_changed()

    def set_look(self, palette: Palette, sort: Sort, *, theme: bool = False) -> None:
        """New colours: every line is drawn again. A new sort order changes only the
        header's mark: rows already drawn are drawn the same wherever they land."""
        if theme or palette != self.painter.palette:
            self.painter.palette = palette
            self._look = None  # styles worked out again, and every row drawn again
        self.sort = sort
        self.refresh()

    def _replan(self) -> None:
        width = self.scrollable_content_region.width
        if width <= 0:
            return
        content = self.painter.content
        plan = plan_columns(width, content, profiles=self.profiles, regions=self.regions)
        if plan != self.plan:
            self.plan = plan
            self.painter.generation += 1
            self.refresh()

    def _set_virtual_size(self) -> None:
        """As many lines as rows (and the header). Another number of rows changes only the
        scrollbar: the screen is not laid out again (a ``virtual_size`` reactive would)."""
        size = Size(self.size.width, len(self.keys) + HEADER_LINES)
        if size == self.virtual_size:
            return
        if not self.is_mounted or not self.size:
            self.virtual_size = size
            return
        self.set_reactive(TaskTable.virtual_size, size)
        self._scroll_update(size)  # the scrollbar's size, and whether it shows
        self.refresh()

    def on_resize(self, event: events.Resize) -> None:
        self.virtual_size = Size(self.size.width, len(self.keys) + HEADER_LINES)
        self._replan()
        self._scroll_to_cursor()

    # drawing

    def _styles(self) -> rows.Styles:
        """The widget's styles for rows, worked out once until the theme or focus changes
        (not once per line); when they change every cached row is drawn again."""
        if self._look is not None:
            return self._look
        styles = rows.Styles(
            base=self.rich_style,
            cursor=self.get_component_rich_style("task-table--cursor"),
            changed=self.get_component_rich_style("task-table--changed"),
            header=self.get_component_rich_style("task-table--header"),
            sorted=self.get_component_rich_style("task-table--sorted"),
        )
        self._look = styles
        self.painter.generation += 1
        return styles

    def on_focus(self) -> None:
        self._look = None  # the cursor's colours follow focus
        self.refresh()

    def on_blur(self) -> None:
        self._look = None
        self.refresh()

    def _row_strip(self, tracked: TrackedTask, look: rows.Look, cursor: bool = False) -> Strip:
        assert self.plan is not None
        styles = self._styles()
        return self.painter.row(tracked, look, self.plan, self.app.console, styles, cursor)

    def _header_strip(self) -> Strip:
        assert self.plan is not None
        styles = self._styles()
        key = (self.plan, self.sort, self.painter.generation)
        if self._header[0] != key:
            line = rows.header(self.plan, self.sort, styles.sorted)
            strip = rows.to_strip(line, self.plan.width, self.app.console)
            self._header = (key, strip.apply_style(styles.header))
        return self._header[1]

    def _empty_strips(self, width: int) -> list[Strip]:
        """The empty table's words, wrapped to the width, a blank line and two columns in."""
        key = (self.empty_text, width, self.painter.generation)
        if self._empty[0] != key:
            style = self._styles().base + self.get_component_rich_style("task-table--empty")
            lines = self.empty_text.wrap(self.app.console, max(1, width - 2 * EMPTY_INDENT))
            strips = [Strip.blank(width, style)]
            for line in lines:
                line.pad_left(EMPTY_INDENT)
                line.stylize(style)
                strips.append(rows.to_strip(line, width, self.app.console))
            self._empty = (key, strips)
        return self._empty[1]

    def render_line(self, y: int) -> Strip:
        width = self.scrollable_content_region.width
        styles = self._styles()
        if not self.keys:
            said = self._empty_strips(width)
            return said[y] if y < len(said) else Strip.blank(width, styles.base)
        if self.plan is None:
            return Strip.blank(width, styles.base)
        if y < HEADER_LINES:
            return self._header_strip()
        index = int(self.scroll_y) + y - HEADER_LINES
        tracked = self._tracked(index)
        if tracked is None:
            self._drawn[y] = None
            return Strip.blank(width, styles.base)
        look = self.painter.look(tracked)
        self._drawn[y] = (id(tracked), look, self.painter.generation, index == self.cursor)
        return self._row_strip(tracked, look, index == self.cursor)

    def row_text(self, index: int) -> list[str]:
        """What row ``index`` shows, column by column (as drawn, cut and all)."""
        tracked = self._tracked(index)
        if tracked is None or self.plan is None:
            return []
        drawn = self._row_strip(tracked, self.painter.look(tracked)).text
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
                else (
                    id(tracked),
                    self.painter.look(tracked),
                    self.painter.generation,
                    index == self.cursor,
                )
            )
            if self._drawn.get(y, ()) != drawn:
                self.refresh(Region(0, y, width, 1))

    def next_change(self) -> datetime | None:
        """When a visible row's clock text or highlight next changes."""
        top = int(self.scroll_y)
        moments: list[datetime | None] = []
        for index in range(top, min(len(self.keys), top + self.size.height)):
            tracked = self._tracked(index)
            if tracked is not None:
                moments += self.painter.next_change(tracked)
        return earliest(moments)

    # cursor

    @property
    def page(self) -> int:
        return max(1, self.scrollable_content_region.height - HEADER_LINES)

    def _follow_cursor(self) -> None:
        """After new keys: the cursor stays on its task, or on its line if the task left."""
        index = min(self.cursor, max(0, len(self.keys) - 1))
        key = self.cursor_key
        if key is not None and not (index < len(self.keys) and self.keys[index] == key):
            with suppress(ValueError):
                index = self.keys.index(key)  # a C loop: a millisecond at 10,000 rows
        self.move_cursor(index, announce=True)

    def move_cursor(self, index: int, *, announce: bool = True) -> None:
        """Put the cursor on row ``index`` (clamped) and scroll it into view."""
        index = max(0, min(index, len(self.keys) - 1))
        key = self.keys[index] if self.keys else None
        moved = key != self.cursor_key
        old, self.cursor, self.cursor_key = self.cursor, index, key
        self._scroll_to_cursor()
        top = int(self.scroll_y) - HEADER_LINES
        for line in {old - top, index - top}:  # the lines the cursor left and reached
            if HEADER_LINES <= line < self.size.height:
                self.refresh(Region(0, line, self.size.width, 1))
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

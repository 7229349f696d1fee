"""The task table: one row per task, keyed by identity, updated cell by cell."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from rich.style import Style
from rich.text import Text
from textual.widgets import DataTable

from amimon import render
from amimon.model import TaskKey, TaskState
from amimon.reducer import MonitorState, TrackedTask
from amimon.render import Palette
from amimon.view import SortColumn

HIGHLIGHT_FOR = timedelta(seconds=3)


def row_id(key: TaskKey) -> str:
    """A DataTable row key for a task identity."""
    target, ami, start = key
    when = start.isoformat() if start else "-"
    return f"{target.profile or ''}|{target.region or ''}|{target.endpoint_url or ''}|{ami}|{when}"


@dataclass(frozen=True)
class Layout:
    """Which columns fit, and how wide the squeezable ones are."""

    region: bool
    key: bool
    narrow: bool

    @property
    def columns(self) -> list[tuple[str, str, SortColumn | None]]:
        cols: list[tuple[str, str, SortColumn | None]] = []
        if self.region:
            cols.append(("Region", "region", SortColumn.REGION))
        cols += [
            ("AMI", "ami", SortColumn.AMI),
            ("Bucket", "bucket", SortColumn.BUCKET),
            ("State", "state", SortColumn.STATE),
            ("Progress", "progress", SortColumn.PROGRESS),
            ("ETA", "eta", SortColumn.ETA),
            ("Age", "started", SortColumn.STARTED),
        ]
        if self.key:
            cols.append(("S3 key", "key", None))
        return cols

    def width(self, key: str) -> int | None:
        """Fixed widths for columns whose values grow over time; None sizes to content."""
        fixed = {
            "region": 14,
            "ami": 13 if self.narrow else 21,
            "state": 10,
            "progress": (5 if self.narrow else 10) + 5,
            "eta": 7,
            "started": 6,
        }
        return fixed.get(key)


def choose_layout(width: int, regions: int) -> Layout:
    narrow = width < 110
    return Layout(region=regions > 1, key=width >= 150, narrow=narrow)


def _clip(value: str, limit: int) -> str:
    return value if len(value) <= limit else value[: limit - 1] + "…"


def _eta_cell(tracked: TrackedTask, now: datetime, palette: Palette, state: MonitorState) -> Text:
    est = render.row_estimate(tracked, state.seen_at(tracked.task.target))
    return render.cell(render.Column.ETA, tracked, est, now, render.RowContext(now, palette))


def cells(
    tracked: TrackedTask,
    now: datetime,
    layout: Layout,
    palette: Palette,
    state: MonitorState,
    highlight: bool = False,
) -> dict[str, Text]:
    """The table cells of one task. API text goes in as plain Text, never markup."""
    task = tracked.task
    gone = tracked.vanished_at is not None
    ami_limit, bucket_limit, bar_width = (13, 14, 5) if layout.narrow else (21, 24, 10)
    out: dict[str, Text] = {}
    if layout.region:
        out["region"] = Text(task.target.region or "-")
    out["ami"] = Text(_clip(render.safe(task.ami_id), ami_limit))
    out["bucket"] = Text(_clip(render.safe(task.bucket), bucket_limit))
    out["state"] = render.state_text(task.state, palette, vanished=gone)
    out["progress"] = render.progress_text(task.progress, task.state, palette, bar_width)
    out["eta"] = _eta_cell(tracked, now, palette, state)
    out["started"] = Text(render.duration(now - task.start_time) if task.start_time else "-")
    if layout.key:
        out["key"] = Text(_clip(render.safe(task.object_key), 40), style=palette.muted)
    if gone:
        for text in out.values():
            text.stylize(palette.muted)
    if highlight:
        for text in out.values():
            text.stylize(Style(bold=True, italic=True))
    return out


class TaskTable(DataTable[Text]):
    """Renders what it is given; diffs by row key so the cursor and scroll never jump."""

    def __init__(self, **kwargs: object) -> None:
        super().__init__(cursor_type="row", zebra_stripes=False, **kwargs)  # type: ignore[arg-type]
        self.layout_: Layout | None = None
        self._shown: dict[str, dict[str, str]] = {}
        self._order: list[str] = []
        self.keys: dict[str, TaskKey] = {}
        self._pending_selection: str | None = None
        self._row_ids: dict[TaskKey, str] = {}
        self._stamps: dict[str, tuple[object, ...]] = {}
        self._live: dict[str, TrackedTask] = {}

    def set_layout(self, layout: Layout) -> bool:
        """Rebuild the columns if the layout changed; True when it did."""
        if layout == self.layout_:
            return False
        selected = self.selected_row_id()
        self.clear(columns=True)
        self._shown.clear()
        self._stamps.clear()
        self._order = []
        self.layout_ = layout
        for label, key, _ in layout.columns:
            self.add_column(label, key=key, width=layout.width(key))
        if selected:
            self._pending_selection = selected
        return True

    def selected_row_id(self) -> str | None:
        if not self.row_count:
            return None
        try:
            return str(self.coordinate_to_cell_key(self.cursor_coordinate).row_key.value)
        except Exception:
            return None

    def show(
        self,
        rows: list[TrackedTask],
        now: datetime,
        palette: Palette,
        changed_at: dict[TaskKey, datetime],
        state: MonitorState,
    ) -> int:
        """Make the table show ``rows`` in this order; returns how many cells were written."""
        assert self.layout_ is not None
        selected = self._pending_selection or self.selected_row_id()
        self._pending_selection = None
        wanted: list[str] = []
        writes = 0
        keep: set[str] = set()
        live: dict[str, TrackedTask] = {}
        for tracked in rows:
            rid = self._row_ids.get(tracked.key)
            if rid is None:
                rid = self._row_ids[tracked.key] = row_id(tracked.key)
            wanted.append(rid)
            keep.add(rid)
            self.keys[rid] = tracked.key
            seen = changed_at.get(tracked.key)
            fresh = seen is not None and now - seen < HIGHLIGHT_FOR
            if fresh or tracked.task.state == TaskState.IN_PROGRESS:
                live[rid] = tracked
            # Most rows are finished tasks whose cells change only when the task does or
            # its age ticks over: skip building their cells again.
            start = tracked.task.start_time
            age = render.duration(now - start) if start else "-"
            stamp = (tracked, fresh, age, palette)
            previous = self._stamps.get(rid)
            if (
                previous is not None
                and previous[0] is tracked
                and previous[1:] == stamp[1:]
                and tracked.task.state != TaskState.IN_PROGRESS
            ):
                continue
            self._stamps[rid] = stamp
            writes += self._write_row(rid, tracked, now, palette, fresh, state)
        self._live = live
        for rid in [r for r in self._shown if r not in keep]:
            self.remove_row(rid)
            del self._shown[rid]
            self._stamps.pop(rid, None)
            key = self.keys.pop(rid, None)
            if key is not None:
                self._row_ids.pop(key, None)
        if wanted != self._current_order():
            rank = {rid: i for i, rid in enumerate(wanted)}
            self._sort_by_rank(rank)
        if selected and selected in self._shown:
            index = self.get_row_index(selected)
            if index != self.cursor_row:
                self.move_cursor(row=index, animate=False, scroll=False)
        return writes

    def _write_row(
        self,
        rid: str,
        tracked: TrackedTask,
        now: datetime,
        palette: Palette,
        fresh: bool,
        state: MonitorState,
    ) -> int:
        """Add the row, or rewrite the cells of it that changed; returns cells written."""
        assert self.layout_ is not None
        new = cells(tracked, now, self.layout_, palette, state, highlight=fresh)
        signature = {k: f"{v.plain}\x00{v.style}\x00{v.spans}" for k, v in new.items()}
        old = self._shown.get(rid)
        writes = 0
        if old is None:
            self.add_row(*new.values(), key=rid)
            writes = len(new)
        else:
            for column, text in new.items():
                if old.get(column) != signature[column]:
                    self.update_cell(rid, column, text)
                    writes += 1
        self._shown[rid] = signature
        return writes

    def tick(
        self,
        now: datetime,
        palette: Palette,
        changed_at: dict[TaskKey, datetime],
        state: MonitorState,
    ) -> int:
        """The once-a-second update between polls: only rows whose cells move with time
        (running tasks' ETAs, fading highlights). Ages of the rest wait for ``show``."""
        writes = 0
        for rid, tracked in self._live.items():
            if rid in self._shown:
                seen = changed_at.get(tracked.key)
                fresh = seen is not None and now - seen < HIGHLIGHT_FOR
                writes += self._write_row(rid, tracked, now, palette, fresh, state)
        return writes

    def _current_order(self) -> list[str]:
        return [str(row.key.value) for row in self.ordered_rows]

    def _sort_by_rank(self, rank: dict[str, int]) -> None:
        # DataTable.sort hands the key function cell values, not row keys: map the identity
        # of each row's first cell object back to its row.
        by_cell = (
            {
                id(self.get_cell(rid, self.layout_.columns[0][1])): position
                for rid, position in rank.items()
            }
            if self.layout_
            else {}
        )
        self.sort(key=lambda values: by_cell.get(id(values[0]), len(by_cell)))

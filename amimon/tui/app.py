"""The live monitor: polls in a worker, reduces each snapshot, shows what changed."""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, ClassVar, Protocol

from rich.text import Text
from textual import on, work
from textual.app import App, ComposeResult, SystemCommand
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, VerticalScroll
from textual.css.query import NoMatches
from textual.message import Message
from textual.screen import ModalScreen, Screen
from textual.suggester import Suggester
from textual.timer import Timer
from textual.widgets import DataTable, Footer, Input, RichLog, Select, Static

from amimon import render
from amimon.model import (
    KNOWN_STATES,
    ErrorKind,
    PollFailure,
    PollPlan,
    Snapshot,
    Target,
    TaskKey,
)
from amimon.reducer import (
    Event,
    MonitorState,
    TaskAppeared,
    TaskCompleted,
    TaskFailed,
    TaskStateChanged,
    reduce,
)
from amimon.render import Palette
from amimon.schedule import next_delay, planner
from amimon.tui import text
from amimon.tui.table import HIGHLIGHT_FOR, TaskTable, choose_layout
from amimon.view import Sort, SortColumn, TaskFilter, describe_shown, visible

if TYPE_CHECKING:
    from amimon.context import Context

DEMO_INTERVAL = 2.0
FULL_REFRESH_TICKS = 30
EVENT_LOG_LINES = 500


class TaskSource(Protocol):
    def fetch(
        self,
        plan: Callable[[Target], PollPlan] = ...,
        on_page: Callable[[Snapshot], None] | None = None,
    ) -> Snapshot: ...


def utc_now() -> datetime:
    return datetime.now(UTC)


class PollDone(Message):
    """A poll finished (successfully or not); carries what it saw, and possibly the state
    already reduced from ``base`` in the worker (pure work kept off the event loop)."""

    def __init__(
        self,
        snapshot: Snapshot,
        reduced: tuple[MonitorState, MonitorState, tuple[Event, ...], datetime] | None = None,
    ) -> None:
        super().__init__()
        self.snapshot = snapshot
        self.reduced = reduced


class _BucketSuggester(Suggester):
    """Suggests the buckets seen so far."""

    def __init__(self, buckets: Callable[[], Iterable[str]]) -> None:
        super().__init__(use_cache=False, case_sensitive=True)
        self._buckets = buckets

    async def get_suggestion(self, value: str) -> str | None:
        for bucket in sorted(self._buckets()):
            if value and bucket.startswith(value):
                return bucket
        return None


class HelpScreen(ModalScreen[None]):
    """Every key, in one place."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q,question_mark", "dismiss", "Close"),
    ]

    def __init__(self, bindings: Sequence[Binding]) -> None:
        super().__init__()
        self._keys = bindings

    def compose(self) -> ComposeResult:
        lines = Text("amimon keys\n\n", style="bold")
        for binding in self._keys:
            lines.append(f"{binding.key_display or binding.key:>8}  ", style="bold")
            lines.append(f"{binding.tooltip or binding.description}\n")
        lines.append("\nClick a column header to sort by it. Ctrl+P opens the command palette.")
        yield VerticalScroll(Static(lines), id="help")


def _key(key: str, action: str, description: str, tooltip: str, show: bool = True) -> Binding:
    return Binding(key, action, description, tooltip=tooltip, show=show, id=action)


class AmimonApp(App[int]):
    """The monitor. Widgets render what they are given; only the poll worker does I/O."""

    CSS_PATH = "amimon.tcss"
    TITLE = "amimon"
    # Bindings live here and only here: the footer, help screen and palette read them.
    BINDINGS: ClassVar[list[BindingType]] = [
        _key("r", "refresh", "Refresh", "Poll now"),
        _key("p", "pause", "Pause", "Pause or resume polling"),
        _key("b", "focus_bucket", "Bucket", "Filter by bucket (suggests buckets seen)"),
        _key("s", "cycle_state", "State", "Cycle the state filter: all, running, done, failed"),
        _key("slash", "focus_search", "Search", "Search AMI ids, buckets, keys and reasons"),
        _key("escape", "clear_filters", "Clear", "Clear the filter being edited, or all", False),
        _key("o", "cycle_sort", "Sort", "Cycle the sort column (or click a header)", False),
        _key("d", "toggle_details", "Details", "Show or hide the task details panel"),
        _key("e", "toggle_events", "Events", "Show or hide the event log"),
        _key("c", "copy_ami", "Copy", "Copy the selected AMI id"),
        _key("u", "copy_uri", "Copy URI", "Copy the selected task's S3 URI", False),
        _key("question_mark", "help", "Help", "Show every key"),
        _key("q", "quit", "Quit", "Quit amimon"),
    ]

    def __init__(
        self,
        source: TaskSource,
        targets: Sequence[Target],
        *,
        interval: float = 15.0,
        clock: Callable[[], datetime] = utc_now,
        demo: bool = False,
        bell: bool = True,
        theme: str = "textual-dark",
        auto_poll: bool = True,
    ) -> None:
        super().__init__()
        self.source = source
        self.targets = tuple(targets)
        self.interval = interval
        self.clock = clock
        self.demo = demo
        self.ring_bell = bell
        self.theme = theme
        self.auto_poll = auto_poll
        self.state = MonitorState()
        self.task_filter = TaskFilter()
        self.sort_order = Sort()
        self.changed_at: dict[TaskKey, datetime] = {}
        self.polling = False
        self.paused = False
        self.polls_started = 0
        self._poll_timer: Timer | None = None
        self._next_poll_at: float | None = None
        self.palette = Palette()
        self.last_writes = 0
        self._sized = False  # the first sizing picks which panels start open
        self._shown: dict[str | None, tuple[object, ...]] = {}
        self._ticks = 0

    # layout

    def compose(self) -> ComposeResult:
        yield Static(id="header")
        with Horizontal(id="filters"):
            yield Input(
                placeholder="bucket (b)",
                id="bucket",
                compact=True,
                suggester=_BucketSuggester(self._buckets_seen),
            )
            yield Select(
                [("All states", "all"), *[(s, s) for s in KNOWN_STATES]],
                value="all",
                allow_blank=False,
                id="state",
                compact=True,
            )
            yield Input(placeholder="search (/)", id="search", compact=True)
        yield Static(id="filter-status")
        yield Static(id="banner")
        with Horizontal(id="main"):
            yield TaskTable(id="tasks")
            yield Static(id="empty")
            with VerticalScroll(id="detail"):
                yield Static(id="detail-body")
        yield RichLog(id="events", max_lines=EVENT_LOG_LINES, wrap=True, markup=False)
        yield Footer()

    def on_mount(self) -> None:
        self._apply_palette()
        self.query_one("#banner").display = False
        self._apply_size()
        self.refresh_view()
        self.set_interval(1.0, self._tick)
        if self.auto_poll:
            # Let the first frame paint before anything touches boto3.
            self.call_after_refresh(self.poll_now)
        self.query_one(TaskTable).focus()

    def on_resize(self) -> None:
        self._apply_size()
        self.refresh_view()

    def _apply_size(self) -> None:
        width, height = self.size
        self.screen.set_class(width < 110, "-narrow")
        if not self._sized:
            self._sized = True
            self.query_one("#detail").display = width >= 110
            self.query_one("#events").display = height >= 30
        table = self.query_one(TaskTable)
        table.set_layout(choose_layout(self._table_width(), len(self.targets)))

    def _table_width(self) -> int:
        width = self.size.width
        detail = self.query_one("#detail")
        if detail.display and width >= 110:
            width -= 48
        return width

    def watch_theme(self) -> None:
        if self.is_running and self.screen_stack:
            self._apply_palette()
            self.refresh_view()

    def _apply_palette(self) -> None:
        v = self.get_css_variables()

        def color(name: str, fallback: str) -> str:
            value = v.get(name, "")
            return value[:7] if value.startswith("#") else fallback

        self.palette = Palette(
            running=color("primary-lighten-2", "cyan"),
            done=color("success", "green"),
            failed="bold " + color("error", "red"),
            unknown=color("accent", "magenta"),
            muted="dim",
            warning=color("warning", "yellow"),
        )

    # polling

    def poll_now(self, full: bool = False) -> None:
        """Start a poll unless one is running or polling is paused. The planner picks a
        cheap (running tasks only) or full poll; ``full`` forces a full one."""
        if self.polling or self.paused:
            return
        if self._poll_timer is not None:
            self._poll_timer.stop()
            self._poll_timer = None
        self.polling = True
        self.polls_started += 1
        self._next_poll_at = None
        self._fetch(full)
        self._refresh_header()

    @work(thread=True, exclusive=True, exit_on_error=False, group="poll")
    def _fetch(self, full: bool) -> None:
        try:
            snapshot = self.source.fetch(planner(self.state, full=full))
        except Exception as exc:  # the source should not raise; never let it kill the UI
            failure = PollFailure(ErrorKind.UNKNOWN, f"Unexpected error while polling: {exc}")
            snapshot = Snapshot((), (failure,))
        # reduce() is pure and polls never overlap, so it can run here, off the event loop;
        # on_poll_done checks the state it started from is still current.
        base, now = self.state, self.clock()
        state, events = reduce(base, snapshot, now)
        self.post_message(PollDone(snapshot, (base, state, events, now)))

    def on_poll_done(self, message: PollDone) -> None:
        self.polling = False
        was_loaded = self.state.loaded
        if message.reduced is not None and message.reduced[0] is self.state:
            _, self.state, events, now = message.reduced
        else:
            now = self.clock()
            self.state, events = reduce(self.state, message.snapshot, now)
        if self.state.loaded and not was_loaded:
            self.query_one("#events", RichLog).write(
                text.loaded_line(self.state, self.targets, now)
            )
        if not self.paused and self.auto_poll:
            self._schedule(next_delay(self.interval, self.state.throttled_polls))
        self._handle_events(events, now)
        self.refresh_view()

    def _schedule(self, delay: float) -> None:
        self._next_poll_at = time.monotonic() + delay
        self._poll_timer = self.set_timer(delay, self.poll_now)

    def _handle_events(self, events: Sequence[Event], now: datetime) -> None:
        log = self.query_one("#events", RichLog)
        finished: list[Event] = []
        for event in events:
            # Progress shows itself in the bar; highlight what changes a row's meaning.
            news = isinstance(event, TaskCompleted | TaskFailed | TaskStateChanged)
            if news or (isinstance(event, TaskAppeared) and not event.initial):
                self.changed_at[event.task.key] = now  # type: ignore[union-attr]
            if isinstance(event, TaskCompleted | TaskFailed):
                finished.append(event)
            line = text.event_line(event)
            if line is not None:
                log.write(line)
        for key in [k for k, at in self.changed_at.items() if now - at >= HIGHLIGHT_FOR]:
            del self.changed_at[key]
        self._notify_finished(finished)

    def _notify_finished(self, finished: Sequence[Event]) -> None:
        if not finished:
            return
        if len(finished) > 3:
            failed = sum(isinstance(e, TaskFailed) for e in finished)
            self.notify(
                f"{len(finished) - failed} completed, {failed} failed",
                title="Store tasks finished",
                severity="error" if failed else "information",
                markup=False,
            )
        for event in finished if len(finished) <= 3 else ():
            if isinstance(event, TaskFailed):
                reason = render.first_line(event.reason) or "no reason given"
                self.notify(
                    f"{render.safe(event.task.task.ami_id)}: {reason}",
                    title="Store task failed",
                    severity="error",
                    timeout=10,
                    markup=False,
                )
            elif isinstance(event, TaskCompleted):
                self.notify(
                    f"{render.safe(event.task.task.ami_id)} → {render.safe(event.task.task.s3_uri)}",
                    title="Store task completed",
                    markup=False,
                )
        if self.ring_bell:
            self.bell()

    def _tick(self) -> None:
        """Once a second: what moves with the clock. Ages of finished tasks change at most
        once a minute, so the whole table is refreshed only every ``FULL_REFRESH_TICKS``."""
        try:
            self._tick_once()
        except NoMatches:  # the last tick of a closing app finds its widgets gone
            return

    def _tick_once(self) -> None:
        self._ticks += 1
        if self._ticks % FULL_REFRESH_TICKS == 0:
            self.refresh_view()
            return
        now = self.clock()
        self._refresh_header()
        self._refresh_banner(now)
        self.last_writes = self.query_one(TaskTable).tick(
            now, self.palette, self.changed_at, self.state
        )
        self._refresh_detail()

    # rendering

    def _buckets_seen(self) -> set[str]:
        return {t.task.bucket for t in self.state.tasks.values() if t.task.bucket}

    def _retry_in(self) -> float | None:
        if self._next_poll_at is None:
            return None
        return max(0.0, self._next_poll_at - time.monotonic())

    def _refresh_header(self) -> None:
        now = self.clock()
        header = self.query_one("#header", Static)
        self._put(
            header,
            text.header(
                self.state,
                self.targets,
                now,
                demo=self.demo,
                paused=self.paused,
                polling=self.polling,
                compact=self.size.width < 110,
            ),
        )
        header.set_class(self.state.stale_since is not None, "-stale")

    def refresh_view(self) -> None:
        """Show the current state: header, banner, table (cell diff), details, status."""
        now = self.clock()
        self._refresh_header()
        self._refresh_banner(now)
        rows = visible(self.state, self.task_filter, self.sort_order)
        table = self.query_one(TaskTable)
        self.last_writes = table.show(rows, now, self.palette, self.changed_at, self.state)
        total = sum(1 for t in self.state.tasks.values() if t.vanished_at is None)
        self._put(
            self.query_one("#filter-status", Static),
            Text(
                describe_shown(len(rows), total, self.task_filter)
                + f" · sorted by {self._sort_words()}"
            ),
        )
        empty = self.query_one("#empty", Static)
        empty.display = not rows
        table.display = bool(rows)
        if not rows:
            filtered = self.task_filter.describe() if self.task_filter.active else None
            self._put(empty, text.empty_message(self.state, self.targets, filtered))
        self._refresh_detail()

    def _refresh_banner(self, now: datetime) -> None:
        banner = self.query_one("#banner", Static)
        message = text.banner(self.state, now, self._retry_in())
        banner.display = message is not None
        if message is not None:
            self._put(banner, message)
            kinds = {f.failure.kind for f in self.state.failures.values()}
            banner.set_class(kinds == {ErrorKind.THROTTLED}, "-warning")

    def _sort_words(self) -> str:
        arrow = "↓" if self.sort_order.descending else "↑"
        return f"{self.sort_order.column.value} {arrow}"

    def selected_task(self) -> TaskKey | None:
        table = self.query_one(TaskTable)
        rid = table.selected_row_id()
        return table.keys.get(rid) if rid else None

    def _refresh_detail(self) -> None:
        if not self.query_one("#detail").display:
            return
        key = self.selected_task()
        tracked = self.state.tasks.get(key) if key else None
        self._put(
            self.query_one("#detail-body", Static),
            text.detail(tracked, self.clock(), self.palette, self.state),
        )

    def _put(self, widget: Static, content: Text) -> None:
        """Update a Static only when its text changed, and re-lay out the screen only when
        its number of lines did: most once-a-second refreshes change a word or nothing."""
        key = (content.plain, str(content.style), tuple(content.spans))
        old = self._shown.get(widget.id)
        if old != key:
            self._shown[widget.id] = key
            lines = content.plain.count("\n")
            relayout = old is None or str(old[0]).count("\n") != lines
            widget.update(content, layout=relayout)

    @on(DataTable.RowHighlighted)
    def _row_highlighted(self) -> None:
        self._refresh_detail()

    @on(DataTable.RowSelected)
    def _row_selected(self) -> None:
        detail = self.query_one("#detail")
        if not detail.display:
            detail.display = True
            self._apply_size()
            self.refresh_view()

    @on(DataTable.HeaderSelected)
    def _header_selected(self, event: DataTable.HeaderSelected) -> None:
        table = self.query_one(TaskTable)
        assert table.layout_ is not None
        for _, key, column in table.layout_.columns:
            if key == event.column_key.value and column is not None:
                same = column == self.sort_order.column
                self.sort_order = Sort(column, not self.sort_order.descending if same else True)
        self.refresh_view()

    # filters

    @on(Input.Changed, "#bucket")
    def _bucket_changed(self, event: Input.Changed) -> None:
        value = event.value.strip()
        known = self._buckets_seen()
        if not value:
            buckets: frozenset[str] = frozenset()
        elif value in known:
            buckets = frozenset({value})
        else:
            buckets = frozenset(b for b in known if b.startswith(value)) or frozenset({value})
        self._set_filter(TaskFilter(buckets, self.task_filter.states, self.task_filter.text))

    @on(Input.Changed, "#search")
    def _search_changed(self, event: Input.Changed) -> None:
        f = self.task_filter
        self._set_filter(TaskFilter(f.buckets, f.states, event.value))

    @on(Select.Changed, "#state")
    def _state_changed(self, event: Select.Changed) -> None:
        value = str(event.value)
        states = frozenset() if value == "all" else frozenset({value})
        f = self.task_filter
        self._set_filter(TaskFilter(f.buckets, states, f.text))

    @on(Input.Submitted)
    def _input_submitted(self) -> None:
        self.query_one(TaskTable).focus()

    def _set_filter(self, task_filter: TaskFilter) -> None:
        if task_filter != self.task_filter:
            self.task_filter = task_filter
            self.refresh_view()

    # actions

    def action_refresh(self) -> None:
        if self.polling:
            self.notify("A poll is already running.", timeout=2)
            return
        if self.paused:
            self.paused = False
        self.poll_now(full=True)

    def action_pause(self) -> None:
        self.paused = not self.paused
        if self.paused:
            if self._poll_timer is not None:
                self._poll_timer.stop()
                self._poll_timer = None
            self._next_poll_at = None
            self.notify("Polling paused: press p to resume.", timeout=3)
        else:
            self.poll_now()
        self.refresh_view()

    def action_focus_bucket(self) -> None:
        self.query_one("#bucket", Input).focus()

    def action_focus_search(self) -> None:
        self.query_one("#search", Input).focus()

    def action_cycle_state(self) -> None:
        select: Select[str] = self.query_one("#state", Select)
        order = ["all", *KNOWN_STATES]
        current = str(select.value)
        select.value = order[(order.index(current) + 1) % len(order)] if current in order else "all"

    def action_clear_filters(self) -> None:
        focused = self.focused
        if isinstance(focused, Input) and focused.value:
            focused.value = ""
        elif isinstance(focused, Input | Select):
            pass
        else:
            self.query_one("#bucket", Input).value = ""
            self.query_one("#search", Input).value = ""
            self.query_one("#state", Select).value = "all"
        self.query_one(TaskTable).focus()

    def action_cycle_sort(self) -> None:
        columns = [c for c in SortColumn if c is not SortColumn.REGION or len(self.targets) > 1]
        index = columns.index(self.sort_order.column) if self.sort_order.column in columns else -1
        column = columns[(index + 1) % len(columns)]
        self.sort_order = Sort(column, column in (SortColumn.STARTED, SortColumn.PROGRESS))
        self.refresh_view()

    def action_toggle_details(self) -> None:
        detail = self.query_one("#detail")
        detail.display = not detail.display
        self._apply_size()
        self.refresh_view()

    def action_toggle_events(self) -> None:
        events = self.query_one("#events")
        events.display = not events.display

    def _copy(self, what: str, value: str) -> None:
        if not value:
            self.notify(f"No {what} to copy.", severity="warning", timeout=3)
            return
        self.copy_to_clipboard(value)
        self.notify(f"Copied {what}: {value}", timeout=3, markup=False)

    def action_copy_ami(self) -> None:
        key = self.selected_task()
        self._copy("AMI id", (key.ami_id or "") if key else "")

    def action_copy_uri(self) -> None:
        key = self.selected_task()
        tracked = self.state.tasks.get(key) if key else None
        self._copy("S3 URI", tracked.task.s3_uri if tracked else "")

    def action_help(self) -> None:
        self.push_screen(HelpScreen([b for b in self.BINDINGS if isinstance(b, Binding)]))

    def get_system_commands(self, screen: Screen[object]) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        for binding in self.BINDINGS:
            if isinstance(binding, Binding) and binding.action not in {"quit", "help"}:
                action = binding.action

                def run(action: str = action) -> None:
                    self.call_later(self.run_action, action)

                yield SystemCommand(binding.description, binding.tooltip, run)


def run(args: argparse.Namespace, context: Context) -> int:
    """``amimon`` / ``amimon watch``: run the monitor until the user quits."""
    interval = context.config.interval
    if context.demo is not None and getattr(args, "interval", None) is None:
        interval = DEMO_INTERVAL
    source = context.source()
    app = AmimonApp(
        source,
        context.targets,
        interval=interval,
        demo=context.demo is not None,
        bell=context.config.bell,
        theme="textual-dark",
    )
    if context.config.theme not in app.available_themes:
        import sys

        known = ", ".join(sorted(app.available_themes))
        error = context.config.error(
            "theme", f"unknown theme {context.config.theme!r} (known: {known})"
        )
        print(f"amimon: error: {error}", file=sys.stderr)
        return 2
    app.theme = context.config.theme
    try:
        app.run()
    finally:
        source.close()
    return 0

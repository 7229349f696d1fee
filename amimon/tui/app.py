"""The live monitor: composes the screen parts, binds the keys and routes messages."""

from __future__ import annotations

import asyncio
import gc
import logging
import signal
from collections.abc import Callable, Iterable, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from typing import ClassVar

from textual import events, on
from textual.app import App, ComposeResult, SystemCommand
from textual.binding import Binding, BindingType
from textual.containers import Horizontal
from textual.screen import Screen
from textual.timer import Timer
from textual.widgets import Footer, Input, Static

from amimon.model import ErrorKind, PollFailure, Snapshot, Target, TaskKey
from amimon.reducer import (
    Event,
    MonitorState,
    PollFailed,
    TargetFailure,
    TaskAppeared,
    TaskCompleted,
    TaskFailed,
    TaskStateChanged,
    reduce,
)
from amimon.tui import alerts, clock
from amimon.tui.poller import PollCrashed, PollDone, Poller, PollPage, TaskSource, Timers
from amimon.tui.screens.help import HelpScreen, typed
from amimon.tui.widgets import banner, detail, header
from amimon.tui.widgets.banner import Banner
from amimon.tui.widgets.detail import Detail
from amimon.tui.widgets.event_log import EventLog, loaded_words
from amimon.tui.widgets.filter_bar import FilterBar
from amimon.tui.widgets.header import Header, HeaderInfo
from amimon.tui.widgets.task_table import HIGHLIGHT_FOR, TaskTable
from amimon.view import Sort, SortColumn, TaskFilter, visible

log = logging.getLogger(__name__)
WIDE = 110  # columns from which the detail panel sits beside the table


def utc_now() -> datetime:
    return datetime.now(UTC)


def _key(key: str, action: str, words: str, tooltip: str, show: bool = True) -> Binding:
    return Binding(key, action, words, tooltip=tooltip, show=show, key_display=typed(key))


class AmimonApp(App[int]):
    """The monitor. Widgets render what they are given; only the poller's worker does I/O."""

    CSS_PATH = "amimon.tcss"
    TITLE = "amimon"
    # Bindings live here and only here: the footer, help screen and palette read them.
    BINDINGS: ClassVar[list[BindingType]] = [
        _key("r", "refresh", "Refresh", "Poll now (a full listing)"),
        _key("p", "pause", "Pause", "Pause or resume polling"),
        _key("p", "resume", "Resume", "Resume polling"),
        _key("b", "focus_bucket", "Bucket", "Filter by bucket (suggests buckets seen)"),
        _key("s", "cycle_state", "State", "Cycle the state filter: all, running, done, failed"),
        _key("slash", "focus_search", "Search", "Search AMI ids, buckets, keys and reasons"),
        _key(
            "escape",
            "clear_filters",
            "Clear",
            "Clear the field being edited, or all filters",
            False,
        ),
        _key("o", "cycle_sort", "Sort", "Cycle the sort column (or click a header)", False),
        _key("d", "toggle_details", "Details", "Show or hide the task details panel"),
        _key("e", "toggle_events", "Events", "Show or hide the event log", False),
        _key("c", "copy_ami", "Copy", "Copy the selected AMI id", False),
        _key("u", "copy_uri", "Copy URI", "Copy the selected task's S3 URI", False),
        _key("question_mark", "help", "Help", "Show every key"),
        _key("q", "quit", "Quit", "Quit amimon"),
        Binding(
            "ctrl+c", "interrupt", "Quit", tooltip="Quit (exit code 130)", show=False, priority=True
        ),
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
        auto_poll: bool = True,
        task_filter: TaskFilter | None = None,
        timers: Timers | None = None,
        monotonic: Callable[[], float] | None = None,
        handle_signals: bool = False,
    ) -> None:
        super().__init__()
        self.targets = tuple(targets)
        self.clock = clock
        self.demo = demo
        self.ring_bell = bell
        self.auto_poll = auto_poll
        self.handle_signals = handle_signals
        self.state = MonitorState()
        self.task_filter = task_filter or TaskFilter()
        self.sort_order = Sort()
        self.changed_at: dict[TaskKey, datetime] = {}
        extra = {"monotonic": monotonic} if monotonic else {}
        self.poller = Poller(
            self, source, lambda: self.state, interval=interval, clock=clock, timers=timers, **extra
        )
        self.palette = alerts.palette(self)
        self._wake_timer: Timer | None = None
        self._sized = False  # the first sizing picks which panels start open
        self._frozen = False

    @property
    def polling(self) -> bool:
        return self.poller.running

    @property
    def paused(self) -> bool:
        return self.poller.paused

    def compose(self) -> ComposeResult:
        yield Header(self._header_info(), id="header")
        yield FilterBar(self.task_filter, self._buckets_seen, id="filter-bar")
        yield Banner(id="banner")
        with Horizontal(id="main"):
            yield TaskTable(targets=self.targets, id="tasks")
            yield Static(id="empty")
            yield Detail(id="detail")
        yield EventLog(id="events")
        yield Footer(show_command_palette=False)

    def on_mount(self) -> None:
        self.palette = alerts.palette(self)
        self.query_one(TaskTable).set_look(self.palette, self.sort_order)
        self._apply_size()
        self.refresh_view()
        self.query_one(TaskTable).focus()
        if self.handle_signals:
            loop = asyncio.get_running_loop()
            for sig, code in ((signal.SIGTERM, 143), (signal.SIGHUP, 129)):
                loop.add_signal_handler(sig, self._signalled, code)
        if self.auto_poll:
            self.call_after_refresh(self.poller.poll_now)  # let the first frame paint first

    def _signalled(self, code: int) -> None:
        self.exit(return_code=code)

    def on_resize(self, event: events.Resize) -> None:
        # The event has the new size; ``self.size`` may still be the previous one here.
        self._apply_size(event.size.width, event.size.height)

    def _apply_size(self, width: int | None = None, height: int | None = None) -> None:
        width = self.size.width if width is None else width
        height = self.size.height if height is None else height
        self.screen.set_class(width < WIDE, "-narrow")
        if not self._sized:
            self._sized = True
            self.query_one(Detail).display = width >= WIDE
            self.query_one(EventLog).display = height >= 30

    def watch_theme(self) -> None:
        if self.is_running and self.screen_stack:
            self.palette = alerts.palette(self)
            self.query_one(TaskTable).set_look(self.palette, self.sort_order)
            self.refresh_view()

    # polling

    def poll_now(self, full: bool = False) -> None:
        self.poller.poll_now(full)
        self._show_header(self.clock())

    def on_poll_page(self, message: PollPage) -> None:
        self.state = message.state
        self.refresh_view()

    def on_poll_done(self, message: PollDone) -> None:
        try:
            was_loaded = self.state.loaded
            self.state = message.state
            if self.state.loaded and not was_loaded:
                self.query_one(EventLog).say(message.at, loaded_words(self.state, self.targets))
                if not self._frozen:
                    self._frozen = True
                    gc.freeze()  # the tasks loaded now live long: keep them out of GC passes
            self._handle_events(message.events, message.at)
        except Exception as exc:  # a poll can fail; the loop cannot
            log.exception("handling a poll failed")
            self._fail_visibly(exc)
        finally:
            self._poll_finished()

    def on_poll_crashed(self, message: PollCrashed) -> None:
        try:
            self.state = message.state
            self._fail_visibly(message.error)
        finally:
            self._poll_finished()

    def _poll_finished(self) -> None:
        """Schedule the next poll first, then show: nothing shown can stop the loop."""
        if self.auto_poll:
            self.poller.finished(self.state.throttled_polls)
        else:
            self.poller.running = False
        try:
            self.refresh_view()
        except Exception as exc:
            log.exception("showing a poll failed")
            self._fail_visibly(exc)

    def _fail_visibly(self, error: BaseException) -> None:
        """An unexpected error: into the state as a failed poll (banner, event line)."""
        now = self.clock()
        words = f"Internal error while polling: {type(error).__name__}: {error}"
        failure = PollFailure(ErrorKind.UNKNOWN, words)
        try:
            self.state, events = reduce(self.state, Snapshot((), (failure,)), now)
        except Exception:
            failures = {**self.state.failures, None: TargetFailure(failure, now)}
            self.state = replace(self.state, failures=failures)
            events = (PollFailed(failure, now),)
        try:
            self.query_one(EventLog).add(events)
        except Exception:
            log.exception("showing a poll failure failed")

    def _handle_events(self, events: Sequence[Event], now: datetime) -> None:
        for event in events:
            # Progress shows in the bar; highlight what changes a row's meaning.
            news = isinstance(event, TaskCompleted | TaskFailed | TaskStateChanged)
            if news or (isinstance(event, TaskAppeared) and not event.initial):
                self.changed_at[event.task.key] = now  # type: ignore[union-attr]
        for key in [k for k, at in self.changed_at.items() if now - at >= HIGHLIGHT_FOR]:
            del self.changed_at[key]
        self.query_one(EventLog).add(events)
        if alerts.notify_finished(self, events) and self.ring_bell:
            self.bell()

    # showing

    def _buckets_seen(self) -> set[str]:
        return {t.task.bucket for t in self.state.tasks.values() if t.task.bucket}

    def _header_info(self, now: datetime | None = None) -> HeaderInfo:
        return header.header_info(
            self.state,
            self.targets,
            now or self.clock(),
            interval=self.poller.interval,
            demo=self.demo,
            paused=self.paused,
            polling=self.polling,
        )

    def _show_header(self, now: datetime) -> None:
        self.query_one(Header).show(self._header_info(now))

    def refresh_view(self) -> None:
        """Show the current state: header, banner, table, details, filter status."""
        now = self.clock()
        rows = visible(self.state, self.task_filter, self.sort_order)
        keys = [t.key for t in rows]
        table = self.query_one(TaskTable)
        table.show(self.state, keys, now, self.changed_at)
        table.display = bool(keys)
        empty = self.query_one("#empty", Static)
        empty.display = not keys
        if not keys:
            filtered = self.task_filter.describe() if self.task_filter.active else None
            empty.update(alerts.empty_message(self.state, self.targets, filtered))
        self.query_one(FilterBar).show_status(len(keys), len(self.state.tasks), self.sort_order)
        self._show_clocked(now)

    def _show_clocked(self, now: datetime) -> None:
        """What moves with the clock: header age, banner countdown, details, table texts."""
        self._show_header(now)
        self.query_one(Banner).show(self.state, now, self.poller.retry_in())
        self.query_one(TaskTable).tick(now)
        self._show_detail(now)
        self._schedule_wake()

    def _selected(self) -> TaskKey | None:
        return self.query_one(TaskTable).cursor_key

    def _show_detail(self, now: datetime) -> None:
        panel = self.query_one(Detail)
        if panel.display:
            key = self._selected()
            tracked = self.state.tasks.get(key) if key else None
            text = detail.detail_text(tracked, now, self.palette, self.state, panel.text_width)
            panel.show(text, key)

    def _schedule_wake(self) -> None:
        """Wake at the next moment any visible text changes (and not before)."""
        now = self.clock()
        key = self._selected()
        tracked = self.state.tasks.get(key) if key else None
        retry_in = self.poller.retry_in()
        moment = clock.earliest(
            (
                header.next_change(self.state, now, self.poller.interval),
                banner.next_change(self.state, now, retry_in),
                self.query_one(TaskTable).next_change(),
                detail.next_change(tracked, now, self.state)
                if self.query_one(Detail).display
                else None,
            )
        )
        if self._wake_timer is not None:
            self._wake_timer.stop()
            self._wake_timer = None
        if moment is not None:
            delay = max(0.05, (moment - now).total_seconds())
            self._wake_timer = self.set_timer(delay, self._wake)

    def _wake(self) -> None:
        self._wake_timer = None
        if self.is_running and self.screen_stack:
            self._show_clocked(self.clock())

    # messages from the parts

    @on(FilterBar.Changed)
    def _filter_changed(self, event: FilterBar.Changed) -> None:
        self.task_filter = event.task_filter
        self.refresh_view()

    @on(TaskTable.Highlighted)
    def _row_highlighted(self) -> None:
        self._show_detail(self.clock())
        self._schedule_wake()

    @on(TaskTable.Selected)
    def _row_selected(self) -> None:
        panel = self.query_one(Detail)
        if not panel.display:
            panel.display = True
            self.call_after_refresh(self._show_detail, self.clock())

    @on(TaskTable.HeaderClicked)
    def _header_clicked(self, event: TaskTable.HeaderClicked) -> None:
        same = event.column == self.sort_order.column
        self._sort(Sort(event.column, not self.sort_order.descending if same else True))

    def _sort(self, order: Sort) -> None:
        self.sort_order = order
        self.query_one(TaskTable).set_look(self.palette, order)
        self.refresh_view()

    # actions

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "pause":
            return not self.paused
        if action == "resume":
            return self.paused
        return True

    def action_refresh(self) -> None:
        if self.polling:
            self.notify("A poll is already running.", timeout=2)
            return
        self.poller.paused = False
        self.poll_now(full=True)
        self.refresh_bindings()

    def action_pause(self) -> None:
        self.poller.pause()
        self.notify("Polling paused: press p to resume.", timeout=3)
        self.refresh_bindings()
        self.refresh_view()

    def action_resume(self) -> None:
        self.poller.resume()
        self.refresh_bindings()
        self.refresh_view()

    def action_interrupt(self) -> None:
        self.exit(return_code=130)

    def action_focus_bucket(self) -> None:
        self.query_one(FilterBar).focus_field("bucket")

    def action_focus_search(self) -> None:
        self.query_one(FilterBar).focus_field("search")

    def action_cycle_state(self) -> None:
        self.query_one(FilterBar).cycle_state()

    def action_clear_filters(self) -> None:
        focused = self.focused
        bar = self.query_one(FilterBar)
        if isinstance(focused, Input) and focused.value:
            bar.clear(focused)
        else:
            bar.clear()
        self.query_one(TaskTable).focus()

    def action_cycle_sort(self) -> None:
        columns = [c for c in SortColumn if c is not SortColumn.REGION or len(self.targets) > 1]
        index = columns.index(self.sort_order.column) if self.sort_order.column in columns else -1
        column = columns[(index + 1) % len(columns)]
        self._sort(Sort(column, column in (SortColumn.STARTED, SortColumn.PROGRESS)))

    def action_toggle_details(self) -> None:
        panel = self.query_one(Detail)
        panel.display = not panel.display
        self.call_after_refresh(self._show_detail, self.clock())

    def action_toggle_events(self) -> None:
        events = self.query_one(EventLog)
        events.display = not events.display

    def action_copy_ami(self) -> None:
        key = self._selected()
        alerts.copy(self, "AMI id", (key.ami_id or "") if key else "")

    def action_copy_uri(self) -> None:
        key = self._selected()
        tracked = self.state.tasks.get(key) if key else None
        alerts.copy(self, "S3 URI", tracked.task.s3_uri if tracked else "")

    def action_help(self) -> None:
        self.push_screen(HelpScreen(alerts.help_keys(self.BINDINGS, TaskTable.BINDINGS)))

    def get_system_commands(self, screen: Screen[object]) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        for binding in self.BINDINGS:
            if isinstance(binding, Binding) and binding.action not in {"quit", "help"}:

                def run(action: str = binding.action) -> None:
                    self.call_later(self.run_action, action)

                yield SystemCommand(binding.description, binding.tooltip, run)


def run(args: object, context: object) -> int:
    """``amimon`` / ``amimon watch``: run the monitor until the user quits (or a signal)."""
    from amimon.tui.launch import launch

    return launch(args, context)  # type: ignore[arg-type]

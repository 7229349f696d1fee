"""The live monitor: composes the screen parts, binds the keys and routes messages."""

from __future__ import annotations

import asyncio
import gc
import logging
import os
import signal
import threading
from collections.abc import Callable, Iterable, Sequence
from contextlib import suppress
from datetime import UTC, datetime
from functools import cached_property
from typing import TYPE_CHECKING, ClassVar

from textual import events, on
from textual.app import App, ComposeResult, RenderResult, SystemCommand
from textual.binding import BindingType
from textual.containers import Horizontal
from textual.css.query import NoMatches
from textual.driver import Driver
from textual.screen import Screen
from textual.widget import Widget
from textual.widgets import Input

from amimon import render
from amimon.derive import DEFAULT_STORE_QUOTA_GB, retry_command
from amimon.model import Target, TaskState
from amimon.state import MonitorState
from amimon.tui import alerts, keys
from amimon.tui.display import Display
from amimon.tui.order import Order, no_gc_passes
from amimon.tui.poller import (
    AfterPoll,
    PollCrashed,
    PollDone,
    Poller,
    PollPage,
    TaskSource,
    Timers,
    crashed,
)
from amimon.tui.screens.help import HelpScreen
from amimon.tui.widgets.banner import Banner
from amimon.tui.widgets.detail import Detail
from amimon.tui.widgets.filter_bar import FilterBar
from amimon.tui.widgets.header import Header, tallied
from amimon.tui.widgets.task_table import TaskTable
from amimon.view import Sort, SortColumn, TaskFilter

if TYPE_CHECKING:
    from amimon.alerts import AlertRunner
    from amimon.tui.widgets.event_log import EventLog

log = logging.getLogger(__name__)
WIDE = 110  # columns from which the detail panel sits beside the table
SIGNAL_GRACE = 3.0  # seconds a signalled monitor has to restore the terminal and exit
REST_AFTER = 1.0  # seconds after the first frame the footer and log come if no poll answered


def utc_now() -> datetime:
    return datetime.now(UTC)


class Box(Widget):
    """A place kept for a widget mounted later: blank until then (a bare ``Widget`` draws
    its own name)."""

    def render(self) -> RenderResult:
        return ""


class MonitorScreen(Screen[None]):
    """The monitor's screen, without two of Textual's start-up passes that change nothing.

    As it starts, Textual sends it three Resize events of one size (the app's, the
    terminal's, and its own first layout's), and each one lays out and redraws every
    widget again: about 20 ms on the way to the first data. A Resize to the size the
    screen is already laid out at changes nothing, so Textual's handler is skipped for it;
    a real resize still lays the screen out once. And its first showing does not style
    again the widgets just styled as they were mounted."""

    def on_resize(self, event: events.Resize) -> None:
        if event.size == self.outer_size:
            event.prevent_default()

    _shown = False

    def on_screen_resume(self, event: events.ScreenResume) -> None:
        # Textual styles every widget as it is mounted, and by default all of them again
        # when the screen is first shown, just before the first frame: the same styles
        # (12 ms of start-up). A change of classes or focus on the way restyles its own
        # widgets; later resumes (help closed over the monitor) restyle as Textual says.
        if not self._shown:
            self._shown = True
            event.refresh_styles = False


class AmimonApp(App[int]):
    """The monitor. Widgets render what they are given; only the poller's worker does I/O."""

    CSS_PATH = "amimon.tcss"
    TITLE = "amimon"
    # The table has the keys from the start: Textual's default ("*") would focus the bucket
    # field first and the table then take it away, restyling both before the first frame.
    AUTO_FOCUS = "#tasks"
    # Bindings live in one place (keys.py): the footer, help screen and palette read them.
    BINDINGS: ClassVar[list[BindingType]] = keys.BINDINGS

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
        state: MonitorState | None = None,
        after_poll: AfterPoll | None = None,
        alert_runner: AlertRunner | None = None,
        quota_gib: int = DEFAULT_STORE_QUOTA_GB,
    ) -> None:
        super().__init__()
        self.targets = tuple(targets)
        self.alert_runner = alert_runner
        self.quota_gib = quota_gib
        self.clock = clock
        self.demo = demo
        self.ring_bell = bell
        self.auto_poll = auto_poll
        self.handle_signals = handle_signals
        self.state = state or MonitorState()
        self.task_filter = task_filter or TaskFilter()
        self.sort_order = Sort()
        extra = {"monotonic": monotonic} if monotonic else {}
        self.poller = Poller(
            self,
            source,
            lambda: self.state,
            interval=interval,
            clock=clock,
            view=lambda: (self.task_filter, self.sort_order),
            timers=timers,
            after=after_poll,
            # The header's counts and gauges: a walk over every task, done in the worker.
            warm=lambda state: tallied(state, self.targets, self.quota_gib),
            on_start=self._poll_started,
            **extra,
        )
        self.palette = alerts.palette(self)
        self.display_ = Display(self)
        self.pending_warnings: list[str] = []  # said once the screen is up
        self._said_loaded = False  # "Loaded N store tasks", once, after the first poll
        self._frozen = False  # the first load's objects moved out of the collector's way
        self._toggled: set[str] = set()  # panels the user showed or hid (d, e)
        self._rows: Order | None = None
        self._rest_mounted = False
        self._start_up_gc = False  # the collector is off until start-up ends

    @cached_property
    def event_log(self) -> EventLog:
        """The event log, made when first used: its module (with the events and Rich's
        pretty-printer) is not needed for the first frame. Lines written before it is
        mounted wait in it (RichLog renders them once it has a size)."""
        from amimon.tui.widgets.event_log import EventLog

        return EventLog(id="events")

    def _buckets_seen(self) -> set[str]:
        return {t.task.bucket for t in self.state.tasks.values() if t.task.bucket}

    @property
    def polling(self) -> bool:
        return self.poller.running

    @property
    def paused(self) -> bool:
        return self.poller.paused

    def get_driver_class(self) -> type[Driver]:
        """On Linux and macOS, Textual's driver with an input thread that sleeps until a key
        comes (Textual's wakes ten times a second: most of an idle monitor's CPU)."""
        driver = super().get_driver_class()
        if driver.__module__ == "textual.drivers.linux_driver" and driver.__name__ == "LinuxDriver":
            from amimon.tui.driver import QuietLinuxDriver

            return QuietLinuxDriver
        return driver

    def get_default_screen(self) -> Screen[None]:
        return MonitorScreen(id="_default")

    def compose(self) -> ComposeResult:
        yield Header(self.display_.header_info(self.clock()), id="header")
        yield FilterBar(self.task_filter, self._buckets_seen, id="filter-bar")
        yield Banner(id="banner")
        with Horizontal(id="main"):
            yield TaskTable(targets=self.targets, id="tasks")
            yield Detail(id="detail")
        # Empty until a poll has answered: mounted once its answer is drawn (``_mount_rest``:
        # less to style and draw before the first frame and the first data), in boxes that
        # keep their places.
        yield Box(id="events-box")
        yield Box(id="footer-box")

    def on_mount(self) -> None:
        self.palette = alerts.palette(self)
        self.query_one(TaskTable).set_look(self.palette, self.sort_order)
        self._apply_size()
        self.refresh_view()
        table = self.query_one(TaskTable)
        table.focus_keys = {"slash": self.action_focus_search, "b": self.action_focus_bucket}
        table.focus()
        if self.handle_signals:
            loop = asyncio.get_running_loop()
            # A SIGINT from outside (kill -INT, a supervisor) ends it as Ctrl+C does: 130.
            signals = ((signal.SIGINT, 130), (signal.SIGTERM, 143), (signal.SIGHUP, 129))
            for sig, code in signals:
                loop.add_signal_handler(sig, self._signalled, code)
        self.call_after_refresh(self._after_first_frame)

    def on_ready(self) -> None:
        # Textual's Ready comes once the first frame is drawn: the first poll starts then,
        # not after the layout passes that follow it (another 30 ms, a third of it idle).
        if self.auto_poll:
            self.poller.poll_now()

    def _after_first_frame(self) -> None:
        # amimon's main() holds the cyclic collector off during start-up: what it made
        # lives as long as the app, so it is frozen now and, with what the first poll
        # makes (botocore and its client), again when start-up ends (``_mount_rest``).
        self._start_up_gc = not gc.isenabled()
        if self._start_up_gc:
            gc.freeze()
        for message in self.pending_warnings:
            self.warn(message)
        self.pending_warnings = []
        if self.auto_poll:
            # The first poll's worker imports botocore and makes its client (~300 ms of
            # CPU): styling and drawing the footer and log meanwhile would share the
            # interpreter with it and hold back the first data by as much.
            self.set_timer(REST_AFTER, self._mount_rest)
        else:
            self._mount_rest()

    def _mount_rest(self) -> None:
        """The event log and the footer, into the boxes laid out for them from the start:
        once the first poll's answer is on screen, or REST_AFTER after the first frame."""
        if self._rest_mounted:
            return
        self._rest_mounted = True
        if self._start_up_gc:
            # Start-up ends here. Until now the poll worker imported botocore and made
            # its client with the collector off (15 ms of passes on the way to the first
            # data, which find about a hundred cyclic garbage objects among 55,000).
            self._start_up_gc = False
            gc.freeze()
            gc.enable()
        self.event_log.display = self.query_one("#events-box").display
        self.query_one("#events-box").mount(self.event_log)
        from amimon.tui.widgets.footer import KeyFooter  # its module is not needed before

        self.query_one("#footer-box").mount(KeyFooter(show_command_palette=False))

    def _first_answer_shown(self) -> None:
        if not self._rest_mounted:
            self.call_after_refresh(self._mount_rest)

    def warn(self, message: str) -> None:
        """A problem worth one toast and one log line that does not stop the monitor."""
        words = render.first_line(message, alerts.TOAST_CHARS)
        self.notify(words, title="amimon", severity="warning", timeout=8, markup=False)
        with suppress(Exception):
            self.event_log.say(self.clock(), render.safe(message))

    def on_unmount(self) -> None:
        self.poller.close()

    def _signalled(self, code: int) -> None:
        self.exit(return_code=code)
        # After a real hangup the terminal is gone and shutting down can hang (writes to a
        # dead tty, a driver other than ours). Whatever happens, the process ends.
        watchdog = threading.Timer(SIGNAL_GRACE, os._exit, args=(code,))
        watchdog.daemon = True
        watchdog.start()

    def on_resize(self, event: events.Resize) -> None:
        # The event has the new size; ``self.size`` may still be the previous one here.
        self._apply_size(event.size.width, event.size.height)

    def _apply_size(self, width: int | None = None, height: int | None = None) -> None:
        width = self.size.width if width is None else width
        height = self.size.height if height is None else height
        # The monitor's own screen, also while help is open over it (``self.screen`` is
        # then the help screen, and the monitor came back laid out for the old size).
        self.screen_stack[0].set_class(width < WIDE, "-narrow")
        # The panels follow the size until the user shows or hides them with d or e.
        panel = self.query_one(Detail)
        if "detail" not in self._toggled and panel.display != (width >= WIDE):
            panel.display = width >= WIDE
            self.call_after_refresh(self.display_.show_detail, self.clock())
        if "events" not in self._toggled:
            self._show_events(height >= 30)

    def watch_theme(self) -> None:
        if self.is_running and self.screen_stack:
            self.palette = alerts.palette(self)
            self.query_one(TaskTable).set_look(self.palette, self.sort_order, theme=True)
            self.query_one(Detail).restyle()
            self.refresh_view()

    # polling

    def poll_now(self, full: bool = False) -> None:
        self.poller.poll_now(full)

    def _poll_started(self) -> None:
        """The header's ⟳ and the banner's words, for every poll (the timer's too)."""
        with suppress(NoMatches):  # a poll started before the screen is up, or as it goes
            self.display_.show_polling(self.clock())

    def refresh_view(self) -> None:
        """Show the current state everywhere."""
        self.display_.show()

    def on_poll_page(self, message: PollPage) -> None:
        self.state = message.state
        self.query_one(FilterBar).buckets_seen_changed()
        self._freeze_when_loaded()
        self.display_.show(message.rows)
        if message.shown is not None:
            self.call_after_refresh(message.shown.set)
            # The listing is complete; the AMI look-ups that follow can take a while (30 s
            # at 10,000 tasks): the log says the tasks are loaded now, once they are drawn.
            self.call_after_refresh(self._say_loaded, self.clock())
        self._first_answer_shown()

    def _say_loaded(self, at: datetime) -> None:
        """ "Loaded N store tasks", once: when the first load is on screen."""
        if self.state.loaded and not self._said_loaded:
            self._said_loaded = True
            from amimon.tui.widgets.event_log import loaded_words

            self.event_log.say(at, loaded_words(self.state, self.targets))

    def _freeze_when_loaded(self) -> None:
        """The first load's tasks live long: keep them out of the collector's passes from
        the moment they are all on screen, not after the AMI look-ups that follow (at
        10,000 tasks each full pass over them stalled the screen for a tenth of a second)."""
        if self.state.loaded and not self._frozen:
            self._frozen = True
            gc.freeze()

    def on_poll_done(self, message: PollDone) -> None:
        try:
            self.state, self._rows = message.state, message.rows
            self.query_one(FilterBar).buckets_seen_changed()
            self._say_loaded(message.at)
            self._freeze_when_loaded()
            self.display_.news(message.events, message.at)
            if self.alert_runner is not None:
                from amimon.alerts import alerts_from

                self.alert_runner.submit(alerts_from(message.events, self.state.image_of))
        except Exception as exc:  # a poll can fail; the loop cannot
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
            with no_gc_passes():  # freed by reference counts; a pass here is a stall
                self.display_.show(self._rows)  # the worker's order, if it still fits
        except Exception as exc:
            self._fail_visibly(exc)
        self._rows = None
        self._first_answer_shown()

    def _fail_visibly(self, error: BaseException) -> None:
        log.error("unexpected error in a poll", exc_info=error)
        self.state, events = crashed(self.state, error, self.clock())
        with suppress(Exception):
            self.event_log.add(events)

    # messages from the parts

    @on(FilterBar.Changed)
    def _filter_changed(self, event: FilterBar.Changed) -> None:
        self._filter(event.task_filter)

    def _filter(self, task_filter: TaskFilter) -> None:
        if task_filter != self.task_filter:
            self.task_filter = task_filter
            self.refresh_view()

    @on(Input.Submitted)
    def _field_done(self) -> None:
        """Enter in the bucket or search field keeps the filter and goes back to the table
        (the next keys are commands again, not more text for the field)."""
        self.query_one(TaskTable).focus()

    @on(Detail.Resized)
    def _detail_resized(self) -> None:
        self.display_.show_detail(self.clock())

    @on(TaskTable.Highlighted)
    def _row_highlighted(self) -> None:
        self.display_.show_detail(self.clock())
        self.display_.schedule_wake()

    @on(TaskTable.Selected)
    def _row_selected(self) -> None:
        panel = self.query_one(Detail)
        if not panel.display:
            self._toggled.add("detail")
            panel.display = True
            self.call_after_refresh(self.display_.show_detail, self.clock())

    @on(TaskTable.HeaderClicked)
    def _header_clicked(self, event: TaskTable.HeaderClicked) -> None:
        same = event.column == self.sort_order.column
        first = default_descending(event.column)  # as ``o`` sorts it: running tasks first
        self._sort(Sort(event.column, not self.sort_order.descending if same else first))

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
        if self.paused:
            self.notify("Polling resumed.", timeout=3)
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
        self._filter(self.query_one(FilterBar).cycle_state())  # in this frame, not the next

    def action_clear_filters(self) -> None:
        focused = self.focused
        bar = self.query_one(FilterBar)
        if isinstance(focused, Input) and focused.value:
            bar.clear(focused)
        else:
            self._filter(bar.clear())
        self.query_one(TaskTable).focus()

    def action_cycle_sort(self) -> None:
        columns = [c for c in SortColumn if c is not SortColumn.REGION or len(self.targets) > 1]
        index = columns.index(self.sort_order.column) if self.sort_order.column in columns else -1
        column = columns[(index + 1) % len(columns)]
        self._sort(Sort(column, default_descending(column)))

    def action_toggle_details(self) -> None:
        self._toggled.add("detail")
        panel = self.query_one(Detail)
        panel.display = not panel.display
        self.call_after_refresh(self.display_.show_detail, self.clock())

    def action_toggle_events(self) -> None:
        self._toggled.add("events")
        self._show_events(not self.query_one("#events-box").display)

    def _show_events(self, on: bool) -> None:
        self.query_one("#events-box").display = on
        if self._rest_mounted:  # else mounting it gives it the box's
            self.event_log.display = on

    def action_copy_ami(self) -> None:
        key = self.query_one(TaskTable).cursor_key
        alerts.copy(self, "AMI id", (key.ami_id or "") if key else "")

    def action_copy_uri(self) -> None:
        key = self.query_one(TaskTable).cursor_key
        tracked = self.state.tasks.get(key) if key else None
        alerts.copy(self, "S3 URI", tracked.task.s3_uri if tracked else "")

    def action_copy_retry(self) -> None:
        """amimon never stores anything itself: it hands the user the command to run."""
        key = self.query_one(TaskTable).cursor_key
        tracked = self.state.tasks.get(key) if key else None
        if tracked is None or tracked.task.state != TaskState.FAILED:
            self.notify("Select a failed task to copy the command that retries it.", timeout=3)
            return
        alerts.copy(self, "retry command", retry_command(tracked))

    def action_help(self) -> None:
        self.push_screen(HelpScreen(alerts.help_keys(self.BINDINGS, TaskTable.BINDINGS)))

    def get_system_commands(self, screen: Screen[object]) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        yield from keys.commands(self)


def default_descending(column: SortColumn) -> bool:
    """How a column sorts when first chosen: newest and furthest along first, the rest
    ascending (by ETA the soonest first, by state the running first)."""
    return column in (SortColumn.STARTED, SortColumn.PROGRESS)


def run(args: object, context: object) -> int:
    """``amimon`` / ``amimon watch``: run the monitor until the user quits (or a signal)."""
    from amimon.tui.launch import launch

    return launch(args, context)  # type: ignore[arg-type]

"""Puts the monitor's state on its screen parts, and wakes when a visible text will change."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING

from textual.timer import Timer

from amimon.model import TaskKey
from amimon.tui import alerts, clock
from amimon.tui.order import Order, order
from amimon.tui.widgets import banner, detail, header
from amimon.tui.widgets.banner import Banner
from amimon.tui.widgets.detail import Detail
from amimon.tui.widgets.filter_bar import FilterBar
from amimon.tui.widgets.header import Header, HeaderInfo
from amimon.tui.widgets.task_table import HIGHLIGHT_FOR, TaskTable

if TYPE_CHECKING:
    from amimon.events import Event
    from amimon.tui.app import AmimonApp

MIN_WAKE = 0.05  # seconds: never spin, even if a text claims to change right now


class Display:
    """What the app shows, worked out in one place: the app only says when."""

    def __init__(self, app: AmimonApp) -> None:
        self.app = app
        self.changed_at: dict[TaskKey, datetime] = {}
        self._wake_timer: Timer | None = None
        self.rows: Order | None = None  # what the table shows

    def header_info(self, now: datetime) -> HeaderInfo:
        app = self.app
        return header.header_info(
            app.state,
            app.targets,
            now,
            interval=app.poller.interval,
            demo=app.demo,
            paused=app.poller.paused,
            polling=app.poller.running,
            quota_gib=app.quota_gib,
            warning_style=app.palette.warning,
            error_style=app.palette.failed,
        )

    def show(self, rows: Order | None = None) -> None:
        """Everything: the table's rows in filter and sort order (``rows`` when the worker
        worked them out for this state, filter and sort), the status, the rest."""
        app = self.app
        now = app.clock()
        if rows is None or not rows.fits(app.state, app.task_filter, app.sort_order):
            shown = self.rows
            since = shown.state if shown is not None else None
            rows = order(app.state, app.task_filter, app.sort_order, since, previous=shown)
        self.rows = rows
        keys = rows.keys
        empty = None
        if not keys:
            filtered = app.task_filter.describe() if app.task_filter.active else None
            empty = alerts.empty_message(app.state, app.targets, filtered)
        app.query_one(TaskTable).show(rows, now, self.changed_at, empty)
        quota = header.quota_text(self.header_info(now))
        app.query_one(FilterBar).show_status(len(keys), len(app.state.tasks), app.sort_order, quota)
        self.show_clocked(now, table=False)

    def show_clocked(self, now: datetime, *, table: bool = True) -> None:
        """What moves with the clock: header age, banner countdown, details, table texts."""
        self.show_polling(now)
        if table:
            self.app.query_one(TaskTable).tick(now)
        self.show_detail(now)
        self.schedule_wake()

    def show_polling(self, now: datetime) -> None:
        """A poll has started: the header's ⟳ and the banner's words (nothing else moves)."""
        app = self.app
        app.query_one(Header).show(self.header_info(now))
        app.query_one(Banner).show(app.state, now, app.poller.retry_in())

    def show_detail(self, now: datetime) -> None:
        app = self.app
        panel = app.query_one(Detail)
        if panel.display:
            table = app.query_one(TaskTable)
            key = table.cursor_key
            tracked = app.state.tasks.get(key) if key else None
            retried = key in table.painter.retried
            text = detail.detail_text(
                tracked, now, app.palette, app.state, panel.text_width, retried=retried
            )
            panel.show(text, key)

    def news(self, events: Sequence[Event], now: datetime) -> None:
        """A poll's events: highlight rows whose meaning changed, log, toast, bell."""
        from amimon.events import TaskAppeared, TaskCompleted, TaskFailed, TaskStateChanged

        for event in events:
            # Progress shows in the bar; highlight what changes a row's meaning.
            if isinstance(event, TaskCompleted | TaskFailed | TaskStateChanged) or (
                isinstance(event, TaskAppeared) and not event.initial
            ):
                self.changed_at[event.task.key] = now
        for key in [k for k, at in self.changed_at.items() if now - at >= HIGHLIGHT_FOR]:
            del self.changed_at[key]
        self.app.event_log.add(events)
        if alerts.notify_finished(self.app, events) and self.app.ring_bell:
            self.app.bell()

    def schedule_wake(self) -> None:
        """Wake at the next moment any visible text changes, and not before."""
        app = self.app
        now = app.clock()
        key = app.query_one(TaskTable).cursor_key
        tracked = app.state.tasks.get(key) if key else None
        panel = app.query_one(Detail).display
        moment = clock.earliest(
            (
                header.next_change(app.state, now, app.poller.interval, app.poller.retry_in()),
                banner.next_change(app.state, now, app.poller.retry_in()),
                app.query_one(TaskTable).next_change(),
                detail.next_change(tracked, now, app.state) if panel else None,
            )
        )
        if self._wake_timer is not None:
            self._wake_timer.stop()
            self._wake_timer = None
        if moment is not None:
            delay = max(MIN_WAKE, (moment - now).total_seconds())
            self._wake_timer = app.set_timer(delay, self._wake)

    def _wake(self) -> None:
        self._wake_timer = None
        if self.app.is_running and self.app.screen_stack:
            self.show_clocked(self.app.clock())

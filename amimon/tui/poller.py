"""When the monitor polls, in one place: one poll at a time, at the interval, backing off
when throttled, and never stopping. The fetch and every reduce run in a worker thread; the
UI hears typed messages."""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

from textual.app import App
from textual.message import Message

from amimon.model import ErrorKind, PollFailure, PollPlan, Snapshot, Target
from amimon.schedule import next_delay, planner
from amimon.state import MonitorState, TargetFailure
from amimon.tui.order import Order, order
from amimon.view import Sort, TaskFilter

if TYPE_CHECKING:
    from amimon.events import Event

log = logging.getLogger(__name__)
PAGE_EVERY = 0.1  # seconds between two pages shown while a long listing loads
SHOWN_WAIT = 1.0  # at most this long the look-ups wait for the tasks to be drawn


class TaskSource(Protocol):
    def fetch(
        self,
        plan: Callable[[Target], PollPlan] = ...,
        on_page: Callable[[Snapshot], None] | None = None,
    ) -> Snapshot: ...


class AfterPoll(Protocol):
    """What follows a reduced poll in the worker (``amimon.enrich.AfterPoll``): look-ups
    that add to the state, and the history's record of the poll."""

    def __call__(
        self,
        before: MonitorState,
        after: MonitorState,
        now: datetime,
        happened: Sequence[Event] = (),
    ) -> tuple[MonitorState, tuple[Event, ...]]: ...

    def will_look_up(self, state: MonitorState) -> bool: ...


class Cancel(Protocol):
    def stop(self) -> None: ...


class Timers(Protocol):
    """Calls ``callback`` after ``delay`` seconds; tests pass one that skips the wait."""

    def __call__(self, delay: float, callback: Callable[[], None]) -> Cancel: ...


class PollPage(Message):
    """A page of a long listing, already reduced: rows appear before the listing ends."""

    def __init__(
        self, state: MonitorState, rows: Order, shown: threading.Event | None = None
    ) -> None:
        super().__init__()
        self.state, self.rows = state, rows
        self.shown = shown  # set by the UI once these rows are on screen

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, PollPage)


class PollDone(Message):
    """A poll finished (well or not): the state reduced from ``base`` and what changed."""

    def __init__(
        self,
        base: MonitorState,
        state: MonitorState,
        events: tuple[Event, ...],
        at: datetime,
        rows: Order | None = None,
    ) -> None:
        super().__init__()
        self.base, self.state, self.events, self.at, self.rows = base, state, events, at, rows


class PollCrashed(Message):
    """Something raised while polling; ``state`` is the last state the UI was given."""

    def __init__(self, error: Exception, state: MonitorState) -> None:
        super().__init__()
        self.error, self.state = error, state


class _Pages:
    """Folds the pages of one poll in turn (pages of several targets arrive concurrently)."""

    def __init__(self, base: MonitorState, clock: Callable[[], datetime]) -> None:
        # The reducer and its events load with the first poll, in its worker: the first
        # frame has no news to tell.
        from amimon.reducer import reduce

        self._reduce = reduce
        self.state = base
        self.events: list[Event] = []
        self._clock = clock
        self._lock = threading.Lock()

    def fold(self, snapshot: Snapshot) -> MonitorState:
        with self._lock:
            self.state, events = self._reduce(self.state, snapshot, self._clock())
            self.events += events
            return self.state


class Poller:
    """Starts polls (now, at the interval, after backoff) and schedules the next one."""

    def __init__(
        self,
        app: App[Any],
        source: TaskSource,
        state: Callable[[], MonitorState],
        *,
        interval: float,
        clock: Callable[[], datetime],
        view: Callable[[], tuple[TaskFilter, Sort]] = lambda: (TaskFilter(), Sort()),
        timers: Timers | None = None,
        monotonic: Callable[[], float] = time.monotonic,
        rand: Callable[[], float] = random.random,
        after: AfterPoll | None = None,
        warm: Callable[[MonitorState], object] = lambda state: None,
        on_start: Callable[[], object] = lambda: None,
    ) -> None:
        """``on_start`` runs (on the UI thread) as each poll starts, whoever started it: a
        key, the timer, a resume."""
        self.app = app
        self._warm = warm
        self._on_start = on_start
        self.source = source
        self.after = after
        self.interval = interval
        self.running = False
        self.paused = False
        self.started = 0
        self._state = state
        self._clock = clock
        self._view = view
        self._timers: Timers = timers or (lambda delay, callback: app.set_timer(delay, callback))
        self._monotonic = monotonic
        self._rand = rand
        self._timer: Cancel | None = None
        self._next_at: float | None = None
        self.closed = False
        self._shown: threading.Event | None = None  # a worker waits for its rows on this
        self.delays: list[float] = []

    def poll_now(self, full: bool = False) -> bool:
        """Start a poll unless one runs or polling is paused; ``full`` lists everything."""
        if self.running or self.paused:
            return False
        self._cancel()
        self.running = True
        self.started += 1
        # The worker takes the state out of this list: Textual's finished workers wait in
        # reference cycles for the cyclic collector, and one holding the state it started
        # from kept that state's replaced tasks alive until a full collection.
        base = [self._state()]
        self.app.run_worker(
            lambda: self._work(base.pop(), full),
            name="poll",
            group="poll",
            thread=True,
            exclusive=True,
            exit_on_error=False,
        )
        self._on_start()
        return True

    def _work(self, base: MonitorState, full: bool) -> None:
        """The worker: fetch, reduce each page and the whole, post one message. Whatever
        raises becomes a ``PollCrashed``, so the UI always hears back."""
        pages = _Pages(base, self._clock)
        posted = [0.0]
        message: Message
        try:

            def on_page(snapshot: Snapshot) -> None:
                state = pages.fold(snapshot)
                if time.monotonic() - posted[0] >= PAGE_EVERY:  # the screen keeps up anyway
                    posted[0] = time.monotonic()
                    self.app.post_message(PollPage(state, self._order(state, base)))

            snapshot = self.source.fetch(planner(base, full=full), on_page=on_page)
            state = pages.fold(snapshot)
            if self.after is not None:
                if self.after.will_look_up(state):
                    # The tasks first: AMI look-ups after a first load of thousands take
                    # seconds, and the screen need not wait for names and sizes. The
                    # look-ups (and the first poll's opening of the history) wait until
                    # the rows are drawn, so as not to share the interpreter with that.
                    shown = self._shown = threading.Event()
                    if self.closed:  # closed before the event was there to set
                        return
                    self.app.post_message(PollPage(state, self._order(state, base), shown))
                    shown.wait(SHOWN_WAIT)
                    if self.closed:  # the app is going: no look-ups, nobody to tell
                        return
                state, events = self.after(base, state, self._clock(), pages.events)
                pages.state = state
                pages.events += events
            rows = self._order(state, base)
            message = PollDone(base, state, tuple(pages.events), self._clock(), rows)
        except Exception as exc:  # a poll can fail; the loop cannot
            log.exception("poll failed unexpectedly")
            message = PollCrashed(exc, pages.state)
        self.app.post_message(message)

    def _order(self, state: MonitorState, base: MonitorState) -> Order:
        """The rows as the UI filters and sorts them now (it checks they still fit)."""
        task_filter, sort = self._view()
        self._warm(state)  # what the screen works out once per state: here, not in the UI
        return order(state, task_filter, sort, since=base)

    def finished(self, throttled_polls: int) -> None:
        """The UI has taken a poll's result: schedule the next (backing off if throttled)."""
        self.running = False
        if self.paused:
            return
        delay = next_delay(self.interval, throttled_polls, rand=self._rand)
        self.delays.append(delay)
        self._next_at = self._monotonic() + delay
        self._timer = self._timers(delay, self._due)

    def _due(self) -> None:
        self._timer = None
        self.poll_now()

    def close(self) -> None:
        """The app is going: a worker waiting for its rows to be drawn stops waiting and
        ends (it held the process's exit for up to SHOWN_WAIT, then did the look-ups)."""
        self.closed = True
        self.pause()
        if self._shown is not None:
            self._shown.set()

    def pause(self) -> None:
        self.paused = True
        self._cancel()

    def resume(self) -> None:
        self.paused = False
        if not self.running:
            self.poll_now()

    def retry_in(self) -> float | None:
        """Seconds until the next scheduled poll, or None if none is scheduled."""
        if self._next_at is None:
            return None
        return max(0.0, self._next_at - self._monotonic())

    def _cancel(self) -> None:
        if self._timer is not None:
            self._timer.stop()
            self._timer = None
        self._next_at = None


def crashed(
    state: MonitorState, error: BaseException, now: datetime
) -> tuple[MonitorState, tuple[Event, ...]]:
    """An unexpected error as a failed poll: the banner and an event line say so, the data
    is kept and marked stale, and the next good poll clears it like any other failure."""
    from amimon.reducer import PollFailed, reduce

    words = f"Internal error while polling: {type(error).__name__}: {error}"
    failure = PollFailure(ErrorKind.UNKNOWN, words)
    try:
        return reduce(state, Snapshot((), (failure,)), now)
    except Exception:  # reduce itself is what broke: record the failure by hand
        failures = {**state.failures, None: TargetFailure(failure, now)}
        return replace(state, failures=failures), (PollFailed(failure, now),)

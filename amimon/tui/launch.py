"""Start the monitor from a command line: source, filters from flags and config, exit codes."""

from __future__ import annotations

import argparse
import sys
import threading
from collections.abc import Callable, Collection, Mapping
from typing import TYPE_CHECKING, Any

from amimon.context import Context, Exit
from amimon.enrich import AfterPoll, ImageSource
from amimon.state import MonitorState
from amimon.tui.app import AmimonApp
from amimon.view import TaskFilter

if TYPE_CHECKING:
    from amimon.alerts import AlertRunner
    from amimon.aws import Ec2TaskSource
    from amimon.history import HistoryStore
    from amimon.model import ImageLookup, Snapshot, Target

DEMO_INTERVAL = 2.0


def launch(args: argparse.Namespace, context: Context) -> int:
    """Run the monitor until the user quits (0), presses Ctrl+C (130) or a signal ends it
    (SIGHUP 129, SIGTERM 143); the terminal is restored in every case."""
    config = context.config
    interval = config.interval
    given = getattr(args, "interval", None) is not None or "interval" in config.origins
    if context.demo is not None and not given:
        interval = DEMO_INTERVAL  # the demo moves fast unless told otherwise
    source = LazySource(context.source)
    # Filters choose what is shown, never what is learned: the source follows every task.
    shown = TaskFilter(buckets=frozenset(config.buckets), states=frozenset(config.states))
    warnings = Warnings()
    state, after = _history(context, source, warnings)
    runner: AlertRunner | None = None
    if config.on_event:
        from amimon.alerts import AlertRunner

        runner = AlertRunner(config.on_event, timeout=config.on_event_timeout, report=warnings)
    app = AmimonApp(
        source,
        context.targets,
        interval=interval,
        demo=context.demo is not None,
        bell=config.bell,
        task_filter=shown,
        handle_signals=True,
        state=state,
        after_poll=after,
        alert_runner=runner,
        quota_gib=config.store_quota_gb,
    )
    warnings.app, app.pending_warnings = app, warnings.pending
    if config.theme not in app.available_themes:
        known = ", ".join(sorted(app.available_themes))
        error = config.error("theme", f"unknown theme {config.theme!r} (known: {known})")
        print(f"amimon: error: {error}", file=sys.stderr)
        return Exit.USAGE
    app.theme = config.theme
    try:
        app.run()
    finally:
        source.close()
        after.close()  # what the last poll changed, written to the history
        if runner is not None:
            runner.close()
    return app.return_code or 0


def _history(
    context: Context, source: ImageSource, warn: Warnings
) -> tuple[MonitorState | None, AfterPoll]:
    """The starting state from the history (rates, ETAs and completion windows from
    earlier runs, on the first frame) and what follows each poll. With no file yet there
    is nothing to read: SQLite is then opened by the first poll, in the worker."""
    path, days = context.history_path, context.config.history_days
    if path is None:
        return None, AfterPoll(source, None)

    def opener() -> HistoryStore:
        from amimon.history import HistoryStore

        return HistoryStore.open(path, days=days, warn=warn)

    if not path.exists():
        return None, AfterPoll(source, None, opener=opener)
    from amimon.history import seed

    store = opener()
    state = seed(store, context.targets) if store.enabled else None
    return state, AfterPoll(source, store if store.enabled else None)


class LazySource:
    """The AWS task source, made on first use: in the poll worker, after the first frame
    (``amimon.aws`` and its paging, retry and image modules are not needed to draw it)."""

    def __init__(self, make: Callable[[], Ec2TaskSource]) -> None:
        self._make: Callable[[], Ec2TaskSource] | None = make
        self._source: Ec2TaskSource | None = None
        self._closed = False
        self._lock = threading.Lock()

    @property
    def source(self) -> Ec2TaskSource:
        """The real source (made now if it was not yet)."""
        return self._get()

    def _get(self) -> Ec2TaskSource:
        with self._lock:
            if self._source is None:
                assert self._make is not None
                self._source, self._make = self._make(), None
                if self._closed:  # closed while a poll was on its way: it ends at once
                    self._source.close()
            return self._source

    def fetch(
        self, plan: Any = None, on_page: Callable[[Snapshot], None] | None = None
    ) -> Snapshot:
        source = self._get()
        return source.fetch(on_page=on_page) if plan is None else source.fetch(plan, on_page)

    def describe_images(self, wanted: Mapping[Target, Collection[str]]) -> ImageLookup:
        return self._get().describe_images(wanted)

    def close(self) -> None:
        with self._lock:
            self._closed = True
            if self._source is not None:
                self._source.close()


class Warnings:
    """One-line problems from other threads (the history writer, on_event commands): held
    until the monitor runs, then shown as a toast and an event line."""

    def __init__(self) -> None:
        self.app: AmimonApp | None = None
        self.pending: list[str] = []

    def __call__(self, message: str) -> None:
        app = self.app
        if app is None or not app.is_running:
            self.pending.append(message)  # the app shows these after its first frame
            return
        try:
            app.call_from_thread(app.warn, message)
        except RuntimeError:  # on the app's own thread
            app.warn(message)

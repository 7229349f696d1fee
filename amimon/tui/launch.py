"""Start the monitor from a command line: source, filters from flags and config, exit codes."""

from __future__ import annotations

import argparse
import sys

from amimon.alerts import AlertRunner
from amimon.context import Context, Exit
from amimon.enrich import AfterPoll
from amimon.history import HistoryStore, seed
from amimon.tui.app import AmimonApp
from amimon.view import TaskFilter

DEMO_INTERVAL = 2.0


def launch(args: argparse.Namespace, context: Context) -> int:
    """Run the monitor until the user quits (0), presses Ctrl+C (130) or a signal ends it
    (SIGHUP 129, SIGTERM 143); the terminal is restored in every case."""
    config = context.config
    interval = config.interval
    given = getattr(args, "interval", None) is not None or "interval" in config.origins
    if context.demo is not None and not given:
        interval = DEMO_INTERVAL  # the demo moves fast unless told otherwise
    source = context.source()
    # Filters choose what is shown, never what is learned: the source follows every task.
    shown = TaskFilter(buckets=frozenset(config.buckets), states=frozenset(config.states))
    warnings = Warnings()
    store = HistoryStore.open(context.history_path, days=config.history_days, warn=warnings)
    runner = None
    if config.on_event:
        runner = AlertRunner(config.on_event, timeout=config.on_event_timeout, report=warnings)
    app = AmimonApp(
        source,
        context.targets,
        interval=interval,
        demo=context.demo is not None,
        bell=config.bell,
        task_filter=shown,
        handle_signals=True,
        # Rates, ETAs and completion windows from earlier runs, on the first frame.
        state=seed(store, context.targets),
        after_poll=AfterPoll(source, store if store.enabled else None),
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
        store.close(timeout=5)  # what the last poll changed, written
        if runner is not None:
            runner.close()
    return app.return_code or 0


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

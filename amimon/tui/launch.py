"""Start the monitor from a command line: source, filters from flags and config, exit codes."""

from __future__ import annotations

import argparse
import sys

from amimon.context import Context, Exit
from amimon.tui.app import AmimonApp
from amimon.view import TaskFilter

DEMO_INTERVAL = 2.0


def launch(args: argparse.Namespace, context: Context) -> int:
    """Run the monitor until the user quits (0), presses Ctrl+C (130) or a signal ends it
    (SIGHUP 129, SIGTERM 143); the terminal is restored in every case."""
    config = context.config
    interval = config.interval
    if context.demo is not None and getattr(args, "interval", None) is None:
        interval = DEMO_INTERVAL
    source = context.source()
    # Filters choose what is shown, never what is learned: the source follows every task.
    shown = TaskFilter(buckets=frozenset(config.buckets), states=frozenset(config.states))
    app = AmimonApp(
        source,
        context.targets,
        interval=interval,
        demo=context.demo is not None,
        bell=config.bell,
        task_filter=shown,
        handle_signals=True,
    )
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
    return app.return_code or 0

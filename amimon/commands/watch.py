"""``amimon`` / ``amimon watch``: the live monitor, on a terminal only."""

from __future__ import annotations

import argparse
import os
import sys

from amimon.context import Context, Exit


def check_theme(context: Context) -> str | None:
    """An error naming the config file and line when the theme is not one Textual has."""
    from textual.theme import BUILTIN_THEMES

    theme = context.config.theme
    if theme in BUILTIN_THEMES:
        return None
    known = ", ".join(sorted(BUILTIN_THEMES))
    return str(context.config.error("theme", f"unknown theme {theme!r} (known: {known})"))


def run(args: argparse.Namespace, context: Context) -> int:
    """Run the monitor until the user quits; refuse to draw a UI into a file or a pipe."""
    problem = check_theme(context)
    if problem is not None:
        print(f"amimon: error: {problem}", file=sys.stderr)
        return Exit.USAGE
    if not (sys.stdout.isatty() and sys.stdin.isatty()):
        print(
            "amimon: error: the monitor needs a terminal; for scripts and pipes use "
            "`amimon list` (table, -o json or -o csv) or `amimon wait`",
            file=sys.stderr,
        )
        return Exit.USAGE
    # The monitor takes its size from the terminal itself, never from stale variables.
    for variable in ("COLUMNS", "LINES"):
        os.environ.pop(variable, None)
    from amimon.tui.app import run as run_monitor

    return run_monitor(args, context)

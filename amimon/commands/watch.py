"""``amimon`` / ``amimon watch``: the live monitor, on a terminal only."""

from __future__ import annotations

import argparse
import os
import sys

from amimon.context import Context, Exit


def run(args: argparse.Namespace, context: Context) -> int:
    """Run the monitor until the user quits; refuse to draw a UI into a file or a pipe."""
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

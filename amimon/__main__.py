"""Entry point for ``python -m amimon`` and the ``amimon`` command."""

from __future__ import annotations

import gc
import sys

# Start-up makes long-lived objects only: no cyclic collection while amimon's own modules
# load either (main() keeps it off until the monitor's first data, or its command runs).
gc.disable()

from amimon.cli import main  # noqa: E402


def run() -> None:
    sys.exit(main())


if __name__ == "__main__":
    run()

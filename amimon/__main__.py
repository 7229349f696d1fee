"""Entry point for ``python -m amimon``."""

from __future__ import annotations

import sys

from amimon.cli import main

if __name__ == "__main__":
    sys.exit(main())

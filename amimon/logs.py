"""Logging to a rotating file in the platform's log dir: never to the screen, never secrets."""

from __future__ import annotations

import logging
import logging.handlers
from pathlib import Path

LOG_NAME = "amimon.log"


def log_dir() -> Path:
    from platformdirs import user_log_path

    return user_log_path("amimon")


def configure(level: str = "WARNING") -> Path | None:
    """Send amimon's (and botocore's) records to ``amimon.log``; returns its path.

    If the file cannot be opened, logging is silently dropped rather than printed over the UI.
    """
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.setLevel(level)
    try:
        directory = log_dir()
        directory.mkdir(parents=True, exist_ok=True)
        path = directory / LOG_NAME
        handler: logging.Handler = logging.handlers.RotatingFileHandler(
            path, maxBytes=1_000_000, backupCount=3, encoding="utf-8"
        )
    except OSError:
        root.addHandler(logging.NullHandler())
        return None
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root.addHandler(handler)
    # botocore's DEBUG output includes request headers (signatures): keep it out of the file.
    logging.getLogger("botocore").setLevel(max(logging.INFO, root.level))
    logging.getLogger("urllib3").setLevel(max(logging.INFO, root.level))
    return path

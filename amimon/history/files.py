"""The history file on disk: where it lives, opening it, and what to do when that fails.

A damaged, unreadable or forever-locked file is moved aside (renamed, never deleted) so a
fresh one can be used; a full disk, a read-only directory or anything else turns history
off. Either way the caller gets one line to show, never an exception.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from datetime import UTC, datetime
from enum import Enum
from pathlib import Path

from amimon.history.schema import VERSION, NewerSchema, migrate, version
from amimon.records import record

FILE_NAME = "history.sqlite3"
DEFAULT_BUSY_TIMEOUT = 5.0  # seconds; amimon's own transactions take milliseconds


def default_path() -> Path:
    """``history.sqlite3`` in the platform state dir (``~/.local/state/amimon`` on Linux)."""
    from platformdirs import user_state_path

    return user_state_path("amimon") / FILE_NAME


class Remedy(Enum):
    MOVE_ASIDE = "move aside"
    TURN_OFF = "turn off"


class Damaged(Exception):
    """The file opened but is not a sound amimon history."""


class Unreadable(Exception):
    """Something is at the path, but not a file SQLite can open."""


@record
class Diagnosis:
    """Why the history file could not be opened or written, and what to do about it."""

    remedy: Remedy
    words: str  # what is wrong, for a person: "is damaged (file is not a database)"
    damaged: bool = False  # the file's content is bad (not a lock, not the directory)


def diagnose(exc: BaseException, path: Path, busy_timeout: float) -> Diagnosis:
    """What a failure to open or write ``path`` means, and what to do about it."""
    detail = str(exc) or type(exc).__name__
    lowered = detail.lower()
    if isinstance(exc, NewerSchema):
        return Diagnosis(Remedy.TURN_OFF, f"was written by a newer amimon ({detail})")
    if isinstance(exc, Unreadable):
        return Diagnosis(Remedy.MOVE_ASIDE, f"cannot be opened ({detail})")
    if isinstance(exc, Damaged) or (
        isinstance(exc, sqlite3.DatabaseError)
        and any(w in lowered for w in ("malformed", "not a database", "encrypted", "corrupt"))
    ):
        return Diagnosis(Remedy.MOVE_ASIDE, f"is damaged ({detail})", damaged=True)
    if isinstance(exc, sqlite3.OperationalError) and ("locked" in lowered or "busy" in lowered):
        return Diagnosis(
            Remedy.MOVE_ASIDE,
            f"stayed locked by another process for over {busy_timeout:g} s ({detail})",
        )
    exists = path.exists() or path.is_symlink()
    if exists and (
        not path.is_file()
        or (isinstance(exc, sqlite3.OperationalError) and "unable to open" in lowered)
        or isinstance(exc, PermissionError)
    ):
        return Diagnosis(Remedy.MOVE_ASIDE, f"cannot be opened ({_reason(exc)})")
    return Diagnosis(Remedy.TURN_OFF, _reason(exc))


def _reason(exc: BaseException) -> str:
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return str(exc) or type(exc).__name__


def move_aside(path: Path, now: datetime | None = None) -> Path:
    """Rename ``path`` (and its ``-wal`` and ``-shm``) to ``<name>.broken-<UTC time>``;
    returns the new path. Raises OSError when the directory refuses."""
    stamp = (now or datetime.now(UTC)).strftime("%Y%m%dT%H%M%SZ")
    target = path.with_name(f"{path.name}.broken-{stamp}")
    n = 1
    while target.exists():
        n += 1
        target = path.with_name(f"{path.name}.broken-{stamp}-{n}")
    path.rename(target)
    for suffix in ("-wal", "-shm"):
        side = path.with_name(path.name + suffix)
        if side.exists():
            try:
                side.rename(target.with_name(target.name + suffix))
            except OSError:
                side.unlink(missing_ok=True)
    return target


def connect(
    path: Path, busy_timeout: float, pragmas: Sequence[str] = (), *, create: bool = True
) -> sqlite3.Connection:
    """A connection in autocommit mode (transactions are explicit), usable from the thread
    that holds the store's lock, waiting up to ``busy_timeout`` for another writer; with
    ``create`` False, one that never makes a file that is not there."""
    where = path if create else f"{path.absolute().as_uri()}?mode=rw"
    conn = sqlite3.connect(
        where, timeout=busy_timeout, isolation_level=None, check_same_thread=False, uri=not create
    )
    try:
        for pragma in pragmas:
            conn.execute(pragma)
    except BaseException:
        conn.close()
        raise
    return conn


def open_checked(
    path: Path, busy_timeout: float, pragmas: Sequence[str] = ()
) -> sqlite3.Connection:
    """Open (creating it and its directory if needed), check and migrate the history file.

    WAL mode, so readers never wait for the writer and a killed writer loses only its
    unfinished transaction; ``synchronous = NORMAL``, which in WAL mode cannot corrupt the
    file (a power cut may lose the last commits, a killed process does not). Reading every
    page (``check``) is left to the writer thread: 100 ms for a year's file.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    if (path.exists() or path.is_symlink()) and not path.is_file():
        raise Unreadable("it is not a regular file")
    conn = connect(path, busy_timeout, pragmas)
    try:
        found = version(conn)
        if found > VERSION:
            raise NewerSchema(found)  # before anything, WAL mode included, changes the file
        mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
        if str(mode).lower() != "wal":
            raise sqlite3.OperationalError(f"could not use WAL mode (got {mode})")
        conn.execute("PRAGMA synchronous = NORMAL")
        migrate(conn)
    except BaseException:
        conn.close()
        raise
    return conn


def check(conn: sqlite3.Connection) -> None:
    """Read every page (``PRAGMA quick_check``); raise Damaged if any is bad."""
    problems = [row[0] for row in conn.execute("PRAGMA quick_check(1)")]
    if problems != ["ok"]:
        raise Damaged(f"quick_check: {problems[0] if problems else 'no answer'}")


def inode(path: Path) -> int | None:
    """Which file is at ``path`` now (None if none): tells a file from its replacement."""
    try:
        return path.stat().st_ino
    except OSError:
        return None

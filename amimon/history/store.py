"""``HistoryStore``: the history file for a running amimon, written off the caller's thread.

It never raises into its caller. Every failure becomes one line passed to ``warn``
(possibly from the writer thread) and, where the file cannot be used, history turns itself
off for the session while the caller goes on. See ``amimon.history`` for when to call what.
"""

from __future__ import annotations

import logging
import queue
import sqlite3
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager, suppress
from datetime import UTC, datetime
from pathlib import Path
from typing import TypeVar

from amimon.history import files, write
from amimon.history.rows import ImageInfo, PollRows, poll_rows, state_rows
from amimon.model import Target
from amimon.state import MonitorState

log = logging.getLogger(__name__)

DEFAULT_DAYS = 400
Warn = Callable[[str], None]
T = TypeVar("T")

_Item = tuple[str, object] | threading.Event | None


def _log_warning(message: str) -> None:
    log.warning("%s", message)


class HistoryStore:
    """The history database at ``path``, or a store that does nothing when ``path`` is
    None (history off). Open with ``HistoryStore.open``; ``close()`` when done.

    Writes go through one connection guarded by a lock, so ``write`` may be called from any
    thread; ``record`` and ``record_images`` hand rows to a writer thread and return at once.
    Reads (``reading``) use a connection of their own, which in WAL mode never waits for
    the writer.
    """

    def __init__(
        self,
        path: Path | None,
        *,
        days: int = DEFAULT_DAYS,
        warn: Warn | None = None,
        busy_timeout: float = files.DEFAULT_BUSY_TIMEOUT,
        pragmas: Sequence[str] = (),
    ) -> None:
        self.path = path
        self.days = days
        self.busy_timeout = busy_timeout
        # Extra PRAGMAs for every connection (tests simulate a full disk with max_page_count).
        self.pragmas = tuple(pragmas)
        self.enabled = path is not None
        # The last warning given, for a status line.
        self.problem: str | None = None
        # True once a read failed (the reader got its default and ``warn`` was told).
        self.read_failed = False
        self._warn = _log_warning if warn is None else warn
        self._lock = threading.RLock()  # the writing connection, the file at ``path``
        self._thread_lock = threading.Lock()  # never held for long: record() must not wait
        # Set when a file is replaced: the next record() writes all the monitor knows.
        self._rebase = False
        self._conn: sqlite3.Connection | None = None
        self._target_ids: dict[Target, int] = {}
        self._queue: queue.SimpleQueue[_Item] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None

    @classmethod
    def open(
        cls,
        path: Path | None,
        *,
        days: int = DEFAULT_DAYS,
        warn: Warn | None = None,
        busy_timeout: float = files.DEFAULT_BUSY_TIMEOUT,
        pragmas: Sequence[str] = (),
        now: datetime | None = None,
    ) -> HistoryStore:
        """Open (creating and migrating) the file and forget tasks that started more than
        ``days`` ago. Takes milliseconds, or up to ``busy_timeout`` if another process holds
        the file locked; every page is then checked on the writer thread. Never raises:
        check ``enabled``."""
        store = cls(path, days=days, warn=warn, busy_timeout=busy_timeout, pragmas=pragmas)
        moment = now or datetime.now(UTC)
        if store.enabled and store._attempt("open", lambda conn: write.trim(conn, days, moment)):
            store._submit(("check", None))
        return store

    # Writing -------------------------------------------------------------------------

    def write(self, rows: PollRows) -> bool:
        """Write one poll's rows in one transaction, now, on this thread; False when history
        is off or the write failed (``warn`` has been told)."""
        if rows.empty:
            return self.enabled

        def run(conn: sqlite3.Connection) -> None:
            self._target_ids = write.write_poll(conn, rows, self._target_ids)

        return self._attempt("write", run)

    def write_images(self, images: Sequence[ImageInfo], at: datetime | None = None) -> bool:
        """Record AMI names and sizes now, on this thread (see ``record_images``)."""
        if not images:
            return self.enabled
        moment = at or datetime.now(UTC)

        def run(conn: sqlite3.Connection) -> None:
            self._target_ids = write.write_images(conn, images, moment, self._target_ids)

        return self._attempt("write", run)

    def record(self, before: MonitorState, after: MonitorState, now: datetime) -> None:
        """What one poll changed (``poll_rows``), queued for the writer thread: returns at
        once. Call it once per accepted poll (see ``amimon.history``). After the file was
        replaced, it queues everything ``after`` knows instead (``state_rows``)."""
        if self.enabled:
            if self._rebase:
                self._rebase = False
                rows = state_rows(after, now)
            else:
                rows = poll_rows(before, after, now)
            if not rows.empty:
                self._submit(("poll", rows))

    def record_images(self, images: Iterable[ImageInfo]) -> None:
        """AMI names and sizes (from DescribeImages), queued for the writer thread. A value
        that is None leaves what is known in place."""
        if self.enabled:
            batch = tuple(images)
            if batch:
                self._submit(("images", batch))

    def flush(self, timeout: float | None = None) -> bool:
        """Wait until everything queued so far is written (or dropped); False on timeout."""
        if self._thread is None:
            return True
        done = threading.Event()
        self._queue.put(done)
        return done.wait(timeout)

    def close(self, timeout: float | None = None) -> None:
        """Write what is queued (waiting at most ``timeout``), stop the writer thread and
        close the file."""
        thread = self._thread
        if thread is not None:
            self._queue.put(None)
            thread.join(timeout if timeout is not None else self.busy_timeout * 2 + 5)
            self._thread = None
        with self._lock:
            self._drop_connection()

    # Reading -------------------------------------------------------------------------

    @contextmanager
    def reading(self) -> Iterator[sqlite3.Connection]:
        """A read-only connection of this thread's own; raises sqlite3.Error when the file
        cannot be read (callers turn that into a warning, see ``read``)."""
        if self.path is None or not self.enabled:
            raise sqlite3.OperationalError("history is off")
        conn = files.connect(self.path, self.busy_timeout, self.pragmas, create=False)
        try:
            conn.execute("PRAGMA query_only = 1")
            yield conn
        finally:
            conn.close()

    def read(self, query: Callable[[sqlite3.Connection], T], default: T) -> T:
        """``query`` run on a reading connection; ``default`` (and a warning) if it fails."""
        if not self.enabled or self.path is None:
            return default
        read_from = files.inode(self.path)
        try:
            with self.reading() as conn:
                return query(conn)
        except Exception as exc:
            self.read_failed = True
            diagnosis = files.diagnose(exc, self.path, self.busy_timeout)
            with self._lock:
                if files.inode(self.path) != read_from:
                    return default  # already replaced, and said so
                if diagnosis.damaged:
                    self._drop_connection()
                    self._move_aside(diagnosis)
                else:
                    self._tell(f"history: could not read {self.path}: {diagnosis.words}")
            return default

    # Inside --------------------------------------------------------------------------

    def _submit(self, item: _Item) -> None:
        with self._thread_lock:
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="amimon-history", daemon=True
                )
                self._thread.start()
        self._queue.put(item)

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            if item is None:
                return
            if isinstance(item, threading.Event):
                item.set()
                continue
            kind, payload = item
            try:
                if kind == "poll" and isinstance(payload, PollRows):
                    self.write(payload)
                elif kind == "images" and isinstance(payload, tuple):
                    self.write_images(payload)
                elif kind == "check":
                    self._attempt("check", files.check)
            except Exception as exc:  # write() never raises; this is a last line of defence
                self._off(f"history: off after an unexpected error: {exc!r}")

    def _attempt(self, doing: str, run: Callable[[sqlite3.Connection], object]) -> bool:
        """Run ``run`` on the writing connection. A file that must be moved aside is, and
        ``run`` is tried once more on a fresh one; anything else turns history off."""
        with self._lock:
            for attempt in (1, 2):
                if not self.enabled or self.path is None:
                    return False
                try:
                    if self._conn is None:
                        self._conn = files.open_checked(self.path, self.busy_timeout, self.pragmas)
                        self._target_ids = {}
                    run(self._conn)
                    return True
                except Exception as exc:
                    self._drop_connection()
                    diagnosis = files.diagnose(exc, self.path, self.busy_timeout)
                    if diagnosis.remedy is files.Remedy.MOVE_ASIDE and attempt == 1:
                        if self._move_aside(diagnosis):
                            continue
                        return False
                    self._off(f"history: off: could not {doing} {self.path}: {diagnosis.words}")
                    return False
            return False

    def _move_aside(self, diagnosis: files.Diagnosis) -> bool:
        """Rename the file so the next open starts a fresh one (lock held); history turns
        off if the directory refuses."""
        assert self.path is not None
        try:
            moved = files.move_aside(self.path)
        except OSError as err:
            self._off(
                f"history: off: {self.path} {diagnosis.words} and could not be moved aside "
                f"({err.strerror or err})"
            )
            return False
        self._rebase = True
        self._tell(
            f"history: {self.path} {diagnosis.words}; moved it to {moved.name} and started "
            "a new one"
        )
        return True

    def _drop_connection(self) -> None:
        if self._conn is not None:
            with suppress(sqlite3.Error):
                self._conn.close()
            self._conn = None
            self._target_ids = {}

    def _off(self, message: str) -> None:
        self.enabled = False
        self._tell(message)

    def _tell(self, message: str) -> None:
        message = " ".join(message.split("\n"))  # one line, even for a path with a newline
        self.problem = message
        log.warning("%s", message)
        if self._warn is not _log_warning:
            try:
                self._warn(message)
            except Exception:
                log.exception("history: the warning callback raised")

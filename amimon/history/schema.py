"""The history database's tables, its version (``PRAGMA user_version``) and the migrations.

Times are whole microseconds since the Unix epoch (UTC) in ``*_us`` columns: exact, so a
task's start time read back is the very ``datetime`` the API gave, and a task's identity
(target, AMI id, start time) survives a restart. Text is the API's, exactly.

Each entry of ``MIGRATIONS`` takes the database from version ``i`` to ``i + 1``; a new
file runs them all. Never edit a released migration: add one.
"""

from __future__ import annotations

import sqlite3

# Version 1: what one poll observes (targets, tasks, state changes, progress samples).
_V1 = """
CREATE TABLE targets (
    id        INTEGER PRIMARY KEY,
    -- '' stands for "none" (the default profile, region or endpoint).
    profile   TEXT NOT NULL,
    region    TEXT NOT NULL,
    endpoint  TEXT NOT NULL,
    -- The last poll this target answered completely.
    last_poll_us INTEGER,
    UNIQUE (profile, region, endpoint)
);
CREATE TABLE tasks (
    id         INTEGER PRIMARY KEY,
    target_id  INTEGER NOT NULL REFERENCES targets (id),
    ami_id     TEXT NOT NULL,
    start_us   INTEGER NOT NULL,
    bucket     TEXT,
    object_key TEXT,
    progress   INTEGER,
    state      TEXT,
    reason     TEXT,
    first_seen_us  INTEGER NOT NULL,
    last_change_us INTEGER NOT NULL,
    -- When the current state began, to within one poll: after the last poll that saw
    -- the previous state (or the start time, or NULL when never seen in another state)
    -- and by the first poll that saw this one.
    state_after_us INTEGER,
    state_seen_us  INTEGER,
    vanished_us    INTEGER,
    -- The poll that wrote the current values: the newer observation wins.
    updated_us INTEGER NOT NULL,
    UNIQUE (target_id, ami_id, start_us)
);
CREATE INDEX tasks_by_start ON tasks (start_us);
CREATE TABLE changes (
    task_id   INTEGER NOT NULL REFERENCES tasks (id),
    old_state TEXT,
    new_state TEXT,
    after_us  INTEGER,
    seen_us   INTEGER NOT NULL
);
CREATE INDEX changes_by_task ON changes (task_id);
CREATE TABLE samples (
    task_id  INTEGER NOT NULL REFERENCES tasks (id),
    at_us    INTEGER NOT NULL,
    progress INTEGER NOT NULL,
    edge     INTEGER NOT NULL,
    PRIMARY KEY (task_id, at_us)
) WITHOUT ROWID;
"""

# Version 2: what DescribeImages says about an AMI (name, snapshot size), when known.
_V2 = """
CREATE TABLE images (
    target_id INTEGER NOT NULL REFERENCES targets (id),
    ami_id    TEXT NOT NULL,
    name      TEXT,
    size_gib  REAL,
    seen_us   INTEGER NOT NULL,
    PRIMARY KEY (target_id, ami_id)
) WITHOUT ROWID;
CREATE INDEX tasks_by_bucket ON tasks (bucket, state);
"""

MIGRATIONS: tuple[str, ...] = (_V1, _V2)
VERSION = len(MIGRATIONS)


class NewerSchema(Exception):
    """The file was written by a newer amimon: left alone rather than guessed at."""

    def __init__(self, found: int) -> None:
        super().__init__(
            f"it has schema version {found}, newer than this amimon's {VERSION}; "
            "upgrade amimon to use it"
        )
        self.found = found


def version(conn: sqlite3.Connection) -> int:
    return int(conn.execute("PRAGMA user_version").fetchone()[0])


def migrate(conn: sqlite3.Connection) -> int:
    """Bring the database to ``VERSION``; returns the version it had. Each step runs in
    one transaction with its version bump, so a crash leaves a whole version behind, and
    two processes opening a new file at once run each step once."""
    found = had = version(conn)
    if found > VERSION:
        raise NewerSchema(found)
    while found < VERSION:
        conn.execute("BEGIN IMMEDIATE")
        try:
            current = version(conn)  # another process may have got here first
            if current > VERSION:
                raise NewerSchema(current)
            if current < VERSION:
                for statement in _statements(MIGRATIONS[current]):
                    conn.execute(statement)
                conn.execute(f"PRAGMA user_version = {current + 1}")
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        found = version(conn)
    return had


def _statements(script: str) -> list[str]:
    """A script split into statements (``executescript`` would commit our transaction)."""
    out: list[str] = []
    pending = ""
    for line in script.splitlines(keepends=True):
        if line.lstrip().startswith("--"):
            continue
        pending += line
        if sqlite3.complete_statement(pending):
            out.append(pending.strip())
            pending = ""
    if pending.strip():
        raise ValueError(f"incomplete statement in a migration: {pending.strip()[:60]}")
    return out

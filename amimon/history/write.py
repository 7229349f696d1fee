"""One poll's rows into the database, in one transaction; and the retention trim.

Two amimon processes may write the same task: the newer observation's values win, and
the windows of a state change they both saw are merged (the later "after", the earlier
"by"), so each process's poll tightens what the other knew.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from urllib.parse import urlsplit, urlunsplit

from amimon.history.rows import ImageInfo, PollRows, storable, to_us
from amimon.model import Target

MAX_SAMPLES = 200
SAMPLE_SPACING_US = 60_000_000  # at most one sample a minute per task

_NEWER = "excluded.updated_us >= tasks.updated_us"


def _newer(column: str) -> str:
    return f"{column} = CASE WHEN {_NEWER} THEN excluded.{column} ELSE tasks.{column} END"


def _merged(column: str, pick: str) -> str:
    """The same state seen by both: the tighter bound; else the newer observation's."""
    both = (
        f"coalesce(tasks.{column}, excluded.{column}), coalesce(excluded.{column}, tasks.{column})"
    )
    return (
        f"{column} = CASE WHEN excluded.state IS tasks.state THEN {pick}({both}) "
        f"WHEN {_NEWER} THEN excluded.{column} ELSE tasks.{column} END"
    )


_UPSERT_TASK = f"""
INSERT INTO tasks (target_id, ami_id, start_us, bucket, object_key, progress, state, reason,
    first_seen_us, last_change_us, state_after_us, state_seen_us, vanished_us, updated_us)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (target_id, ami_id, start_us) DO UPDATE SET
    first_seen_us = min(tasks.first_seen_us, excluded.first_seen_us),
    {_merged("state_after_us", "max")},
    {_merged("state_seen_us", "min")},
    {_newer("bucket")}, {_newer("object_key")}, {_newer("progress")}, {_newer("state")},
    {_newer("reason")}, {_newer("last_change_us")}, {_newer("vanished_us")},
    updated_us = max(tasks.updated_us, excluded.updated_us)
"""

_TASK_ID = "SELECT id FROM tasks WHERE target_id = ? AND ami_id = ? AND start_us = ?"

_INSERT_CHANGE = f"""
INSERT INTO changes (task_id, old_state, new_state, after_us, seen_us)
SELECT id, ?, ?, ?, ? FROM ({_TASK_ID})
"""

# Thinned as it is written: no sample within a minute of another of the same task.
_INSERT_SAMPLE = f"""
INSERT OR IGNORE INTO samples (task_id, at_us, progress, edge)
SELECT t.id, ?1, ?2, ?3 FROM tasks t
WHERE t.target_id = ?4 AND t.ami_id = ?5 AND t.start_us = ?6 AND NOT EXISTS (
    SELECT 1 FROM samples s WHERE s.task_id = t.id
    AND s.at_us > ?1 - {SAMPLE_SPACING_US} AND s.at_us < ?1 + {SAMPLE_SPACING_US}
)
"""

# The newest MAX_SAMPLES stay: they are what a rate after a restart rests on.
_CAP_SAMPLES = f"""
DELETE FROM samples WHERE task_id = ?1 AND at_us <= (
    SELECT at_us FROM samples WHERE task_id = ?1 ORDER BY at_us DESC LIMIT 1 OFFSET {MAX_SAMPLES}
)
"""

_UPSERT_IMAGE = """
INSERT INTO images (target_id, ami_id, name, size_gib, seen_us) VALUES (?, ?, ?, ?, ?)
ON CONFLICT (target_id, ami_id) DO UPDATE SET
    name = coalesce(excluded.name, images.name),
    size_gib = coalesce(excluded.size_gib, images.size_gib),
    seen_us = max(images.seen_us, excluded.seen_us)
"""


_LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1"})


def endpoint_text(url: str | None) -> str:
    """The endpoint as stored: without any ``user:password@`` (never keep a credential),
    and without the port of a loopback endpoint (the demo's simulator takes a new port
    each run; its history is one place all the same)."""
    if not url:
        return ""
    parts = urlsplit(url)
    netloc = parts.netloc.rsplit("@", 1)[1] if "@" in parts.netloc else parts.netloc
    if parts.hostname in _LOOPBACK and parts.port is not None:
        netloc = netloc.rsplit(":", 1)[0]
    if netloc == parts.netloc:
        return url
    return urlunsplit(parts._replace(netloc=netloc))


def target_columns(target: Target) -> tuple[str, str, str]:
    return (
        storable(target.profile) or "",
        storable(target.region) or "",
        endpoint_text(target.endpoint_url),
    )


def target_id(conn: sqlite3.Connection, target: Target, cache: dict[Target, int]) -> int:
    """The target's row id, created if new (inside the caller's transaction)."""
    known = cache.get(target)
    if known is not None:
        return known
    columns = target_columns(target)
    conn.execute(
        "INSERT OR IGNORE INTO targets (profile, region, endpoint) VALUES (?, ?, ?)", columns
    )
    row = conn.execute(
        "SELECT id FROM targets WHERE profile = ? AND region = ? AND endpoint = ?", columns
    ).fetchone()
    cache[target] = int(row[0])
    return cache[target]


def _us(moment: datetime | None) -> int | None:
    return None if moment is None else to_us(moment)


def write_poll(
    conn: sqlite3.Connection, rows: PollRows, known: Mapping[Target, int]
) -> dict[Target, int]:
    """Write ``rows`` in one transaction; returns the target ids it used (for the caller
    to cache once committed)."""
    ids = dict(known)
    conn.execute("BEGIN IMMEDIATE")
    try:
        for target, at in rows.answered:
            conn.execute(
                "UPDATE targets SET last_poll_us = max(coalesce(last_poll_us, 0), ?) WHERE id = ?",
                (to_us(at), target_id(conn, target, ids)),
            )
        conn.executemany(
            _UPSERT_TASK,
            [
                (
                    target_id(conn, r.target, ids),
                    r.ami_id,
                    to_us(r.start_time),
                    r.bucket,
                    r.object_key,
                    r.progress,
                    r.state,
                    r.reason,
                    to_us(r.first_seen),
                    to_us(r.last_change),
                    _us(r.state_after),
                    _us(r.state_seen),
                    _us(r.vanished_at),
                    to_us(r.updated),
                )
                for r in rows.tasks
            ],
        )
        conn.executemany(
            _INSERT_CHANGE,
            [
                (
                    c.old_state,
                    c.new_state,
                    _us(c.after),
                    to_us(c.seen),
                    target_id(conn, c.target, ids),
                    c.ami_id,
                    to_us(c.start_time),
                )
                for c in rows.changes
            ],
        )
        for s in rows.samples:
            key = (target_id(conn, s.target, ids), s.ami_id, to_us(s.start_time))
            cursor = conn.execute(_INSERT_SAMPLE, (to_us(s.at), s.progress, int(s.edge), *key))
            if cursor.rowcount:
                task = conn.execute(_TASK_ID, key).fetchone()
                conn.execute(_CAP_SAMPLES, (task[0],))
        conn.execute("COMMIT")
    except BaseException:
        _rollback(conn)
        raise
    return ids


def write_images(
    conn: sqlite3.Connection, images: Iterable[ImageInfo], at: datetime, known: Mapping[Target, int]
) -> dict[Target, int]:
    ids = dict(known)
    conn.execute("BEGIN IMMEDIATE")
    try:
        conn.executemany(
            _UPSERT_IMAGE,
            [
                (target_id(conn, i.target, ids), i.ami_id, storable(i.name), i.size_gib, to_us(at))
                for i in images
            ],
        )
        conn.execute("COMMIT")
    except BaseException:
        _rollback(conn)
        raise
    return ids


def trim(conn: sqlite3.Connection, days: int, now: datetime) -> int:
    """Forget tasks that started more than ``days`` ago; returns how many. Takes the write
    lock only when there is something to forget."""
    cutoff = to_us(now - timedelta(days=days))
    old = conn.execute("SELECT count(*) FROM tasks WHERE start_us < ?", (cutoff,)).fetchone()[0]
    if not old:
        return 0
    conn.execute("BEGIN IMMEDIATE")
    try:
        doomed = "SELECT id FROM tasks WHERE start_us < ?"
        conn.execute(f"DELETE FROM samples WHERE task_id IN ({doomed})", (cutoff,))
        conn.execute(f"DELETE FROM changes WHERE task_id IN ({doomed})", (cutoff,))
        count = conn.execute("DELETE FROM tasks WHERE start_us < ?", (cutoff,)).rowcount
        conn.execute(
            "DELETE FROM images WHERE NOT EXISTS (SELECT 1 FROM tasks t "
            "WHERE t.target_id = images.target_id AND t.ami_id = images.ami_id)"
        )
        conn.execute("COMMIT")
    except BaseException:
        _rollback(conn)
        raise
    return int(count)


def _rollback(conn: sqlite3.Connection) -> None:
    try:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
    except sqlite3.Error:
        pass  # the original error says more

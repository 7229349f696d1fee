"""History never costs the user the monitor: bad files, locks, full disks, two writers, kills."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from amimon.history import HistoryStore, ImageInfo, past_tasks, poll_rows, seed
from amimon.history import write as history_write
from amimon.history.schema import VERSION
from amimon.reducer import MonitorState, reduce
from tests.factories import EAST, T0, at, snap, task

ROOT = Path(__file__).resolve().parent.parent
AS_ROOT = hasattr(os, "geteuid") and os.geteuid() == 0


class Warnings(list[str]):
    def __call__(self, line: str) -> None:
        self.append(line)


@pytest.fixture
def warned() -> Warnings:
    return Warnings()


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "history.sqlite3"


def one_poll(minute: float = 0, ami: str = "ami-00000001", progress: int = 5) -> tuple:
    state, _ = reduce(MonitorState(), snap(task(ami, progress)), at(minute))
    return MonitorState(), state, at(minute)


def works(store: HistoryStore) -> bool:
    """The store writes a poll and reads it back."""
    before, after, now = one_poll(ami="ami-0000beef")
    return store.write(poll_rows(before, after, now)) and any(
        t.task.ami_id == "ami-0000beef" for t in seed(store, [EAST], now=now).tasks.values()
    )


def filled(path: Path, tasks: int = 3) -> None:
    store = HistoryStore.open(path, warn=pytest.fail, now=T0)
    state, _ = reduce(
        MonitorState(), snap(*(task(f"ami-{n:08x}", 100, "Completed") for n in range(tasks))), T0
    )
    assert store.write(poll_rows(MonitorState(), state, T0))
    store.close()


def assert_one_line(warnings: list[str], *words: str) -> None:
    assert len(warnings) == 1, warnings
    assert "\n" not in warnings[0]
    for word in words:
        assert word in warnings[0], warnings[0]


def moved_aside(path: Path) -> list[Path]:
    return sorted(path.parent.glob(path.name + ".broken-*"))


def child(code: str, *args: str) -> subprocess.Popen[str]:
    """A Python process running ``code`` with the repository importable."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen(
        [sys.executable, "-c", code, *args],
        cwd=ROOT,
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


@pytest.fixture
def children() -> Iterator[list[subprocess.Popen[str]]]:
    started: list[subprocess.Popen[str]] = []
    yield started
    for proc in started:
        if proc.poll() is None:
            proc.kill()
        proc.wait(timeout=30)


# Files that must be moved aside --------------------------------------------------------


def test_random_bytes_are_moved_aside_and_a_fresh_file_is_used(
    path: Path, warned: Warnings
) -> None:
    junk = os.urandom(16384)
    path.write_bytes(junk)
    store = HistoryStore.open(path, warn=warned, now=T0)
    assert store.enabled and works(store)
    assert_one_line(warned, str(path), "is damaged", "moved it to", ".broken-")
    (aside,) = moved_aside(path)
    assert aside.read_bytes() == junk  # kept for whoever wants to look, never deleted
    store.close()


def test_a_truncated_database_is_moved_aside(path: Path, warned: Warnings) -> None:
    filled(path, tasks=2000)
    size = path.stat().st_size
    assert size > 100_000 and not Path(f"{path}-wal").exists()
    with path.open("r+b") as f:
        f.truncate(size * 6 // 10)
    began = time.monotonic()
    store = HistoryStore.open(path, warn=warned, now=T0)
    assert time.monotonic() - began < 1.0  # every page is read on the writer thread
    seed(store, [EAST], now=T0)  # may find the damage first; either way, once
    assert store.flush(timeout=10)
    assert store.enabled and works(store)
    assert_one_line(warned, "is damaged", "moved it to")
    assert len(moved_aside(path)) == 1
    store.close()


def test_damage_only_a_full_read_finds_is_found_on_the_writer_thread(
    path: Path, warned: Warnings
) -> None:
    filled(path, tasks=3)
    # State changes written last fill the end of the file, and nothing the monitor reads
    # at start touches them: only the check of every page finds them overwritten. (A cut
    # off file SQLite notices at once: its header says how long it should be.)
    with sqlite3.connect(path) as conn:
        conn.executemany(
            "INSERT INTO changes VALUES (1, 'InProgress', 'Completed', ?, ?)",
            [(n, n) for n in range(20000)],
        )
    conn.close()
    sqlite3.connect(path).close()  # the last connection checkpoints and removes the WAL
    size = path.stat().st_size
    with path.open("r+b") as f:
        f.seek(size * 8 // 10 // 4096 * 4096)
        f.write(bytes(range(256)) * 32)  # two pages of nonsense
    seeded = seed(HistoryStore(path, warn=warned), [EAST], now=T0)  # a reader only
    assert len(seeded.tasks) == 3 and not warned
    store = HistoryStore.open(path, warn=warned, now=T0)
    assert store.flush(timeout=10)
    assert_one_line(warned, "is damaged (quick_check", "moved it to")
    # The fresh file gets all the monitor knows with its next poll.
    store.record(seeded, seeded, at(1))
    assert store.flush(timeout=10)
    assert len(past_tasks(store)) == 3
    store.close()


def test_after_a_file_is_replaced_the_next_poll_writes_all_the_monitor_knows(
    path: Path, warned: Warnings, children: list[subprocess.Popen[str]]
) -> None:
    # A completed task that never changes again must still reach the fresh file.
    store = HistoryStore.open(path, warn=warned, busy_timeout=0.5, now=T0)
    done, moving = task("ami-00000001", 100, "Completed"), task("ami-00000002", 10)
    state, _ = reduce(MonitorState(), snap(done, moving), at(0))
    store.record(MonitorState(), state, at(0))
    assert store.flush(timeout=10)
    locker = child(LOCKER, str(path), "wal")
    children.append(locker)
    assert locker.stdout is not None and locker.stdout.readline().strip() == "locked"
    for minute in (1, 2):
        before = state
        state, _ = reduce(state, snap(done, task("ami-00000002", 10 + minute)), at(minute))
        store.record(before, state, at(minute))
        assert store.flush(timeout=10)
    assert_one_line(warned, "stayed locked", "moved it to")
    assert sorted(t.ami_id for t in past_tasks(store, states=())) == [
        "ami-00000001",
        "ami-00000002",
    ]
    store.close()


def test_something_that_is_not_a_file_is_moved_aside(path: Path, warned: Warnings) -> None:
    # Works as root too, where chmod 000 does not stop a read.
    path.mkdir()
    (path / "inside").write_text("x")
    store = HistoryStore.open(path, warn=warned, now=T0)
    assert store.enabled and works(store)
    assert_one_line(warned, "cannot be opened", "moved it to")
    (aside,) = moved_aside(path)
    assert (aside / "inside").read_text() == "x"
    store.close()


@pytest.mark.skipif(AS_ROOT, reason="root reads a chmod 000 file anyway")
def test_an_unreadable_file_is_moved_aside(path: Path, warned: Warnings) -> None:
    filled(path)
    path.chmod(0)
    store = HistoryStore.open(path, warn=warned, now=T0)
    assert store.enabled and works(store)
    assert_one_line(warned, "moved it to")
    store.close()


LOCKER = """
import sqlite3, sys, time
conn = sqlite3.connect(sys.argv[1], isolation_level=None)
if sys.argv[2] == "rollback":
    conn.execute("PRAGMA journal_mode = DELETE")
    conn.execute("CREATE TABLE IF NOT EXISTS t (x)")
conn.execute("BEGIN EXCLUSIVE")
conn.execute("INSERT INTO %s VALUES (%s)" % (
    ("t", "1") if sys.argv[2] == "rollback" else ("targets (profile, region, endpoint)", "'x', 'y', 'z'")
))
print("locked", flush=True)
time.sleep(120)
"""


@pytest.mark.parametrize("mode", ["wal", "rollback"])
def test_a_file_locked_forever_is_moved_aside_within_the_busy_timeout(
    path: Path, warned: Warnings, children: list[subprocess.Popen[str]], mode: str
) -> None:
    if mode == "wal":
        filled(path)  # amimon's own file; the other process holds its write lock
    locker = child(LOCKER, str(path), mode)
    children.append(locker)
    assert locker.stdout is not None and locker.stdout.readline().strip() == "locked"
    began = time.monotonic()
    store = HistoryStore.open(path, warn=warned, busy_timeout=0.5, now=T0)
    before, after, now = one_poll()
    assert store.write(poll_rows(before, after, now))  # this poll is not lost
    assert time.monotonic() - began < 3.0
    assert_one_line(warned, "stayed locked by another process for over 0.5 s", "moved it to")
    assert [t.task.ami_id for t in seed(store, [EAST], now=now).tasks.values()] == ["ami-00000001"]
    store.close()


# Places where history turns off ---------------------------------------------------------


def test_a_directory_that_cannot_be_made_turns_history_off(
    tmp_path: Path, warned: Warnings
) -> None:
    (tmp_path / "not-a-dir").write_text("a file where the state dir should be")
    store = HistoryStore.open(tmp_path / "not-a-dir" / "history.sqlite3", warn=warned, now=T0)
    assert not store.enabled
    assert_one_line(warned, "history: off")
    before, after, now = one_poll()
    store.record(before, after, now)  # the caller goes on
    assert not store.write(poll_rows(before, after, now))
    assert seed(store, [EAST]) == MonitorState(full_due=frozenset({EAST}))
    store.close()
    assert len(warned) == 1


@pytest.mark.skipif(AS_ROOT, reason="root writes into a read-only directory anyway")
def test_a_read_only_directory_turns_history_off(tmp_path: Path, warned: Warnings) -> None:
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o555)
    try:
        store = HistoryStore.open(folder / "history.sqlite3", warn=warned, now=T0)
        assert not store.enabled
        assert_one_line(warned, "history: off")
    finally:
        folder.chmod(0o755)


def test_a_full_disk_turns_history_off_and_polling_goes_on(path: Path, warned: Warnings) -> None:
    # max_page_count caps the file as a full disk would: SQLITE_FULL on the next page.
    store = HistoryStore.open(path, warn=warned, pragmas=["PRAGMA max_page_count = 30"], now=T0)
    assert store.enabled and not warned
    state, results = MonitorState(), []
    for minute in range(20):
        listing = snap(*(task(f"ami-{minute:04x}{n:04x}", 100, "Completed") for n in range(50)))
        before = state
        state, _ = reduce(state, listing, at(minute))  # the monitor's own work carries on
        results.append(store.write(poll_rows(before, state, at(minute))))
    assert results[0] and not results[-1] and not store.enabled
    assert_one_line(warned, "history: off", "full")
    assert len(state.tasks) == 1000
    store.close()


def test_a_full_disk_at_start_turns_history_off(path: Path, warned: Warnings) -> None:
    store = HistoryStore.open(path, warn=warned, pragmas=["PRAGMA max_page_count = 2"], now=T0)
    assert not store.enabled
    assert_one_line(warned, "history: off", "full")


def test_a_file_from_a_newer_amimon_is_left_alone(path: Path, warned: Warnings) -> None:
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE future (x)")
        conn.execute(f"PRAGMA user_version = {VERSION + 1}")
    conn.close()
    before = path.read_bytes()
    store = HistoryStore.open(path, warn=warned, now=T0)
    assert not store.enabled
    assert_one_line(warned, "history: off", "newer amimon")
    store.close()
    assert path.read_bytes() == before and not moved_aside(path)


def test_an_unexpected_error_turns_history_off_instead_of_raising(
    path: Path, warned: Warnings, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args: object) -> None:
        raise RuntimeError("a bug")

    store = HistoryStore.open(path, warn=warned, now=T0)
    monkeypatch.setattr(history_write, "write_poll", broken)
    before, after, now = one_poll()
    store.record(before, after, now)
    assert store.flush(timeout=10)
    assert not store.enabled
    assert_one_line(warned, "history: off", "a bug")
    store.close()


def test_a_warning_callback_that_raises_is_contained(path: Path) -> None:
    def angry(line: str) -> None:
        raise ValueError(line)

    path.write_bytes(b"not a database at all" * 100)
    store = HistoryStore.open(path, warn=angry, now=T0)
    assert store.enabled and store.problem is not None and "moved it to" in store.problem
    store.close()


# Schema versions ---------------------------------------------------------------------


def test_a_version_1_file_is_migrated_and_keeps_its_data(path: Path, warned: Warnings) -> None:
    with sqlite3.connect(path) as conn:
        conn.executescript((ROOT / "tests" / "fixtures" / "history_v1.sql").read_text())
    conn.close()
    store = HistoryStore.open(path, warn=warned, now=T0)
    assert store.enabled and not warned
    assert store.read(lambda c: c.execute("PRAGMA user_version").fetchone()[0], 0) == VERSION
    (done,) = past_tasks(store)
    assert done.ending is not None and (done.ending.after, done.ending.by) == (at(9), at(10))
    seeded = seed(store, [EAST], now=at(11))
    running = next(t for t in seeded.tasks.values() if t.task.ami_id == "ami-00000002")
    assert [s.progress for s in running.samples] == [0, 4, 8, 12, 16, 20]
    # Version 2 added AMI details: they can be recorded for the old tasks.
    assert store.write_images([ImageInfo(EAST, "ami-00000001", "web", 12.0)])
    assert past_tasks(store)[0].size_gib == 12.0
    assert works(store)
    store.close()


def test_a_new_file_is_at_the_current_version(path: Path) -> None:
    HistoryStore.open(path, now=T0).close()
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == VERSION
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    conn.close()


# Several processes -------------------------------------------------------------------

WRITER = """
import sys
from pathlib import Path
from amimon.history import HistoryStore, poll_rows
from amimon.reducer import MonitorState, reduce
from tests.factories import at, snap, task

name, polls, path = sys.argv[1], int(sys.argv[2]), Path(sys.argv[3])
store = HistoryStore.open(path, busy_timeout=10, warn=lambda line: print("WARN", line, flush=True))
print("ready", flush=True)
sys.stdin.readline()
state = MonitorState()
for i in range(polls):
    listing = snap(*(task(f"ami-{name}{j:07x}", i) for j in range(min(i + 1, 20))))
    before = state
    state, _ = reduce(state, listing, at(i))
    assert store.write(poll_rows(before, state, at(i)))
store.close()
print("done", flush=True)
"""


def test_two_processes_writing_at_once_lose_nothing(
    path: Path, children: list[subprocess.Popen[str]]
) -> None:
    HistoryStore.open(path, now=T0).close()
    polls = 120
    for name in ("a", "b"):
        children.append(child(WRITER, name, str(polls), str(path)))
    for proc in children:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
    for proc in children:
        assert proc.stdin is not None
        proc.stdin.write("go\n")
        proc.stdin.flush()
    for proc in children:
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
        assert out.strip() == "done", out  # no warning: nothing moved aside or turned off
    with sqlite3.connect(path) as conn:
        tasks = dict(conn.execute("SELECT ami_id, progress FROM tasks"))
        samples = dict(
            conn.execute(
                "SELECT t.ami_id, count(*) FROM samples s JOIN tasks t ON t.id = s.task_id "
                "GROUP BY t.ami_id"
            )
        )
    conn.close()
    expected = {f"ami-{n}{j:07x}" for n in "ab" for j in range(20)}
    assert set(tasks) == expected
    assert set(tasks.values()) == {polls - 1}
    # Task j appeared at poll j and moved at every poll after: one sample a minute each.
    assert samples == {f"ami-{n}{j:07x}": polls - j for n in "ab" for j in range(20)}


KILLED = """
import sys
from pathlib import Path
from amimon.history import HistoryStore, poll_rows
from amimon.reducer import MonitorState, reduce
from tests.factories import at, snap, task

store = HistoryStore.open(Path(sys.argv[1]), warn=lambda line: print("WARN", line, flush=True))
state = MonitorState()
for i in range(10**6):
    # Poll i lists i + 1 tasks, 300 of them moving: each poll is a sizeable transaction.
    listing = snap(*(task(f"ami-{j:08x}", (i - j) % 100) for j in range(max(0, i - 299), i + 1)))
    before = state
    state, _ = reduce(state, listing, at(i))
    assert store.write(poll_rows(before, state, at(i)))
    print(i, flush=True)
"""


def test_sigkill_mid_write_loses_at_most_the_last_poll(
    path: Path, children: list[subprocess.Popen[str]]
) -> None:
    writer = child(KILLED, str(path))
    children.append(writer)
    assert writer.stdout is not None
    acknowledged = -1
    while acknowledged < 40:
        line = writer.stdout.readline()
        assert line and not line.startswith("WARN"), line
        acknowledged = int(line)
    time.sleep(0.137)  # somewhere in the middle of a later poll
    os.kill(writer.pid, signal.SIGKILL)
    writer.wait(timeout=30)
    for line in writer.stdout.read().split():
        acknowledged = max(acknowledged, int(line))
    assert Path(f"{path}-wal").exists()  # killed: nobody checkpointed
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        polled = conn.execute("SELECT count(*) FROM tasks").fetchone()[0] - 1
        last_poll = conn.execute("SELECT last_poll_us FROM targets").fetchone()[0]
        newest = conn.execute("SELECT max(first_seen_us) FROM tasks").fetchone()[0]
    conn.close()
    # Every acknowledged poll is there; at most the one being written when killed is not.
    assert acknowledged <= polled <= acknowledged + 1
    assert last_poll == newest  # a poll is all there or not at all
    store = HistoryStore.open(path, warn=pytest.fail, now=T0)
    assert works(store)
    store.close()

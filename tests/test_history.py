"""History at the reducer level: what a poll writes, what a restart seeds, what it tells."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from collections.abc import Iterator, Sequence
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from amimon.estimate import estimate
from amimon.history import (
    HistoryStore,
    ImageInfo,
    describe,
    ending,
    past_tasks,
    poll_rows,
    seed,
    summarize,
    throughput,
)
from amimon.history.rows import from_us, to_us
from amimon.model import FULL_POLL, Snapshot, StoreTask, Target, TargetPoll
from amimon.reducer import MonitorState, TaskCompleted, TrackedTask, reduce
from amimon.schedule import plan_for
from tests.factories import EAST, T0, WEST, at, snap, task

AMI = "ami-00000001"
OTHER = "ami-00000002"


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "state" / "history.sqlite3"


@pytest.fixture
def store(path: Path) -> Iterator[HistoryStore]:
    opened = HistoryStore.open(path, warn=pytest.fail, now=T0)
    yield opened
    opened.close()


def polls(
    store: HistoryStore, state: MonitorState, *snapshots: tuple[float, Snapshot]
) -> MonitorState:
    """Reduce each (minute, snapshot) and write what it changed, as the monitor does."""
    for minute, snapshot in snapshots:
        before = state
        state, _ = reduce(state, snapshot, at(minute))
        assert store.write(poll_rows(before, state, at(minute)))
    return state


def running(minutes: Sequence[float], per_minute: float = 1.0) -> list[tuple[float, Snapshot]]:
    return [(m, snap(task(AMI, int(m * per_minute)))) for m in minutes]


def rows(store: HistoryStore, sql: str, *args: object) -> list[tuple[object, ...]]:
    assert store.path is not None
    with sqlite3.connect(store.path) as conn:
        return list(conn.execute(sql, args))


def test_history_imports_neither_textual_nor_boto3() -> None:
    code = (
        "import sys, amimon.history; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in {'textual', 'boto3', 'rich'}))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


# The pure write side -------------------------------------------------------------------


def test_times_are_stored_exactly() -> None:
    moment = datetime.fromisoformat("2026-11-27T12:00:00.123457+00:00")
    assert from_us(to_us(moment)) == moment


def test_an_unchanged_poll_writes_only_when_the_target_answered() -> None:
    state, _ = reduce(MonitorState(), snap(task(AMI, 5)), at(0))
    after, _ = reduce(state, snap(task(AMI, 5)), at(1))
    rows_ = poll_rows(state, after, at(1))
    assert rows_.answered == ((EAST, at(1)),)
    assert (rows_.tasks, rows_.changes, rows_.samples) == ((), (), ())


def test_a_first_listing_knows_no_window_for_what_it_finds() -> None:
    state, _ = reduce(MonitorState(), snap(task(AMI, 100, "Completed")), at(0))
    rows_ = poll_rows(MonitorState(), state, at(0))
    (row,) = rows_.tasks
    assert (row.state_after, row.state_seen) == (None, at(0))
    assert rows_.changes == ()


def test_a_completion_is_written_with_its_poll_window() -> None:
    state, _ = reduce(MonitorState(), snap(task(AMI, 90)), at(0))
    after, _ = reduce(state, snap(task(AMI, 100, "Completed")), at(1))
    rows_ = poll_rows(state, after, at(1))
    (change,) = rows_.changes
    assert (change.old_state, change.new_state) == ("InProgress", "Completed")
    assert (change.after, change.seen) == (at(0), at(1))
    assert rows_.tasks[0].state_after == at(0)


def test_a_task_that_started_and_finished_between_polls_ended_after_it_started() -> None:
    state, _ = reduce(MonitorState(), snap(), at(0))
    done = task(OTHER, 100, "Completed", started=at(2))
    after, _ = reduce(state, snap(done), at(5))
    (change,) = poll_rows(state, after, at(5)).changes
    assert (change.old_state, change.after, change.seen) == (None, at(2), at(5))


def test_tasks_without_an_id_or_a_start_time_are_not_recorded() -> None:
    nameless = StoreTask(EAST, None, T0, "archive", progress=3, state="InProgress")
    timeless = StoreTask(EAST, AMI, None, "archive", progress=3, state="InProgress")
    state, _ = reduce(MonitorState(), Snapshot((TargetPoll(EAST, (nameless, timeless)),)), at(0))
    assert poll_rows(MonitorState(), state, at(0)).tasks == ()


# Writing and reading back --------------------------------------------------------------


def test_a_restart_has_a_rate_and_an_eta_before_any_poll(store: HistoryStore) -> None:
    live = polls(store, MonitorState(), *running(range(0, 13)))
    seeded = seed(store, [EAST], now=at(13))
    (tracked,) = seeded.tasks.values()
    assert seeded.seen_at(EAST) == at(12)
    est = estimate(tracked, seeded.seen_at(EAST))
    assert est.rate is not None and est.eta_at is not None
    assert est == estimate(live.tasks[tracked.key], live.seen_at(EAST))
    assert seeded.full_due == frozenset({EAST}) and plan_for(seeded, EAST) == FULL_POLL


def test_thinned_samples_still_give_the_rate(store: HistoryStore) -> None:
    # Polls every 15 s: at most one sample a minute is kept, and the latest progress too.
    quarter = [m / 4 for m in range(0, 49)]
    live = polls(store, MonitorState(), *running(quarter, per_minute=2.0))
    assert rows(store, "SELECT count(*) FROM samples")[0][0] <= 13
    seeded = seed(store, [EAST], now=at(13))
    (tracked,) = seeded.tasks.values()
    assert tracked.samples[-1].progress == 24
    seeded_rate = estimate(tracked, seeded.seen_at(EAST)).rate
    live_rate = estimate(live.tasks[tracked.key], live.seen_at(EAST)).rate
    assert seeded_rate is not None and live_rate is not None
    assert seeded_rate == pytest.approx(live_rate, rel=0.1)


def test_a_task_that_completed_while_amimon_was_down(store: HistoryStore) -> None:
    polls(store, MonitorState(), *running(range(0, 10)))
    seeded = seed(store, [EAST], now=at(60))
    after, events = reduce(seeded, snap(task(AMI, 100, "Completed")), at(60))
    completed = [e for e in events if isinstance(e, TaskCompleted)]
    assert len(completed) == 1
    assert completed[0].task.before_change == at(9)  # the last poll that saw it running
    assert store.write(poll_rows(seeded, after, at(60)))
    (past,) = past_tasks(store)
    assert past.ending is not None and (past.ending.after, past.ending.by) == (at(9), at(60))


def test_a_seeded_state_matches_the_api_so_the_first_poll_is_quiet(
    store: HistoryStore,
) -> None:
    listing = snap(task(AMI, 40), task(OTHER, 100, "Completed", reason="", bucket="dr"))
    polls(store, MonitorState(), (0, listing))
    seeded = seed(store, [EAST], now=at(1))
    after, events = reduce(seeded, listing, at(1))
    assert events == ()
    assert all(after.tasks[k] is seeded.tasks[k] for k in seeded.tasks)
    assert poll_rows(seeded, after, at(1)).tasks == ()


def test_seed_keeps_targets_apart_and_skips_vanished_and_old_tasks(store: HistoryStore) -> None:
    west = task(OTHER, 10, target=WEST)
    state = polls(store, MonitorState(), (0, snap(task(AMI, 10), west, covered=(EAST, WEST))))
    polls(store, state, (1, snap(west, covered=(EAST, WEST))))  # AMI vanished from EAST
    assert seed(store, [EAST], now=at(2)).tasks == {}
    assert list(seed(store, [WEST], now=at(2)).tasks) == [west.key]
    assert seed(store, [WEST], now=at(60 * 24 * 32)).tasks == {}  # out of AWS's window


def test_a_vanished_task_comes_back(store: HistoryStore) -> None:
    listing = snap(task(AMI, 100, "Completed"))
    state = polls(store, MonitorState(), (0, listing), (1, snap()), (2, listing))
    assert rows(store, "SELECT vanished_us FROM tasks") == [(None,)]
    assert list(seed(store, [EAST], now=at(3)).tasks) == list(state.tasks)


def test_progress_samples_are_capped_per_task(store: HistoryStore) -> None:
    # Progress only rises 100 times, so the cap shows when it goes backwards and restarts.
    sawtooth = [(m, snap(task(AMI, m % 90))) for m in range(0, 300)]
    polls(store, MonitorState(), *sawtooth)
    count, newest = rows(store, "SELECT count(*), max(at_us) FROM samples")[0]
    assert count == 200 and newest == to_us(at(299))


def test_the_writer_thread_writes_what_was_recorded(store: HistoryStore) -> None:
    state = MonitorState()
    for minute in range(5):
        before = state
        state, _ = reduce(state, snap(task(AMI, minute)), at(minute))
        store.record(before, state, at(minute))
    assert store.flush(timeout=10)
    assert rows(store, "SELECT last_poll_us FROM targets") == [(to_us(at(4)),)]
    assert rows(store, "SELECT progress FROM tasks") == [(4,)]


def test_close_writes_what_is_queued(path: Path) -> None:
    store = HistoryStore.open(path, now=T0)
    state, _ = reduce(MonitorState(), snap(task(AMI, 3)), at(0))
    store.record(MonitorState(), state, at(0))
    store.close()
    assert (
        HistoryStore.open(path, now=T0).read(
            lambda c: c.execute("SELECT count(*) FROM tasks").fetchone()[0], 0
        )
        == 1
    )


def test_history_off_is_a_store_that_does_nothing() -> None:
    store = HistoryStore.open(None)
    state, _ = reduce(MonitorState(), snap(task(AMI, 3)), at(0))
    store.record(MonitorState(), state, at(0))
    assert not store.write(poll_rows(MonitorState(), state, at(0)))
    assert seed(store, [EAST]) == MonitorState(full_due=frozenset({EAST}))
    assert past_tasks(store) == []
    store.close()


def test_retention_forgets_old_tasks_at_start(path: Path) -> None:
    store = HistoryStore.open(path, now=T0)
    old = task(OTHER, 100, "Completed", started=T0 - timedelta(days=30))
    polls(store, MonitorState(), (0, snap(task(AMI, 5), old)))
    store.close()
    store = HistoryStore.open(path, days=10, now=T0 + timedelta(days=1))
    assert [p.ami_id for p in past_tasks(store, states=())] == [AMI]
    assert rows(store, "SELECT count(*) FROM samples")[0][0] == 1
    store.close()


def test_text_is_kept_exactly(store: HistoryStore) -> None:
    hostile = "\x1b]8;;https://evil\x07[bold]KMS[/]\u202e\n\x00 ✗"
    failed = task(AMI, 40, "Failed", reason=hostile, bucket="b[red]x")
    polls(store, MonitorState(), (0, snap(failed)))
    seeded = seed(store, [EAST], now=at(1))
    assert seeded.tasks[failed.key].task == failed
    surrogate = task(OTHER, 40, "Failed", reason="bad \udc80 text")
    polls(store, seeded, (1, snap(failed, surrogate)))
    assert past_tasks(store, buckets=["archive"])[0].reason == "bad \ufffd text"


def test_no_credential_in_an_endpoint_is_stored(store: HistoryStore) -> None:
    target = Target("prod", "us-east-1", "https://user:secret@ec2.example.com/")
    polls(store, MonitorState(), (0, snap(task(AMI, 5, target=target), covered=(target,))))
    assert rows(store, "SELECT profile, region, endpoint FROM targets") == [
        ("prod", "us-east-1", "https://ec2.example.com/")
    ]
    (key,) = seed(store, [target], now=at(1)).tasks
    assert key.ami_id == AMI


# Merging what two processes saw --------------------------------------------------------


def test_two_observers_of_one_completion_tighten_its_window(store: HistoryStore) -> None:
    # Process A polls at whole minutes, B at half minutes: together they narrow it down.
    a = polls(store, MonitorState(), (0, snap(task(AMI, 90))))
    b = polls(store, MonitorState(), (0.5, snap(task(AMI, 91))))
    polls(store, a, (2, snap(task(AMI, 100, "Completed"))))
    polls(store, b, (1.5, snap(task(AMI, 100, "Completed"))))
    (past,) = past_tasks(store)
    assert past.ending is not None
    assert (past.ending.after, past.ending.by) == (at(0.5), at(1.5))


def test_an_older_observation_does_not_undo_a_newer_one(store: HistoryStore) -> None:
    a = polls(store, MonitorState(), (0, snap(task(AMI, 50))))
    polls(store, a, (2, snap(task(AMI, 100, "Completed"))))
    polls(store, MonitorState(), (1, snap(task(AMI, 70))))  # a slow writer, an older poll
    (past,) = past_tasks(store)
    assert (past.state, past.progress) == ("Completed", 100)


# What it tells -------------------------------------------------------------------------


def finished(
    store: HistoryStore, ami: str, bucket: str, minutes: int, *, size: float | None
) -> None:
    started = at(-minutes)
    state = polls(store, MonitorState(), (0, snap(task(ami, 99, bucket=bucket, started=started))))
    polls(store, state, (0.25, snap(task(ami, 100, "Completed", bucket=bucket, started=started))))
    if size is not None:
        assert store.write_images([ImageInfo(EAST, ami, f"name-{ami}", size)])


def test_the_median_gib_per_minute_of_a_bucket(store: HistoryStore) -> None:
    finished(store, "ami-00000011", "archive", 10, size=10.0)  # ~1 GiB/min
    finished(store, "ami-00000012", "archive", 10, size=20.0)  # ~2
    finished(store, "ami-00000013", "archive", 10, size=40.0)  # ~4
    finished(store, "ami-00000014", "archive", 10, size=None)  # no size: not counted
    finished(store, "ami-00000015", "dr", 10, size=100.0)
    prior = throughput(store, "archive")
    assert prior is not None and prior.tasks == 3
    assert prior.gib_per_minute == pytest.approx(2.0, rel=0.02)
    assert throughput(store, "archive", target=WEST) is None
    assert throughput(store, "nowhere") is None


def test_a_run_seen_through_a_wide_window_is_not_measured(store: HistoryStore) -> None:
    started = at(-10)
    state = polls(store, MonitorState(), (0, snap(task(AMI, 50, started=started))))
    polls(store, state, (600, snap(task(AMI, 100, "Completed", started=started))))
    store.write_images([ImageInfo(EAST, AMI, None, 50.0)])
    (past,) = past_tasks(store)
    assert past.ending is not None and not past.ending.precise
    assert past.gib_per_minute is None and throughput(store, "archive") is None


def test_summary_per_bucket(store: HistoryStore) -> None:
    finished(store, "ami-00000011", "archive", 60, size=60.0)
    finished(store, "ami-00000012", "archive", 120, size=60.0)
    state = polls(store, MonitorState(), (0, snap(task("ami-00000013", 10, bucket="dr"))))
    polls(store, state, (1, snap(task("ami-00000013", 10, "Failed", bucket="dr"))))
    archive, dr = summarize(past_tasks(store))
    assert (archive.bucket, archive.tasks, archive.completed, archive.failed) == (
        "archive",
        2,
        2,
        0,
    )
    assert archive.median_took is not None
    assert archive.median_took == pytest.approx(timedelta(minutes=90, seconds=7.5))
    assert archive.median_gib_per_minute == pytest.approx(0.75, rel=0.01)
    assert (dr.tasks, dr.failed, dr.median_took, dr.median_gib_per_minute) == (1, 1, None, None)


def test_the_detail_panel_words_for_a_completion() -> None:
    state, _ = reduce(MonitorState(), snap(task(AMI, 99, started=at(-72))), at(0))
    state, _ = reduce(state, snap(task(AMI, 100, "Completed", started=at(-72))), at(0.25))
    end = ending(state.tasks[task(AMI, started=at(-72)).key])
    assert end is not None and end.margin == timedelta(seconds=7.5)
    assert describe(end, "Completed", size_gib=100.8) == (
        "completed ≈ 2026-11-27 12:00 UTC (±7s), took 1h12m, 1.4 GiB/min"
    )
    first, _ = reduce(MonitorState(), snap(task(AMI, 100, "Completed")), at(0))
    end = ending(first.tasks[task(AMI).key])
    assert end is not None
    assert describe(end, "Completed") == "completed before 2026-11-27 12:00 UTC"


def test_the_detail_panel_words_for_a_failure() -> None:
    state, _ = reduce(MonitorState(), snap(task(AMI, 40, started=at(-10))), at(0))
    state, _ = reduce(state, snap(task(AMI, 40, "Failed", started=at(-10), reason="x")), at(1))
    end = ending(state.tasks[task(AMI, started=at(-10)).key])
    assert end is not None and (end.after, end.by) == (at(0), at(1))
    assert describe(end, "Failed") == "failed ≈ 2026-11-27 12:00 UTC (±30s), took 10m"
    assert ending(TrackedTask(task(AMI, 40), T0, T0)) is None  # still running


def test_a_failed_task_has_no_gib_per_minute_in_its_ending() -> None:
    """It stored only part of its snapshots: its size over its time would overstate it."""
    from amimon.history import Ending, describe

    end = Ending(at(-11), at(-1), at(0))
    assert "GiB/min" in describe(end, "Completed", 250)
    words = describe(end, "Failed", 250)
    assert words.startswith("failed ≈") and "took" in words and "GiB/min" not in words


def test_the_demo_keeps_one_history_whatever_port_its_simulator_took() -> None:
    from amimon.history.write import endpoint_text

    assert endpoint_text("http://127.0.0.1:41263") == endpoint_text("http://127.0.0.1:39325")
    assert endpoint_text("http://localhost:8080/") == "http://localhost/"
    assert endpoint_text("https://ec2.us-east-1.amazonaws.com:443") == (
        "https://ec2.us-east-1.amazonaws.com:443"
    )
    assert endpoint_text("https://user:secret@vpce.example:8443") == "https://vpce.example:8443"

"""History end to end: the simulator polled and recorded, a restart, ``amimon history``."""

from __future__ import annotations

import csv
import io
import json
from datetime import timedelta
from pathlib import Path

import pytest

from amimon.cli import main
from amimon.config import Config, ConfigError, parse_config
from amimon.context import history_path, make_context
from amimon.estimate import estimate
from amimon.history import HistoryStore, poll_rows, seed
from amimon.reducer import MonitorState, TaskAppeared, reduce
from amimon.schedule import planner
from amimon.sim import DEMO_CREDENTIALS, Scenario, SimServer, TaskSpec
from tests.factories import EAST, T0, at, snap, task
from tests.simulator import ami, clock, running, source, target

MINUTE = timedelta(minutes=1)
# Text XML can carry that a terminal would act on: markup, a bidi override, a newline.
HOSTILE = "[bold]KMS key[/bold] disabled\u202e by\u200b policy\nsecond line"
DONE = TaskSpec(ami(1), "archive", -5 * MINUTE, 10 * MINUTE)
FAILS = TaskSpec(ami(2), "dr[x]", -5 * MINUTE, 10 * MINUTE, fail_at=80, reason=HOSTILE)
LONG = TaskSpec(ami(3), "archive", -30 * MINUTE, 180 * MINUTE)


@pytest.fixture(autouse=True)
def creds(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", DEMO_CREDENTIALS[0])
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", DEMO_CREDENTIALS[1])


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "history.sqlite3"


def watch(
    server: SimServer, store: HistoryStore, state: MonitorState, minutes: int
) -> MonitorState:
    """What the monitor's poll worker does, once a minute of simulated time."""
    src = source(server)
    try:
        for _ in range(minutes):
            now = clock(server).now()
            snapshot = src.fetch(planner(state))
            assert not snapshot.failures
            before = state
            state, _ = reduce(before, snapshot, now)
            assert store.write(poll_rows(before, state, now))
            clock(server).advance(60)
    finally:
        src.close()
    return state


def history(path: Path, *args: str) -> int:
    return main(["history", "--history", str(path), *args])


def test_history_lists_tasks_the_simulator_no_longer_returns(
    path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with running(Scenario((DONE, FAILS))) as server:
        store = HistoryStore.open(path, warn=pytest.fail, now=T0)
        state = watch(server, store, MonitorState(), minutes=8)
        assert {t.task.state for t in state.tasks.values()} == {"Completed", "Failed"}
        clock(server).advance(timedelta(days=32))
        src = source(server)
        assert src.fetch().tasks == ()  # out of AWS's 31-day window
        src.close()
        store.close()
    assert history(path) == 0
    out = capsys.readouterr().out
    assert ami(1) in out and ami(2) in out
    assert "Completed" in out and "Failed" in out
    assert "\u202e" not in out and "\u200b" not in out and "[bold]KMS key[/bold]" in out
    assert "archive: 1 task (1 completed, 0 failed)" in out
    assert "dr[x]: 1 task (0 completed, 1 failed)" in out

    assert history(path, "-o", "json") == 0
    doc = json.loads(capsys.readouterr().out)
    done = next(t for t in doc["Tasks"] if t["AmiId"] == ami(1))
    # Completed at T0+5m: the window is the minute between the polls around it.
    assert (done["EndedAfter"], done["EndedBy"]) == (
        "2026-11-27T12:04:00.000Z",
        "2026-11-27T12:05:00.000Z",
    )
    assert done["DurationSeconds"] == 9.5 * 60 and done["GiBPerMinute"] is None
    failed = next(t for t in doc["Tasks"] if t["AmiId"] == ami(2))
    assert failed["StoreTaskFailureReason"] == HOSTILE  # JSON carries the exact text
    assert {b["Bucket"] for b in doc["Buckets"]} == {"archive", "dr[x]"}


def test_history_filters(path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with running(Scenario((DONE, FAILS))) as server:
        store = HistoryStore.open(path, now=T0)
        watch(server, store, MonitorState(), minutes=8)
        store.close()
    capsys.readouterr()

    def amis(*args: str) -> list[str]:
        assert history(path, "-o", "csv", *args) == 0
        return [row["AmiId"] for row in csv.DictReader(io.StringIO(capsys.readouterr().out))]

    assert sorted(amis()) == [ami(1), ami(2)]
    assert amis("--bucket", "archive") == [ami(1)]
    assert amis("--state", "failed") == [ami(2)]
    assert amis("--state", "InProgress") == []
    assert sorted(amis("--since", "2026-11-27T11:00")) == [ami(1), ami(2)]
    assert amis("--since", "2026-11-27T13:00") == []
    assert amis("--region", "eu-west-1") == []
    assert amis("--image-ids", ami(2)) == [ami(2)]


def test_a_restart_against_the_simulator_has_the_eta_before_the_first_poll(
    path: Path,
) -> None:
    with running(Scenario((LONG,))) as server:
        store = HistoryStore.open(path, now=T0)
        live = watch(server, store, MonitorState(), minutes=12)
        store.close()
        # amimon exits and starts again (five minutes later): nothing polled yet.
        clock(server).advance(5 * 60)
        store = HistoryStore.open(path, warn=pytest.fail, now=clock(server).now())
        seeded = seed(store, [target(server)], now=clock(server).now())
        (tracked,) = seeded.tasks.values()
        as_of = seeded.seen_at(target(server))
        first_frame = estimate(tracked, as_of)
        assert first_frame.rate is not None and first_frame.eta_at is not None
        before_exit = estimate(live.tasks[tracked.key], live.seen_at(target(server)))
        assert first_frame.eta_at == pytest.approx(before_exit.eta_at, abs=timedelta(minutes=2))
        # The first poll is a full listing, and the task is not news.
        state = watch(server, store, seeded, minutes=1)
        assert state.polls == 1 and tracked.key in state.tasks
        store.close()


def test_a_restarted_monitor_reports_no_task_as_new(path: Path) -> None:
    store = HistoryStore.open(path, now=T0)
    listing = snap(task("ami-00000001", 40), task("ami-00000002", 100, "Completed"))
    state, _ = reduce(MonitorState(), listing, at(0))
    store.write(poll_rows(MonitorState(), state, at(0)))
    seeded = seed(store, [EAST], now=at(1))
    _, events = reduce(seeded, listing, at(1))
    assert not [e for e in events if isinstance(e, TaskAppeared)]
    store.close()


# The command line ------------------------------------------------------------------------


def test_history_needs_no_region_and_creates_no_file(
    path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert history(path) == 0
    assert "no history yet" in capsys.readouterr().err
    assert not path.exists()


def test_history_off_is_an_error_in_one_line(
    path: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["history", "--no-history"]) == 2
    err = capsys.readouterr().err
    assert "history is off" in err and len(err.strip().splitlines()) == 1
    config = tmp_path / "config.toml"
    config.write_text("history = false\n")
    assert main(["history", "--config", str(config)]) == 2
    capsys.readouterr()
    # --history PATH turns it back on for this run.
    assert main(["history", "--config", str(config), "--history", str(path)]) == 0


def test_a_bad_since_is_a_usage_error(path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert history(path, "--since", "last tuesday") == 2
    assert "--since" in capsys.readouterr().err


def test_the_history_file_defaults_to_the_platform_state_dir() -> None:
    expected = Path.home() / ".local" / "state" / "amimon" / "history.sqlite3"
    assert history_path(Config()) == expected
    assert history_path(Config(history_path="~/h.sqlite3")) == Path.home() / "h.sqlite3"
    assert history_path(Config(history=False, history_path="/x")) is None


def test_the_demo_never_touches_the_users_history(tmp_path: Path) -> None:
    from_file = parse_config('history_path = "/should/not/be/used"\n', tmp_path / "c.toml")
    for config in (Config(), from_file):
        context = make_context(config, {}, demo=True)
        try:
            assert context.history_path is not None and context.scratch is not None
            assert context.history_path.parent == context.scratch
            assert context.history_path != history_path(Config())
        finally:
            context.close()
        assert not context.scratch.exists()
    # Only a path given on the command line is used.
    flag = from_file.with_overrides(history_path=str(tmp_path / "demo.sqlite3"))
    context = make_context(flag, {}, demo=True)
    context.close()
    assert context.history_path == tmp_path / "demo.sqlite3" and context.scratch is None


@pytest.mark.parametrize(
    ("text", "key", "words"),
    [
        ("history = 1\n", "history", "true or false"),
        ('history_path = ""\n', "history_path", "must not be empty"),
        ("history_days = 0\n", "history_days", "at least 1 day"),
        ('history_days = "400"\n', "history_days", "whole number"),
    ],
)
def test_history_keys_are_checked(tmp_path: Path, text: str, key: str, words: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config(text, tmp_path / "config.toml")
    assert (caught.value.key, caught.value.line) == (key, 1)
    assert words in str(caught.value)


def test_history_days_trims_at_start(path: Path, tmp_path: Path) -> None:
    store = HistoryStore.open(path, now=T0)
    old = task("ami-00000001", 100, "Completed", started=T0 - timedelta(days=500))
    state, _ = reduce(MonitorState(), snap(old), T0)
    store.write(poll_rows(MonitorState(), state, T0))
    store.close()
    config = tmp_path / "config.toml"
    config.write_text("history_days = 30\n")
    assert main(["history", "--config", str(config), "--history", str(path)]) == 0
    store = HistoryStore.open(path, now=T0)
    assert store.read(lambda c: c.execute("SELECT count(*) FROM tasks").fetchone()[0], -1) == 0
    store.close()

"""The reliability matrix (README, "Reliability"): faults, hostile text and long runs.

Each test is one row: what was tried, and what amimon does.
"""

from __future__ import annotations

import csv
import io
import json
import re
import tracemalloc
import unicodedata
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from amimon import logs, render
from amimon.aws import Ec2TaskSource, StaticCredentials
from amimon.aws.paging import RetryPolicy
from amimon.cli import main
from amimon.model import ErrorKind, Snapshot, Target, TargetPoll, parse_task
from amimon.reducer import DEFAULT_SETTINGS, MonitorState, reduce
from amimon.sim import DEMO_CREDENTIALS, FrozenClock, Scenario, SimServer, TaskSpec
from amimon.tui.app import AmimonApp
from amimon.tui.widgets.event_log import EventLog
from amimon.tui.widgets.task_table import TaskTable
from amimon.view import visible
from tests.factories import EAST, T0, at, snap, task
from tests.scenes import poll
from tests.simulator import ami, clock, running, target

HOSTILE = "\x1b[31m[bold]boom[/] [link=http://evil]x[/link]\x1b]8;;http://evil\x07\x07\x9b2J"
# What a terminal shows: every escape and control character as a visible placeholder.
SHOWN = render.safe(HOSTILE)
ONCE = RetryPolicy(attempts=1)


def two_tasks() -> Scenario:
    return Scenario(
        (
            TaskSpec(ami(1), "archive", -timedelta(minutes=5), timedelta(minutes=50)),
            TaskSpec(ami(2), "archive", -timedelta(days=1), timedelta(minutes=20)),
        )
    )


def monitor(server: SimServer, targets: list[Target] | None = None, **kw: Any) -> AmimonApp:
    kw.setdefault("burst", 1e9)
    src = Ec2TaskSource(
        targets or [target(server)], credentials=StaticCredentials(*DEMO_CREDENTIALS), **kw
    )
    return AmimonApp(
        src, src.targets, clock=clock(server).now, bell=False, auto_poll=False, interval=15
    )


def data_cells(app: AmimonApp) -> list[list[str]]:
    table = app.query_one(TaskTable)
    return [table.row_text(i)[:4] for i in range(len(table.keys))]


def event_lines(app: AmimonApp) -> str:
    return "\n".join(line.text for line in app.query_one(EventLog).lines)


class SkippedWaits:
    """The poller's timer with the waiting skipped: each delay moves the simulator's frozen
    clock (and the poller's monotonic clock) on, and the callback runs on the event loop at
    once. Minutes of backoff take a fraction of a second, through the app's own scheduling."""

    def __init__(self, server: SimServer) -> None:
        self.clock = clock(server)
        self.elapsed = 0.0
        self.until = float("inf")  # simulated seconds after which time stands still
        self.held: Any = None
        self.app: AmimonApp | None = None

    def monotonic(self) -> float:
        return self.elapsed

    def __call__(self, delay: float, callback: Any) -> Any:
        assert self.app is not None
        if self.elapsed + delay > self.until:
            self.held = (delay, callback)  # the poller waits here until released
            return self.app.set_timer(3600, lambda: None)
        self.elapsed += delay
        self.clock.advance(delay)
        return self.app.set_timer(0.001, callback)

    def release(self, until: float = float("inf")) -> None:
        self.until = until
        if self.held is not None:
            delay, callback = self.held
            self.held = None
            self(delay, callback)


def banner_text(app: AmimonApp) -> str:
    return str(app.query_one("#banner").render()) if app.query_one("#banner").display else ""


@pytest.mark.parametrize(
    ("fault", "words"),
    [
        ("throttle", "throttling"),
        ("expired", "Credentials expired"),
        ("invalid-credentials", "rejected the credentials"),
        ("unauthorized", "needs ec2:DescribeStoreImageTasks"),
        ("server-error", "server error"),
        ("unavailable", "server error"),
        ("malformed", "could not be read"),
        ("reset", "Network error"),
        ("slow", "Timed out"),
    ],
)
async def test_monitor_keeps_data_shows_the_fault_and_recovers(fault: str, words: str) -> None:
    with running(two_tasks()) as server:
        app = monitor(server, read_timeout=0.5, retry=ONCE)
        async with app.run_test(size=(160, 45)) as pilot:
            await poll(pilot, app)
            before = data_cells(app)
            server.inject(fault, delay=1.0)
            clock(server).advance(60)
            await poll(pilot, app)
            assert len(app.query_one(TaskTable).keys) == 2
            assert data_cells(app) == before  # AMI, bucket, state, progress: as last seen
            assert words in banner_text(app)
            assert "marked stale" in banner_text(app)
            assert "Traceback" not in banner_text(app)
            server.clear_faults()
            await poll(pilot, app)
            assert banner_text(app) == ""
            assert app.state.stale_since is None


async def test_endpoint_down_then_back() -> None:
    with running(two_tasks()) as server:
        app = monitor(server, retry=ONCE)
        port = server.port
        async with app.run_test(size=(160, 45)) as pilot:
            await poll(pilot, app)
            server.stop()
            await poll(pilot, app)
            assert {f.failure.kind for f in app.state.failures.values()} == {ErrorKind.NETWORK}
            assert "Could not connect" in banner_text(app) or "Network error" in banner_text(app)
            assert len(app.query_one(TaskTable).keys) == 2
            with SimServer(two_tasks(), FrozenClock(T0), port=port):
                await poll(pilot, app)
                assert banner_text(app) == ""


async def test_a_slow_poll_never_overlaps_and_the_ui_stays_responsive() -> None:
    with running(two_tasks()) as server:
        app = monitor(server, read_timeout=5, retry=ONCE)
        async with app.run_test(size=(160, 45)) as pilot:
            await poll(pilot, app)
            server.reset_counts()
            server.inject("slow", times=1, delay=1.5)
            app.poll_now()
            await pilot.pause(0.2)
            assert app.polling
            await pilot.press("r")  # refused: one poll at a time
            await pilot.press("s")  # the UI answers while the poll waits
            assert app.task_filter.states == {"InProgress"}
            for _ in range(100):  # the slow response takes 1.5 s
                if not app.polling:
                    break
                await pilot.pause(0.05)
            assert not app.polling
            assert server.requests["DescribeStoreImageTasks"] == 1


async def test_one_region_failing_while_the_other_keeps_updating() -> None:
    specs = (
        TaskSpec(ami(1), "a", -timedelta(minutes=5), timedelta(minutes=50)),
        TaskSpec(ami(2), "b", -timedelta(minutes=5), timedelta(minutes=50), region="eu-west-1"),
    )
    with running(Scenario(specs)) as server:
        targets = [target(server), target(server, "eu-west-1")]
        app = monitor(server, targets, retry=ONCE)
        async with app.run_test(size=(160, 45)) as pilot:
            await poll(pilot, app)
            server.inject("unauthorized", region="eu-west-1")
            clock(server).advance(300)
            await poll(pilot, app)
            progress = {t.task.ami_id: t.task.progress for t in app.state.tasks.values()}
            assert progress == {ami(1): 20, ami(2): 10}  # east moved on, west kept
            assert "eu-west-1" in banner_text(app) and "us-east-1" not in banner_text(app)


async def test_a_throttling_storm_backs_off_within_the_policy_and_recovers() -> None:
    """Half an hour of throttling through the app's own poller and timer (waits skipped)."""
    with running(two_tasks()) as server:
        waits = SkippedWaits(server)
        src = Ec2TaskSource(
            [target(server)],
            credentials=StaticCredentials(*DEMO_CREDENTIALS),
            retry=ONCE,
            burst=1e9,
        )
        app = AmimonApp(
            src,
            src.targets,
            clock=clock(server).now,
            bell=False,
            interval=15,
            timers=waits,
            monotonic=waits.monotonic,
        )
        waits.app = app
        async with app.run_test(size=(160, 45)) as pilot:
            waits.until = 0  # hold the second poll until the storm has begun
            await poll_count(pilot, app, 1)
            server.inject("throttle")
            server.reset_counts()
            polls = app.state.polls
            waits.release(until=1800)  # half an hour of simulated time, then it stands still
            for _ in range(500):
                if waits.held is not None and not app.polling:
                    break
                await pilot.pause(0.01)
            storm = app.state.polls - polls
            delays = app.poller.delays[-storm:]
            # 30 minutes at 15 s would be 120 polls; backing off to the 5-minute cap, ~10.
            assert 6 <= storm <= 14, delays
            assert server.requests["DescribeStoreImageTasks"] == storm  # one request per poll
            assert max(delays) <= 300 and delays[-1] >= 150
            assert "backing off" in banner_text(app) or "throttling" in banner_text(app)
            assert "Retrying in" in banner_text(app)
            server.clear_faults()
            before = app.state.polls
            waits.release()
            await poll_count(pilot, app, before + 2)
            assert app.state.throttled_polls == 0 and app.state.stale_since is None
            assert app.poller.delays[-1] == 15  # back to the interval
            assert banner_text(app) == ""


async def poll_count(pilot: Any, app: AmimonApp, polls: int) -> None:
    """Wait (bounded) until ``polls`` polls have been folded in and none runs."""
    for _ in range(500):
        if app.state.polls >= polls and not app.polling:
            break
        await pilot.pause(0.01)
    assert app.state.polls >= polls


async def test_vanishing_backwards_and_unknown_state_tasks_do_not_break_the_monitor() -> None:
    from tests.test_tui import FakeSource

    polls = [
        snap(task("ami-00000001", 50), task("ami-00000002", 10)),
        snap(task("ami-00000001", 40), task("ami-00000002", 10)),  # backwards
        snap(task("ami-00000001", 40, "Paused")),  # unknown state; 2 vanished
    ]
    app = AmimonApp(FakeSource(*polls), [EAST], clock=lambda: at(0), bell=False)
    app.auto_poll = False
    async with app.run_test(size=(160, 45)) as pilot:
        for _ in polls:
            await poll(pilot, app)
        rows = data_cells(app)
        assert sorted(r[2] for r in rows) == ["Paused", "gone"]
        log = event_lines(app)
        assert "InProgress → Paused" in log and "no longer returned" in log


# Hostile text -----------------------------------------------------------------------


def hostile_task() -> Any:
    item = {
        "AmiId": "ami-0000000f",
        "TaskStartTime": T0,
        "Bucket": "b\x1b[2Jx",
        "S3objectKey": "k\x1b]0;title\x07.bin",
        "ProgressPercentage": 30,
        "StoreTaskState": "Failed",
        "StoreTaskFailureReason": HOSTILE,
    }
    return parse_task(item, EAST)


async def test_hostile_text_in_event_log_and_notifications_is_literal() -> None:
    from tests.test_tui import FakeSource

    running_task = task("ami-0000000f", 30, bucket="bx")
    app = AmimonApp(
        FakeSource(snap(running_task), snap(hostile_task())), [EAST], clock=lambda: T0, bell=False
    )
    app.auto_poll = False
    async with app.run_test(size=(160, 45)) as pilot:
        await poll(pilot, app)
        await poll(pilot, app)
        log = event_lines(app)
        notes = [n.message for n in app._notifications]
        for shown in (log, *notes):
            assert "\x1b" not in shown and "\x07" not in shown
        assert any(SHOWN in n for n in notes)
        # The log wraps long lines: read it back as one text.
        assert SHOWN in "".join(line.text for line in app.query_one(EventLog).lines)


@pytest.fixture
def hostile_source(monkeypatch: pytest.MonkeyPatch) -> None:
    def fetch(self: Ec2TaskSource, plan: object = None, on_page: object = None) -> Snapshot:
        return Snapshot((TargetPoll(EAST, (hostile_task(),)),))

    monkeypatch.setattr(Ec2TaskSource, "fetch", fetch)


@pytest.mark.parametrize("output", ["table", "json", "csv"])
def test_hostile_text_in_list_output_is_literal(
    hostile_source: None, capsys: pytest.CaptureFixture[str], output: str
) -> None:
    assert main(["list", "--region", "us-east-1", "-o", output]) == 0
    out = capsys.readouterr().out
    if output == "json":
        # Exactly the API's string once parsed, yet nothing a terminal would act on.
        assert "\x1b" not in out and "\x07" not in out and "\x9b" not in out
        reason = json.loads(out)["StoreImageTaskResults"][0]["StoreTaskFailureReason"]
        assert reason == HOSTILE
    elif output == "csv":
        (row,) = list(csv.DictReader(io.StringIO(out)))
        assert row["StoreTaskFailureReason"] == HOSTILE
        assert row["Bucket"] == "b\x1b[2Jx"
    else:
        assert "\x1b" not in out and "\x07" not in out and "\x9b" not in out
        assert SHOWN in out


@settings(max_examples=300, deadline=None)
@given(
    st.dictionaries(
        st.sampled_from(
            [
                "AmiId",
                "TaskStartTime",
                "Bucket",
                "S3objectKey",
                "S3ObjectKey",
                "ProgressPercentage",
                "StoreTaskState",
                "StoreTaskFailureReason",
                "Other",
            ]
        ),
        st.one_of(
            st.none(),
            st.text(),
            st.integers(),
            st.booleans(),
            st.datetimes(timezones=st.just(T0.tzinfo)),
            st.lists(st.integers(), max_size=3),
        ),
    )
)
def test_the_task_parser_takes_anything_keeps_strings_and_shows_no_control_characters(
    item: dict[str, object],
) -> None:
    parsed = parse_task(item, EAST)
    if isinstance(item.get("StoreTaskFailureReason"), str):
        assert parsed.failure_reason == item["StoreTaskFailureReason"]
    hidden = {"Cc", "Cf", "Zl", "Zp", "Cs"}
    for text in (parsed.ami_id, parsed.bucket, parsed.object_key, parsed.state):
        assert not any(unicodedata.category(ch) in hidden for ch in render.safe(text))
    assert parsed.percent is None or 0 <= parsed.percent <= 100


# Long runs --------------------------------------------------------------------------


def churn(hours: int, per_poll_minutes: float = 0.25) -> Iterator[tuple[Any, Snapshot]]:
    """1,000 tasks; every 2 minutes the 10 oldest leave and 10 new ones start (the whole
    window turns over in under 4 hours); the 10 newest are running and move every minute."""
    polls = int(hours * 60 / per_poll_minutes)
    for i in range(polls):
        minute = i * per_poll_minutes
        first = int(minute // 2) * 10
        tasks = []
        for n in range(first, first + 1000):
            started = at(n // 10 * 2 - 200)
            if n >= first + 990:
                tasks.append(task(ami(n), int(minute) % 100, started=started))
            else:
                tasks.append(task(ami(n), 100, "Completed", started=started))
        yield at(minute), Snapshot((TargetPoll(EAST, tuple(tasks)),))


def test_24_hours_of_polling_keeps_memory_bounded() -> None:
    tracemalloc.start()
    state = MonitorState()
    curve = []
    try:
        for i, (now, snapshot) in enumerate(churn(24, per_poll_minutes=1.0)):
            state, _ = reduce(state, snapshot, now)
            visible(state)
            if i % 60 == 0:  # hourly
                curve.append(tracemalloc.get_traced_memory()[0])
    finally:
        tracemalloc.stop()
    # Vanished tasks are forgotten after an hour: 1,000 live plus an hour of leavers.
    leavers_per_hour = 10 * 30
    assert len(state.tasks) <= 1000 + leavers_per_hour + 10
    assert all(len(t.samples) <= DEFAULT_SETTINGS.max_samples for t in state.tasks.values())
    # Once the window has turned over (4 h), memory stays within 5% for the other 20 hours.
    settled = curve[4:]
    assert max(settled) <= 1.05 * min(settled), curve


async def test_the_event_log_is_capped() -> None:
    from tests.test_tui import FakeSource

    app = AmimonApp(FakeSource(snap()), [EAST], clock=lambda: T0, bell=False)
    app.auto_poll = False
    async with app.run_test(size=(160, 45)) as pilot:
        await pilot.pause()  # the log is mounted after the first frame
        log = app.query_one(EventLog)
        for n in range(1200):
            log.write(f"line {n}")
        await pilot.pause()
        assert len(log.lines) <= 500


# Logging ----------------------------------------------------------------------------


def test_failed_calls_are_logged_with_their_request_id(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", DEMO_CREDENTIALS[0])
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", DEMO_CREDENTIALS[1])
    with running(two_tasks()) as server:
        server.inject("unauthorized")
        code = main(["list", "--endpoint-url", server.url, "--region", "us-east-1"])
    assert code == 4
    text = (logs.log_dir() / logs.LOG_NAME).read_text()
    # The message too, not just the kind (issue 10 #10: no more "network (code=None ...)").
    assert re.search(
        r"permission: Not permitted \(us-east-1\): the identity needs "
        r"ec2:DescribeStoreImageTasks.*\(code=UnauthorizedOperation request_id=[0-9a-f-]{36}\)",
        text,
    )
    assert DEMO_CREDENTIALS[1] not in text


def test_an_unknown_profile_is_one_line_and_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["list", "--profile", "no-such-profile", "--region", "us-east-1"]) == 2
    err = capsys.readouterr().err
    assert "'no-such-profile'" in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1

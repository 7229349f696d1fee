"""The monitor with AMI details, the store quota, retried failures, alerts and history:
the real app driven by Pilot against the simulator over loopback, as a user sees it."""

from __future__ import annotations

import json
import sys
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

from amimon.alerts import AlertRunner
from amimon.derive import retry_command
from amimon.enrich import AfterPoll
from amimon.history import HistoryStore, seed
from amimon.sim import FrozenClock, Scenario, SimServer, TaskSpec
from amimon.tui.app import AmimonApp
from amimon.tui.widgets.detail import Detail
from amimon.tui.widgets.event_log import EventLog
from amimon.tui.widgets.filter_bar import FilterBar
from amimon.tui.widgets.header import Header
from amimon.tui.widgets.task_table import TaskTable
from tests.factories import T0
from tests.simulator import ami, source, target

M = timedelta(minutes=1)


def scenario(*extra: TaskSpec) -> Scenario:
    return Scenario(
        (
            TaskSpec(ami(1), "archive", -10 * M, 40 * M),
            TaskSpec(ami(2), "archive", -3 * 24 * 60 * M, 60 * M, fail_at=30, reason="denied"),
            TaskSpec(ami(2), "archive", -60 * M, 20 * 60 * M),  # stored again since
            TaskSpec(ami(3), "dr", -2 * 24 * 60 * M, 60 * M, fail_at=10, reason="gone"),
            *extra,
        )
    )


@asynccontextmanager
async def monitor(
    server: SimServer,
    *,
    store: HistoryStore | None = None,
    size: tuple[int, int] = (220, 60),
    **kwargs: Any,
) -> AsyncIterator[tuple[AmimonApp, Any]]:
    clock = server.clock
    assert isinstance(clock, FrozenClock)
    src = source(server)
    targets = [target(server)]
    app = AmimonApp(
        src,
        targets,
        interval=60,
        clock=clock.now,
        bell=False,
        auto_poll=False,
        after_poll=AfterPoll(src, store),
        state=seed(store, targets, now=clock.now()) if store is not None else None,
        **kwargs,
    )
    async with app.run_test(size=size) as pilot:
        yield app, pilot


async def poll(app: AmimonApp, pilot: Any) -> None:
    before = app.state.polls
    assert app.poller.poll_now()
    for _ in range(500):
        if app.state.polls > before and not app.polling:
            break
        await pilot.pause(0.02)
    await pilot.pause()


def row_of(app: AmimonApp, ami_id: str, state: str | None = None) -> str:
    table = app.query_one(TaskTable)
    for i, key in enumerate(table.keys):
        tracked = app.state.tasks[key]
        if key.ami_id == ami_id and (state is None or tracked.task.state == state):
            return " ".join(table.row_text(i))
    raise AssertionError(f"no row for {ami_id}")


def status_line(app: AmimonApp) -> str:
    bar = app.query_one(FilterBar)
    return str(bar._status)


async def test_names_sizes_speed_and_the_quota_gauge_reach_the_screen() -> None:
    with SimServer(scenario(), FrozenClock(T0)) as server:
        async with monitor(server) as (app, pilot):
            await poll(app, pilot)
            image = app.state.images[(target(server), ami(1))]
            assert image.name and image.size_gib
            row = row_of(app, ami(1))
            assert image.name in row and f"{image.size_gib:,} GiB" in row
            running = [
                app.state.images[(target(server), t.task.ami_id or "")].size_gib or 0
                for t in app.state.tasks.values()
                if t.task.state == "InProgress"
            ]
            assert f"quota {sum(running):,}/1,200 GiB" in status_line(app)
            # The name is searchable with /.
            await pilot.press("slash", *image.name[:12])
            await pilot.pause()
            table = app.query_one(TaskTable)
            assert [k.ami_id for k in table.keys] == [ami(1)]


async def test_the_quota_warns_from_80_percent_of_store_quota_gb() -> None:
    with SimServer(scenario(), FrozenClock(T0)) as server:
        async with monitor(server, quota_gib=1) as (app, pilot):
            await poll(app, pilot)
            info = app.display_.header_info(app.clock())
            assert info.quota and all(g.warning and g.full for g in info.quota)
            assert "/1 GiB" in status_line(app)


async def test_a_failure_stored_again_is_dimmed_and_counted_apart() -> None:
    with SimServer(scenario(), FrozenClock(T0)) as server:
        async with monitor(server) as (app, pilot):
            await poll(app, pilot)
            tally = dict(app.query_one(Header).info.tally)
            assert tally["Failed"] == 1 and tally["retried"] == 1
            table = app.query_one(TaskTable)
            assert {k.ami_id for k in table.painter.retried} == {ami(2)}


async def test_a_copies_the_command_that_stores_a_failed_ami_again() -> None:
    with SimServer(scenario(), FrozenClock(T0)) as server:
        async with monitor(server) as (app, pilot):
            await poll(app, pilot)
            table = app.query_one(TaskTable)
            await pilot.press("a")  # a running task is selected: nothing to retry
            assert app.clipboard == ""
            index = next(i for i, k in enumerate(table.keys) if k.ami_id == ami(3))
            table.move_cursor(index)
            await pilot.press("a")
            tracked = app.state.tasks[table.keys[index]]
            assert app.clipboard == retry_command(tracked)
            assert app.clipboard.startswith("aws ec2 create-store-image-task --image-id ")
            assert "--bucket dr" in app.clipboard
            detail = app.query_one(Detail)
            assert "Press a to copy" in detail.text.plain


async def test_without_describe_images_the_monitor_says_once_and_goes_on() -> None:
    with SimServer(scenario(), FrozenClock(T0)) as server:
        server.inject("unauthorized", action="DescribeImages")
        async with monitor(server) as (app, pilot):
            await poll(app, pilot)
            await poll(app, pilot)
            log = "\n".join(line.text for line in app.query_one(EventLog).lines)
            assert log.count("need ec2:DescribeImages (optional)") == 1
            toasts = [n.message for n in app._notifications]
            assert sum("ec2:DescribeImages" in m for m in toasts) == 1
            assert len(app.state.tasks) == 4 and "quota" not in status_line(app)
            assert server.requests["DescribeImages"] == 1  # not asked again


async def test_a_stall_toasts_once_and_runs_on_event(tmp_path: Path) -> None:
    out = tmp_path / "events.jsonl"
    script = tmp_path / "hook.py"
    script.write_text(
        "import json, os, sys\n"
        f"with open({str(out)!r}, 'a') as f:\n"
        "    keys = ('AMIMON_EVENT', 'AMIMON_AMI_ID', 'AMIMON_AMI_NAME', 'AMIMON_STATE')\n"
        "    f.write(json.dumps({k: os.environ[k] for k in keys}) + '\\n')\n"
    )
    runner = AlertRunner([sys.executable, str(script)], timeout=20)
    stuck = TaskSpec(ami(9), "dr", -5 * M, 1000 * 60 * M)  # 1% every 10 hours
    with SimServer(scenario(stuck), FrozenClock(T0)) as server:
        clock = server.clock
        assert isinstance(clock, FrozenClock)
        async with monitor(server, alert_runner=runner) as (app, pilot):
            for _ in range(40):  # 40 minutes of polls without progress
                await poll(app, pilot)
                clock.advance(60)
            runner.close(wait=True)
            toasts = [n.message for n in app._notifications if n.title == "Store task stalled"]
            assert len(toasts) == 1 and ami(9) in toasts[0]
    seen = [json.loads(line) for line in out.read_text().splitlines()]
    stalls = [e for e in seen if e["AMIMON_EVENT"] == "stalled"]
    assert [e["AMIMON_AMI_ID"] for e in stalls] == [ami(9)]
    assert stalls[0]["AMIMON_AMI_NAME"]  # the name from DescribeImages, looked up first


def wait_for(condition: Callable[[], bool], seconds: float = 10) -> None:
    deadline = time.monotonic() + seconds
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.02)
    assert condition()


async def test_a_restarted_monitor_has_the_eta_on_its_first_frame(tmp_path: Path) -> None:
    path = tmp_path / "history.sqlite3"
    with SimServer(scenario(), FrozenClock(T0)) as server:
        clock = server.clock
        assert isinstance(clock, FrozenClock)
        store = HistoryStore.open(path, now=clock.now())
        async with monitor(server, store=store) as (app, pilot):
            for _ in range(6):
                await poll(app, pilot)
                clock.advance(60)
        store.close()
        clock.advance(30)  # the monitor was off for half a minute

        store = HistoryStore.open(path, now=clock.now())
        async with monitor(server, store=store) as (app, pilot):
            await pilot.pause()
            assert app.poller.started == 0  # the first frame: no poll has run
            row = row_of(app, ami(1))
            eta = app.query_one(TaskTable).painter.estimate(
                next(t for t in app.state.tasks.values() if t.task.ami_id == ami(1))
            )[0]
            assert eta.eta_at is not None and not eta.from_history
            assert "…" not in row
        store.close()


async def test_a_new_task_gets_an_eta_from_its_buckets_history(tmp_path: Path) -> None:
    path = tmp_path / "history.sqlite3"
    # A task in "dr" completes while watched; another starts there 5 minutes later.
    first = TaskSpec(ami(7), "dr", -10 * M, 12 * M)
    later = TaskSpec(ami(8), "dr", 5 * M, 30 * M)
    with SimServer(scenario(first, later), FrozenClock(T0)) as server:
        clock = server.clock
        assert isinstance(clock, FrozenClock)
        store = HistoryStore.open(path, now=clock.now())
        async with monitor(server, store=store) as (app, pilot):
            for _ in range(5):  # T0 .. T0+4m: the first completes at T0+2m
                await poll(app, pilot)
                assert store.flush(10)
                clock.advance(60)
            clock.advance(60 + 20)  # T0+5m20s: the later task has just started
            await poll(app, pilot)
            tracked = next(t for t in app.state.tasks.values() if t.task.ami_id == ami(8))
            est = app.query_one(TaskTable).painter.estimate(tracked)[0]
            assert est.from_history and est.eta_at is not None
            assert "≈" in row_of(app, ami(8))
            table = app.query_one(TaskTable)
            table.move_cursor(table.keys.index(tracked.key))
            await pilot.press("enter")
            await pilot.pause()
            assert "estimate from this bucket's history" in app.query_one(Detail).text.plain
            # The task that completed says when, to within the poll window, and how fast.
            done = next(t for t in app.state.tasks.values() if t.task.ami_id == ami(7))
            table.move_cursor(table.keys.index(done.key))
            await pilot.pause()
            text = app.query_one(Detail).text.plain
            assert "Completed" in text and "≈" in text and "GiB/min" in text
        store.close()


def test_with_no_history_file_yet_sqlite_waits_for_the_first_poll(tmp_path: Path) -> None:
    """Nothing to read before the first frame: the file is made by the first poll."""
    from amimon.reducer import MonitorState

    path = tmp_path / "history.sqlite3"
    after = AfterPoll(None, None, opener=lambda: HistoryStore.open(path))
    assert not path.exists() and after.store is None
    after(MonitorState(), MonitorState(), T0)
    assert path.exists() and after.store is not None
    after.close()


async def test_at_80_columns_the_status_line_drops_the_sort_before_it_cuts_the_quota() -> None:
    """A filter at 80 columns: the status line said '… · Esc clears · quota' and cut the
    gauge's numbers off. The sort goes first (the header marks it), the gauge stays."""
    with SimServer(scenario(), FrozenClock(T0)) as server:
        async with monitor(server, size=(80, 24)) as (app, pilot):
            await poll(app, pilot)
            await pilot.press("s")  # InProgress
            await pilot.pause()
            line = status_line(app)
            assert line.startswith("InProgress tasks · 2 of 4 shown"), line
            assert "quota " in line and line.endswith("%)"), line
            assert "sorted by" not in line and len(line) <= 78
            await pilot.resize_terminal(160, 45)
            await pilot.pause()
            assert "sorted by started ↓ · Esc clears · quota" in status_line(app)


def test_an_amis_description_breaks_between_words_keeping_every_word() -> None:
    from amimon import render
    from amimon.tui.widgets.detail import break_words

    text = "PostgreSQL 14 primary with its data volume\x1b[31m and a-very-long-hyphenated-name"
    lines = break_words(text, 20)
    assert lines[:2] == ["PostgreSQL 14", "primary with its"]  # never "its da" / "ta"
    assert all(len(line) <= 20 for line in lines)
    safe = render.safe(text)  # the escape shown, not sent
    assert "".join(lines).replace(" ", "") == safe.replace(" ", "")  # nothing lost
    words = [line.split() for line in lines]
    assert all(any(w in ws for ws in words) for w in safe.split() if len(w) <= 20)

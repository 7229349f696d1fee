"""The monitor tells the truth under every flag and fault: filters from the command line hide
without forgetting, a poll that raises is a visible failure and the loop goes on, several
profiles and regions get their columns, long listings show page by page."""

from __future__ import annotations

import argparse
from datetime import timedelta
from typing import Any

import pytest

from amimon import render
from amimon.config import Config
from amimon.context import Context
from amimon.model import Snapshot, Target, TargetPoll
from amimon.sim import Scenario, TaskSpec
from amimon.tui import launch
from amimon.tui.app import AmimonApp
from amimon.tui.widgets.detail import Detail
from amimon.tui.widgets.event_log import EventLog
from amimon.tui.widgets.filter_bar import StateToggle
from amimon.tui.widgets.task_table import TaskTable
from amimon.view import TaskFilter
from tests.factories import EAST, at, snap, task
from tests.scenes import poll
from tests.simulator import ami, clock, running, source, target
from tests.test_tui import FakeSource, column, settle, shown

REASON = "Snapshot snap-0123 was deleted while the task ran.\nStore the AMI again."


def finishing() -> Scenario:
    """Two running tasks: one completes and one fails within the next minute."""
    return Scenario(
        (
            TaskSpec(ami(1), "archive", -timedelta(minutes=29), timedelta(minutes=30)),
            TaskSpec(ami(2), "dr", -timedelta(minutes=5), timedelta(minutes=10), 55, reason=REASON),
            TaskSpec(ami(3), "archive", -timedelta(days=2), timedelta(minutes=20)),
        )
    )


def events(app: AmimonApp) -> str:
    """The event log as one text (it wraps long lines at a space)."""
    return " ".join(line.text.strip() for line in app.query_one(EventLog).lines)


async def test_a_state_filter_hides_without_forgetting() -> None:
    """``--state InProgress``: the bar says so, and tasks that finish under the filter are
    followed to their end: toast, event line, reason in the panel, Completed/Failed after Esc."""
    with running(finishing()) as server:
        app = AmimonApp(
            source(server),
            [target(server)],
            clock=clock(server).now,
            bell=False,
            auto_poll=False,
            task_filter=TaskFilter(states=frozenset({"InProgress"})),
        )
        async with app.run_test(size=(160, 45)) as pilot:
            await poll(pilot, app)
            assert column(app, "AMI") == [ami(2), ami(1)]
            assert "InProgress tasks · 2 of 3 shown" in shown(app, "#filter-status")
            assert app.query_one(StateToggle).value == "InProgress"
            assert "state: InProgress" in shown(app, "#state")
            clock(server).advance(90)
            await poll(pilot, app)
            assert column(app, "AMI") == []
            notes = [n.message for n in app._notifications]
            assert any(ami(1) in n and "s3://archive/" in n for n in notes)
            assert f"{ami(2)}: {render.first_line(REASON)}" in notes
            log = events(app)
            assert f"{ami(1)} Completed" in log and f"{ami(2)} Failed: Snapshot snap-0123" in log
            await pilot.press("escape")
            states = dict(zip(column(app, "AMI"), column(app, "State"), strict=True))
            assert states == {ami(1): "Completed", ami(2): "Failed", ami(3): "Completed"}
            table = app.query_one(TaskTable)
            table.move_cursor(column(app, "AMI").index(ami(2)))
            await pilot.pause()
            body = app.query_one(Detail).text.plain
            assert REASON in body
            assert app.query_one(Detail).display


def test_filters_from_flags_and_config_open_the_filter_bar(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The monitor starts filtered as configured; the source still follows every task."""
    seen: dict[str, Any] = {}

    def fake_run(self: AmimonApp) -> None:
        seen["filter"] = self.task_filter
        seen["query"] = self.poller.source.source.query  # type: ignore[attr-defined]

    monkeypatch.setattr(AmimonApp, "run", fake_run)
    config = Config(regions=("us-east-1",), buckets=("archive",), states=("Failed", "InProgress"))
    context = Context(config=config, targets=(EAST,))
    assert launch.launch(argparse.Namespace(), context) == 0
    assert seen["filter"] == TaskFilter(frozenset({"archive"}), frozenset({"Failed", "InProgress"}))
    assert seen["query"].buckets == () and seen["query"].states == ()


async def test_several_profiles_and_regions_get_their_columns() -> None:
    a, b = Target("prod", "us-east-1"), Target("dr", "eu-west-1")
    listing = Snapshot(
        (
            TargetPoll(a, (task("ami-00000001", 40, target=a),)),
            TargetPoll(b, (task("ami-00000002", 100, "Completed", target=b, started=at(-5)),)),
        )
    )
    app = AmimonApp(FakeSource(listing), [a, b], clock=lambda: at(1), bell=False)
    async with app.run_test(size=(160, 45)) as pilot:
        await settle(pilot, app)
        assert app.query_one(TaskTable).header_text()[:3] == ["Profile", "Region", "AMI"]
        assert column(app, "Profile") == ["prod", "dr"]
        assert column(app, "Region") == ["us-east-1", "eu-west-1"]


class Raising(FakeSource):
    """A source whose first fetch raises (a bug, not an AWS error)."""

    def fetch(self, plan: object = None, on_page: object = None) -> Snapshot:
        if self.fetches == 0:
            self.fetches += 1
            raise RuntimeError("boom in the source")
        return super().fetch(plan, on_page)


async def wait_polls(pilot: Any, app: AmimonApp, started: int) -> None:
    for _ in range(300):
        if app.poller.started >= started and not app.polling:
            break
        await pilot.pause(0.02)
    await pilot.pause()


async def test_a_fetch_that_raises_is_a_failure_and_the_apps_timer_polls_again() -> None:
    app = AmimonApp(Raising(snap(task())), [EAST], clock=lambda: at(0), bell=False, interval=0.3)
    async with app.run_test(size=(160, 45)) as pilot:
        await wait_polls(pilot, app, 1)
        assert "Internal error while polling: RuntimeError: boom in the source" in shown(
            app, "#banner"
        )
        assert "Poll failed: unknown: Internal error" in events(app)
        await wait_polls(pilot, app, 2)  # the app's own timer, no key pressed
        assert not app.query_one("#banner").display
        assert column(app, "AMI") == ["ami-00000001"]


async def test_a_reduce_or_a_handler_that_raises_once_does_not_stop_the_loop(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from amimon import reducer
    from amimon.tui import alerts

    calls = {"reduce": 0, "notify": 0}
    real_reduce, real_notify = reducer.reduce, alerts.notify_finished

    def reduce_once(*args: Any, **kwargs: Any) -> Any:
        calls["reduce"] += 1
        if calls["reduce"] == 1:
            raise ValueError("reduce broke")
        return real_reduce(*args, **kwargs)

    def notify_once(*args: Any, **kwargs: Any) -> Any:
        calls["notify"] += 1
        if calls["notify"] == 1:
            raise KeyError("handler broke")
        return real_notify(*args, **kwargs)

    monkeypatch.setattr(reducer, "reduce", reduce_once)
    monkeypatch.setattr(alerts, "notify_finished", notify_once)
    app = AmimonApp(FakeSource(snap(task())), [EAST], clock=lambda: at(0), bell=False, interval=0.2)
    async with app.run_test(size=(160, 45)) as pilot:
        await wait_polls(pilot, app, 4)
        # Each failure showed as a failed poll (banner and event line), in turn.
        assert "Internal error while polling: ValueError: reduce broke" in events(app)
        assert "Internal error while polling: KeyError: 'handler broke'" in events(app)
        assert not app.query_one("#banner").display
        assert column(app, "AMI") == ["ami-00000001"]


async def test_a_long_first_listing_shows_rows_page_by_page(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    specs = tuple(
        TaskSpec(ami(n), "archive", -timedelta(hours=n + 1), timedelta(minutes=20))
        for n in range(450)
    )
    with running(Scenario(specs)) as server:
        app = AmimonApp(
            source(server), [target(server)], clock=clock(server).now, bell=False, auto_poll=False
        )
        pages: list[tuple[str, int]] = []
        original = AmimonApp.on_poll_page

        def spy(self: AmimonApp, message: Any) -> None:
            original(self, message)
            pages.append((shown(self, "#header"), len(self.query_one(TaskTable).keys)))

        monkeypatch.setattr(AmimonApp, "on_poll_page", spy)
        async with app.run_test(size=(160, 45)) as pilot:
            await poll(pilot, app)
            # Rows showed as the pages came, while the header said how far the load was.
            assert pages and all("loading…" in header for header, _ in pages)
            assert any(rows in (200, 400) and f"{rows} tasks" in h for h, rows in pages)
            assert len(app.query_one(TaskTable).keys) == 450
            assert "450 tasks" in shown(app, "#header")

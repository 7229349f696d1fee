"""The monitor driven by Pilot: a fake source and a fixed clock, reading back what shows."""

from __future__ import annotations

from datetime import datetime

import pytest
from textual.widgets import Static

from amimon.model import ErrorKind, PollFailure, Snapshot, StoreTask
from amimon.tui.app import AmimonApp, HelpScreen
from amimon.tui.table import TaskTable
from tests.factories import EAST, T0, at, failed_poll, snap, task

MARKUP = "[bold red]KMS key[/] [link=https://evil.example]click[/link] is disabled [/]"


class FakeSource:
    """Answers with the next scripted snapshot (the last one repeats); counts fetches."""

    def __init__(self, *snapshots: Snapshot) -> None:
        self.snapshots = list(snapshots)
        self.fetches = 0

    def fetch(self, plan: object = None, on_page: object = None) -> Snapshot:
        self.fetches += 1
        if len(self.snapshots) > 1:
            return self.snapshots.pop(0)
        return self.snapshots[0]


class Clock:
    def __init__(self, now: datetime = T0) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def three() -> Snapshot:
    return snap(
        task("ami-00000001", 40, "InProgress", bucket="archive", started=at(-10)),
        task("ami-00000002", 100, "Completed", bucket="archive", started=at(-60)),
        task("ami-00000003", 17, "Failed", bucket="dr-bucket", reason=MARKUP, started=at(-30)),
    )


def make(*snapshots: Snapshot, clock: Clock | None = None) -> tuple[AmimonApp, FakeSource]:
    source = FakeSource(*snapshots)
    app = AmimonApp(source, [EAST], interval=60, clock=clock or Clock(), bell=False)
    return app, source


async def settle(pilot: object, app: AmimonApp, polls: int = 1) -> None:
    for _ in range(200):
        if app.state.polls >= polls and not app.polling:
            break
        await pilot.pause(0.02)  # type: ignore[attr-defined]
    await pilot.pause()  # type: ignore[attr-defined]


def rows(app: AmimonApp) -> list[list[str]]:
    table = app.query_one(TaskTable)
    return [[cell.plain for cell in table.get_row_at(i)] for i in range(table.row_count)]


def shown(app: AmimonApp, selector: str) -> str:
    widget = app.query_one(selector, Static)
    return str(widget.render())


async def test_first_frame_shows_loading_before_any_fetch() -> None:
    app, source = make(three())
    app.auto_poll = False
    async with app.run_test(size=(160, 45)):
        assert source.fetches == 0
        assert "loading" in shown(app, "#header")
        assert "Loading store tasks from us-east-1" in shown(app, "#empty")


async def test_a_poll_fills_the_table_newest_first() -> None:
    app, _ = make(three())
    async with app.run_test(size=(160, 45)) as pilot:
        await settle(pilot, app)
        table = rows(app)
        assert [r[0] for r in table] == ["ami-00000001", "ami-00000003", "ami-00000002"]
        assert table[0][2] == "InProgress" and table[0][3].endswith("40%")
        assert "3 tasks: 1 running · 1 done · 1 failed" in shown(app, "#header")
        assert "updated 0s ago" in shown(app, "#header")


async def test_r_polls_now_and_p_pauses() -> None:
    app, source = make(three())
    async with app.run_test(size=(160, 45)) as pilot:
        await settle(pilot, app)
        await pilot.press("r")
        await settle(pilot, app, polls=2)
        assert source.fetches == 2
        await pilot.press("p")
        assert app.paused and "PAUSED" in shown(app, "#header")
        await pilot.press("p")
        await settle(pilot, app, polls=3)
        assert not app.paused and source.fetches == 3


async def test_s_cycles_the_state_filter_and_escape_clears_it() -> None:
    app, _ = make(three())
    async with app.run_test(size=(160, 45)) as pilot:
        await settle(pilot, app)
        await pilot.press("s", "s", "s")  # all -> InProgress -> Completed -> Failed
        assert [r[0] for r in rows(app)] == ["ami-00000003"]
        assert "Failed tasks · 1 of 3 shown" in shown(app, "#filter-status")
        await pilot.press("escape")
        assert len(rows(app)) == 3


async def test_b_filters_by_bucket_with_suggestions() -> None:
    app, _ = make(three())
    async with app.run_test(size=(160, 45)) as pilot:
        await settle(pilot, app)
        await pilot.press("b", "d", "r")
        await pilot.pause()  # the suggester answers asynchronously
        assert [r[1] for r in rows(app)] == ["dr-bucket"]
        assert "in bucket dr-bucket" in shown(app, "#filter-status")
        await pilot.press("escape")
        assert len(rows(app)) == 3


async def test_slash_searches_reasons_and_a_miss_says_so() -> None:
    app, _ = make(three())
    async with app.run_test(size=(160, 45)) as pilot:
        await settle(pilot, app)
        await pilot.press("slash", *"kms")
        assert [r[0] for r in rows(app)] == ["ami-00000003"]
        await pilot.press(*"zzz")
        assert rows(app) == [] or not app.query_one(TaskTable).display
        assert 'No tasks matching "kmszzz"' in shown(app, "#empty")


async def test_detail_panel_shows_the_failure_reason_literally() -> None:
    app, _ = make(three())
    async with app.run_test(size=(160, 45)) as pilot:
        await settle(pilot, app)
        await pilot.press("down")  # the Failed task is second
        body = shown(app, "#detail-body")
        assert "ami-00000003" in body
        assert "Failure reason" in body
        assert MARKUP in body
        assert "s3://dr-bucket/ami-00000003.bin" in body


async def test_d_toggles_the_detail_panel_and_e_the_event_log() -> None:
    app, _ = make(three())
    async with app.run_test(size=(160, 45)) as pilot:
        await settle(pilot, app)
        assert app.query_one("#detail").display
        await pilot.press("d")
        assert not app.query_one("#detail").display
        assert app.query_one("#events").display
        await pilot.press("e")
        assert not app.query_one("#events").display


async def test_at_80_columns_details_start_hidden_and_open_under_the_table() -> None:
    app, _ = make(three())
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot, app)
        assert not app.query_one("#detail").display
        await pilot.press("enter")
        assert app.query_one("#detail").display
        # The table keeps the full width (less a scrollbar): details sit under it.
        assert app.query_one(TaskTable).outer_size.width >= 78


async def test_a_failed_poll_keeps_the_data_and_shows_a_banner_until_recovery() -> None:
    clock = Clock()
    expired = Snapshot(
        (),
        (PollFailure(ErrorKind.CREDENTIALS, "Credentials expired: run `aws sso login`", EAST),),
    )
    app, _ = make(three(), expired, three(), clock=clock)
    async with app.run_test(size=(160, 45)) as pilot:
        await settle(pilot, app)
        clock.now = at(2)
        await pilot.press("r")
        await settle(pilot, app, polls=2)
        assert len(rows(app)) == 3
        assert app.query_one("#banner").display
        banner = shown(app, "#banner")
        assert "aws sso login" in banner and "marked stale" in banner and "2m ago" in banner
        assert "STALE" in shown(app, "#header")
        await pilot.press("r")
        await settle(pilot, app, polls=3)
        assert not app.query_one("#banner").display


async def test_throttling_shows_the_backoff() -> None:
    app, _ = make(three(), failed_poll("throttled", "AWS is throttling"))
    async with app.run_test(size=(160, 45)) as pilot:
        await settle(pilot, app)
        await pilot.press("r")
        await settle(pilot, app, polls=2)
        assert "Retrying in" in shown(app, "#banner")
        assert app.query_one("#banner").has_class("-warning")


async def test_empty_state_says_what_was_queried_and_how_to_start_a_task() -> None:
    app, _ = make(snap())
    async with app.run_test(size=(160, 45)) as pilot:
        await settle(pilot, app)
        message = shown(app, "#empty")
        assert "No store tasks in the last 31 days for us-east-1" in message
        assert "create-store-image-task" in message


async def test_rows_update_in_place_and_the_cursor_stays_on_its_task() -> None:
    base = three()
    moved = snap(
        task("ami-00000009", 1, "InProgress", started=at(-1)),  # newest: goes on top
        task("ami-00000001", 45, "InProgress", bucket="archive", started=at(-10)),
        *base.tasks[1:],
    )
    app, _ = make(base, moved)
    async with app.run_test(size=(160, 45)) as pilot:
        await settle(pilot, app)
        await pilot.press("down")  # on ami-00000003
        await pilot.press("r")
        await settle(pilot, app, polls=2)
        table = app.query_one(TaskTable)
        assert rows(app)[0][0] == "ami-00000009"
        assert rows(app)[table.cursor_row][0] == "ami-00000003"
        # Only the two changed rows were written (both highlighted); the others untouched.
        assert app.last_writes <= 2 * len(table.columns)


async def test_completion_and_failure_notify() -> None:
    running = snap(task("ami-00000001", 90), task("ami-00000002", 10))
    done = snap(
        task("ami-00000001", 100, "Completed"),
        task("ami-00000002", 10, "Failed", reason="[b]no[/b] access"),
    )
    app, _ = make(running, done)
    async with app.run_test(size=(160, 45)) as pilot:
        await settle(pilot, app)
        await pilot.press("r")
        await settle(pilot, app, polls=2)
        messages = [n.message for n in app._notifications]
        assert any("ami-00000001" in m and "s3://" in m for m in messages)
        assert "ami-00000002: [b]no[/b] access" in messages


async def test_c_copies_the_ami_id_and_u_the_s3_uri() -> None:
    app, _ = make(three())
    async with app.run_test(size=(160, 45)) as pilot:
        await settle(pilot, app)
        await pilot.press("c")
        assert app.clipboard == "ami-00000001"
        await pilot.press("u")
        assert app.clipboard == "s3://archive/ami-00000001.bin"


async def test_question_mark_lists_every_key() -> None:
    app, _ = make(three())
    async with app.run_test(size=(160, 45)) as pilot:
        await settle(pilot, app)
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        await pilot.pause(1.5)  # the monitor keeps ticking underneath
        app.refresh_view()
        await pilot.press("escape")
        assert not isinstance(app.screen, HelpScreen)


async def test_every_action_is_in_the_command_palette() -> None:
    app, _ = make(three())
    async with app.run_test(size=(160, 45)):
        titles = {c.title for c in app.get_system_commands(app.screen)}
        for wanted in ("Refresh", "Pause", "Bucket", "State", "Details", "Events", "Copy"):
            assert wanted in titles


async def test_clicking_a_header_sorts_by_that_column() -> None:
    app, _ = make(three())
    async with app.run_test(size=(160, 45)) as pilot:
        await settle(pilot, app)
        await pilot.press("o", "o", "o", "o")  # started -> ami -> bucket -> state -> progress
        assert [r[3].split()[-1] for r in rows(app)] == ["100%", "40%", "17%"]


@pytest.mark.parametrize("size", [(80, 24), (160, 45)])
async def test_long_hostile_text_does_not_break_the_layout(size: tuple[int, int]) -> None:
    evil = StoreTask(
        EAST,
        "ami-0000000a",
        at(-5),
        bucket="b" * 60,
        object_key="k" * 300,
        progress=5,
        state="Failed",
        failure_reason="日本語🚀 " * 80 + MARKUP,
    )
    app, _ = make(snap(evil))
    async with app.run_test(size=size) as pilot:
        await settle(pilot, app)
        await pilot.press("enter")
        assert app.query_one(TaskTable).row_count == 1
        assert MARKUP in shown(app, "#detail-body")

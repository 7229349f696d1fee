"""The monitor driven by Pilot: a fake source and a fixed clock, reading back what shows."""

from __future__ import annotations

import gc
import threading
import time
from collections.abc import Iterator
from datetime import datetime

import pytest
from textual import events
from textual.geometry import Size
from textual.widgets import Input
from textual.widgets._footer import FooterKey

from amimon.enrich import AfterPoll, ImageSource
from amimon.model import ErrorKind, ImageLookup, PollFailure, Snapshot, StoreTask, TargetPoll
from amimon.render import Column as C
from amimon.state import MonitorState
from amimon.tui.app import REST_AFTER, AmimonApp
from amimon.tui.poller import PollCrashed, PollDone, Poller, PollPage
from amimon.tui.screens.help import HelpScreen
from amimon.tui.widgets.detail import Detail
from amimon.tui.widgets.event_log import EventLog
from amimon.tui.widgets.footer import KeyFooter
from amimon.tui.widgets.header import Header
from amimon.tui.widgets.task_table import TaskTable
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


def make(
    *snapshots: Snapshot, clock: Clock | None = None, interval: float = 60
) -> tuple[AmimonApp, FakeSource]:
    source = FakeSource(*snapshots)
    app = AmimonApp(source, [EAST], interval=interval, clock=clock or Clock(), bell=False)
    return app, source


async def settle(pilot: object, app: AmimonApp, polls: int = 1) -> None:
    for _ in range(250):
        if app.state.polls >= polls and not app.polling:
            break
        await pilot.pause(0.02)  # type: ignore[attr-defined]
    await pilot.pause()  # type: ignore[attr-defined]


def rows(app: AmimonApp) -> list[list[str]]:
    """The table as drawn: one list of column texts per row."""
    table = app.query_one(TaskTable)
    if not table.display:
        return []
    return [table.row_text(i) for i in range(len(table.keys))]


def column(app: AmimonApp, name: str) -> list[str]:
    table = app.query_one(TaskTable)
    if not table.display:
        return []
    index = table.header_text().index(name)
    return [r[index] for r in rows(app)]


def shown(app: AmimonApp, selector: str) -> str:
    widget = app.query_one(selector)
    return str(widget.render())


def table_words(app: AmimonApp) -> str:
    """What the task table draws, line by line (its words when it has no rows)."""
    table = app.query_one(TaskTable)
    lines = (table.render_line(y).text.strip() for y in range(table.size.height))
    return " ".join(line for line in lines if line)


def detail(app: AmimonApp) -> str:
    return app.query_one(Detail).text.plain


def footer(app: AmimonApp) -> list[str]:
    return [f"{k.key_display} {k.description}" for k in app.query(FooterKey)]


async def test_first_frame_shows_loading_before_any_fetch() -> None:
    app, source = make(three())
    app.auto_poll = False
    async with app.run_test(size=(160, 45)):
        assert source.fetches == 0
        assert "loading" in shown(app, "#header")
        assert "Loading store tasks from us-east-1" in table_words(app)


async def test_a_poll_fills_the_table_newest_first() -> None:
    app, _ = make(three())
    async with app.run_test(size=(160, 45)) as pilot:
        await settle(pilot, app)
        assert column(app, "AMI") == ["ami-00000001", "ami-00000003", "ami-00000002"]
        assert column(app, "State")[0] == "InProgress"
        assert column(app, "Progress")[0].endswith("40%")
        assert "3 tasks: 1 running · 1 done · 1 failed" in shown(app, "#header")
        assert "updated 0s ago" in shown(app, "#header")


async def test_polls_run_by_themselves_on_the_apps_own_timer() -> None:
    app, source = make(three(), interval=0.1)
    async with app.run_test(size=(160, 45)) as pilot:
        await settle(pilot, app, polls=3)
        assert app.state.polls >= 3 and source.fetches >= 3
        assert app.poller.delays[:2] == [0.1, 0.1]


async def test_r_polls_now_and_p_pauses_and_says_resume() -> None:
    app, source = make(three())
    async with app.run_test(size=(160, 45)) as pilot:
        await settle(pilot, app)
        await pilot.press("r")
        await settle(pilot, app, polls=2)
        assert source.fetches == 2
        assert "p Pause" in footer(app)
        await pilot.press("p")
        await pilot.pause()
        assert app.paused and "PAUSED" in shown(app, "#header")
        assert "p Resume" in footer(app) and "p Pause" not in footer(app)
        await pilot.press("p")
        await settle(pilot, app, polls=3)
        assert not app.paused and source.fetches == 3
        assert "p Pause" in footer(app)


async def test_the_footer_is_built_once_at_start_and_again_only_when_its_keys_change(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Focus moves and the screen resuming each say "bindings changed" at start-up; the
    footer's keys are the same each time, so it builds them once (issue 12)."""
    builds: list[list[str]] = []
    rebuild = KeyFooter.recompose

    async def counted(self: KeyFooter) -> None:
        await rebuild(self)
        builds.append(footer(self.app))  # type: ignore[arg-type]

    monkeypatch.setattr(KeyFooter, "recompose", counted)
    app, _ = make(three())
    async with app.run_test(size=(160, 45)) as pilot:
        await settle(pilot, app)
        await pilot.press("down", "up", "r")
        await settle(pilot, app, polls=2)
        assert len(builds) == 1 and "p Pause" in builds[0]
        await pilot.press("p")
        await pilot.pause()
        assert len(builds) == 2 and "p Resume" in builds[1]


async def test_the_event_log_and_footer_arrive_after_the_first_frame_in_kept_places() -> None:
    """Both are empty until a poll answers: they are mounted after the first frame (issue
    12; at once when nothing polls), into boxes laid out from the start, so nothing moves."""
    app, _ = make(three())
    app.auto_poll = False
    async with app.run_test(size=(160, 45)) as pilot:
        box, footer_box = app.query_one("#events-box"), app.query_one("#footer-box")
        table_region = app.query_one(TaskTable).region
        await pilot.pause()
        log = app.query_one(EventLog)
        assert log.parent is box and log.region == box.region and box.region.height == 7
        assert app.query_one(KeyFooter).region == footer_box.region
        assert app.query_one(TaskTable).region == table_region
        for _ in range(100):  # its keys are built after a refresh: on a loaded machine, later
            if footer(app):
                break
            await pilot.pause(0.02)
        assert "q Quit" in footer(app)


class HeldSource(FakeSource):
    """Answers only once released: a first poll that takes as long as a test wants."""

    def __init__(self, *snapshots: Snapshot) -> None:
        super().__init__(*snapshots)
        self.release = threading.Event()

    def fetch(self, plan: object = None, on_page: object = None) -> Snapshot:
        self.release.wait(10)
        return super().fetch(plan, on_page)


async def test_the_footer_and_log_wait_for_the_first_answer_then_come_after_it() -> None:
    """The first poll's worker has the interpreter to itself (issue 12's first data): the
    footer and the event log come once its answer is drawn, with what was said meanwhile."""
    source = HeldSource(three())
    app = AmimonApp(source, [EAST], interval=60, clock=Clock(), bell=False)
    async with app.run_test(size=(160, 45)) as pilot:
        await pilot.pause(0.3)
        assert not app.query(KeyFooter) and not app.query(EventLog)
        assert "events-box" not in app.export_screenshot()  # the kept places are blank
        app.warn("a warning said before the log is on screen")
        source.release.set()
        await settle(pilot, app)
        await pilot.pause()
        assert "q Quit" in footer(app)
        log = app.query_one(EventLog)
        assert log.parent is app.query_one("#events-box")
        lines = [line.text for line in log.lines]
        assert any("a warning said before the log" in line for line in lines)
        assert any("Loaded 3 store tasks" in line for line in lines)


async def test_a_slow_first_poll_gets_the_footer_a_second_after_the_first_frame() -> None:
    source = HeldSource(three())
    app = AmimonApp(source, [EAST], interval=60, clock=Clock(), bell=False)
    async with app.run_test(size=(160, 45)) as pilot:
        await pilot.pause(REST_AFTER + 0.3)
        assert app.polling and source.fetches == 0
        assert "q Quit" in footer(app)
        assert app.query_one(EventLog).parent is app.query_one("#events-box")
        source.release.set()
        await settle(pilot, app)


@pytest.fixture
def collector_off() -> Iterator[None]:
    """Cyclic collection off, as main() starts the monitor; put back afterwards."""
    gc.disable()
    try:
        yield
    finally:
        gc.unfreeze()
        gc.enable()


@pytest.mark.usefixtures("collector_off")
async def test_start_up_keeps_the_collector_off_until_the_first_answer_is_drawn() -> None:
    """The first poll (botocore's import, its client) is part of start-up: the collector
    comes back once its answer is on screen, with what start-up made frozen."""
    source = HeldSource(three())
    app = AmimonApp(source, [EAST], interval=60, clock=Clock(), bell=False)
    async with app.run_test(size=(160, 45)) as pilot:
        await pilot.pause(0.3)
        assert not gc.isenabled() and gc.get_freeze_count() > 0
        source.release.set()
        await settle(pilot, app)
        await pilot.pause()
        assert gc.isenabled()


@pytest.mark.usefixtures("collector_off")
async def test_a_slow_first_poll_gets_the_collector_back_a_second_after_the_first_frame() -> None:
    source = HeldSource(three())
    app = AmimonApp(source, [EAST], interval=60, clock=Clock(), bell=False)
    async with app.run_test(size=(160, 45)) as pilot:
        await pilot.pause(REST_AFTER + 0.3)
        assert app.polling and gc.isenabled()
        source.release.set()
        await settle(pilot, app)


async def test_a_resize_to_the_size_the_screen_has_lays_nothing_out_again() -> None:
    """Textual sends the screen three Resize events of one size as it starts, each a full
    layout and redraw (issue 12's first data); a real resize is still laid out."""
    app, _ = make(three())
    async with app.run_test(size=(160, 45)) as pilot:
        await settle(pilot, app)
        # Textual lays a screen out for a size it is given by Resize (other layouts, for a
        # widget that changed, are for the size it has: no size is passed).
        resized: list[Size] = []
        screen = app.screen
        original = screen._refresh_layout

        def refresh_layout(size: Size | None = None, scroll: bool = False) -> None:
            if size is not None:
                resized.append(size)
            original(size, scroll)

        screen._refresh_layout = refresh_layout  # type: ignore[method-assign]
        screen.post_message(events.Resize(Size(160, 45), Size(160, 45)))
        await pilot.pause()
        assert resized == []
        await pilot.resize_terminal(120, 40)
        await pilot.pause()
        assert resized == [Size(120, 40)]
        assert app.query_one(TaskTable).outer_size.width < 120


async def test_the_screen_is_styled_once_before_its_first_frame(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Textual styles every widget as it is mounted, and by default all of them again when
    the screen is first shown, just before its first frame (12 ms at start-up, for the
    same styles): the monitor's screen skips that second pass, and looks the same."""
    from textual.css.stylesheet import Stylesheet

    styled: list[object] = []
    original = Stylesheet.apply

    def apply(self: Stylesheet, node: object, *args: object, **kwargs: object) -> None:
        styled.append(node)
        original(self, node, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(Stylesheet, "apply", apply)
    app, _ = make(three())
    at_ready: list[object] = []
    after_first_frame = app._after_first_frame

    def first_frame() -> None:
        at_ready.extend(styled)
        after_first_frame()

    monkeypatch.setattr(app, "_after_first_frame", first_frame)
    async with app.run_test(size=(160, 45)) as pilot:
        await settle(pilot, app)
        # Once each: a widget whose classes or focus change on the way is styled again.
        for widget in (app.screen, *app.query("#header, #filter-bar, #banner, #detail")):
            assert at_ready.count(widget) == 1, widget
        # Focus and the narrow layout restyle as they should.
        await pilot.press("slash")
        await pilot.pause()
        assert app.query_one("#search").has_focus
        await pilot.resize_terminal(80, 24)
        await pilot.pause()
        assert app.screen.has_class("-narrow")


async def test_a_poll_the_timer_starts_shows_in_the_header_as_one_r_starts() -> None:
    source = HeldSource(three())
    source.release.set()
    app = AmimonApp(source, [EAST], interval=60, clock=Clock(), bell=False)
    async with app.run_test(size=(160, 45)) as pilot:
        await settle(pilot, app)
        assert "⟳" not in shown(app, "#header")
        source.release.clear()
        app.poller._due()  # what the interval's timer calls
        await pilot.pause()
        assert app.polling and "⟳" in shown(app, "#header")
        source.release.set()
        await settle(pilot, app, polls=2)
        assert "⟳" not in shown(app, "#header")


async def test_a_bucket_prefix_typed_before_the_first_answer_means_the_buckets_it_starts() -> None:
    source = HeldSource(three())
    app = AmimonApp(source, [EAST], interval=60, clock=Clock(), bell=False)
    async with app.run_test(size=(160, 45)) as pilot:
        await pilot.press("b", *"arch", "enter")
        assert app.task_filter.buckets == {"arch"}  # nothing seen yet: the name as typed
        source.release.set()
        await settle(pilot, app)
        assert app.task_filter.buckets == {"archive"}
        assert column(app, "AMI") == ["ami-00000001", "ami-00000002"]


class Looker:
    """An image source that notes what the table showed when it was asked."""

    def __init__(self, app: list[AmimonApp]) -> None:
        self.app = app
        self.rows_when_asked: list[int] = []

    def describe_images(self, wanted: object) -> ImageLookup:
        self.rows_when_asked.append(len(self.app[0].query_one(TaskTable).keys))
        return ImageLookup()


def looking_up(images: ImageSource) -> AmimonApp:
    """A monitor of ``three()`` whose polls look the AMIs up in ``images``."""
    return AmimonApp(
        FakeSource(three()),
        [EAST],
        interval=60,
        clock=Clock(),
        bell=False,
        after_poll=AfterPoll(images, None),
    )


async def test_the_ami_look_ups_wait_until_the_tasks_are_drawn() -> None:
    """The tasks first: the look-ups (and the first poll's opening of the history) would
    share the interpreter with drawing them (issue 12's first data)."""
    holder: list[AmimonApp] = []
    looker = Looker(holder)
    app = looking_up(looker)
    holder.append(app)
    async with app.run_test(size=(160, 45)) as pilot:
        await settle(pilot, app)
        assert looker.rows_when_asked == [3]


async def test_loaded_is_said_when_the_tasks_are_drawn_not_after_the_ami_look_ups() -> None:
    """At 10,000 tasks the look-ups after the first load took 30 s, and the log said
    "Loaded" only then, long after the rows were on screen."""

    class SlowImages:
        def __init__(self) -> None:
            self.release = threading.Event()

        def describe_images(self, wanted: object) -> ImageLookup:
            self.release.wait(10)
            return ImageLookup()

    images = SlowImages()
    app = looking_up(images)
    async with app.run_test(size=(160, 45)) as pilot:
        deadline = time.monotonic() + 5
        while not app.query(EventLog) or not app.event_log.lines:
            assert time.monotonic() < deadline
            await pilot.pause(0.05)
        assert app.polling  # the look-ups still run
        assert any("Loaded 3 store tasks" in line.text for line in app.event_log.lines)
        images.release.set()
        await settle(pilot, app)
        lines = [line.text for line in app.event_log.lines]
        assert sum("Loaded 3 store tasks" in line for line in lines) == 1


def test_a_closing_app_ends_a_worker_waiting_for_its_rows_at_once() -> None:
    """q in the first second: the first poll's worker waited up to SHOWN_WAIT for rows
    nobody would draw, then looked the AMIs up, and the process's exit waited for it."""
    posted: list[object] = []
    asked: list[object] = []

    class Unseen:  # an app that is going: what is posted is never drawn
        def post_message(self, message: object) -> None:
            posted.append(message)

    class Images:
        def describe_images(self, wanted: object) -> ImageLookup:
            asked.append(wanted)
            return ImageLookup()

    poller = Poller(
        Unseen(),  # type: ignore[arg-type]
        FakeSource(three()),
        MonitorState,
        interval=60,
        clock=Clock(),
        after=AfterPoll(Images(), None),
    )
    worker = threading.Thread(target=poller._work, args=(MonitorState(), False))
    worker.start()
    deadline = time.monotonic() + 5
    while not any(isinstance(m, PollPage) and m.shown for m in posted):
        assert time.monotonic() < deadline, posted
        time.sleep(0.01)
    closed_at = time.monotonic()
    poller.close()
    worker.join(5)
    assert not worker.is_alive() and time.monotonic() - closed_at < 0.5
    assert asked == [] and not any(isinstance(m, PollDone | PollCrashed) for m in posted)


async def test_s_cycles_the_state_filter_and_escape_clears_it() -> None:
    app, _ = make(three())
    async with app.run_test(size=(160, 45)) as pilot:
        await settle(pilot, app)
        await pilot.press("s", "s", "s")  # all -> InProgress -> Completed -> Failed
        assert column(app, "AMI") == ["ami-00000003"]
        assert "Failed tasks · 1 of 3 shown" in shown(app, "#filter-status")
        await pilot.press("escape")
        assert len(rows(app)) == 3
        assert "all tasks · 3 shown" in shown(app, "#filter-status")


async def test_b_filters_by_bucket_with_suggestions() -> None:
    app, _ = make(three())
    async with app.run_test(size=(160, 45)) as pilot:
        await settle(pilot, app)
        await pilot.press("b", "d", "r")
        await pilot.pause()
        assert column(app, "Bucket") == ["dr-bucket"]
        assert "in bucket dr-bucket" in shown(app, "#filter-status")
        await pilot.press("escape", "escape")  # the field, then every filter
        assert len(rows(app)) == 3


async def test_slash_searches_reasons_and_a_miss_says_so() -> None:
    app, _ = make(three())
    async with app.run_test(size=(160, 45)) as pilot:
        await settle(pilot, app)
        await pilot.press("slash", *"kms")
        assert column(app, "AMI") == ["ami-00000003"]
        await pilot.press(*"zzz")
        assert rows(app) == []
        assert 'No tasks matching "kmszzz"' in table_words(app)


async def test_detail_panel_shows_the_failure_reason_literally() -> None:
    app, _ = make(three())
    async with app.run_test(size=(160, 45)) as pilot:
        await settle(pilot, app)
        await pilot.press("down")  # the Failed task is second
        body = detail(app)
        assert "ami-00000003" in body and "Failure reason" in body
        assert MARKUP in body
        assert "s3://dr-bucket/ami-00000003.bin" in body


async def test_d_toggles_the_detail_panel_and_e_the_event_log() -> None:
    app, _ = make(three())
    async with app.run_test(size=(160, 45)) as pilot:
        await settle(pilot, app)
        assert app.query_one(Detail).display
        await pilot.press("d")
        assert not app.query_one(Detail).display
        assert app.query_one(EventLog).display
        await pilot.press("e")
        assert not app.query_one(EventLog).display


async def test_at_80_columns_details_start_hidden_and_open_under_the_table() -> None:
    app, _ = make(three())
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot, app)
        assert not app.query_one(Detail).display
        await pilot.press("enter")
        await pilot.pause()
        assert app.query_one(Detail).display
        assert "ami-00000001" in detail(app)
        assert app.query_one(TaskTable).outer_size.width == 80


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
        # Stale rows are frozen: the running task's ETA and age stop at the failure.
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
        message = table_words(app)
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
        table = app.query_one(TaskTable)
        built = table.rows_built
        await pilot.press("r")
        await settle(pilot, app, polls=2)
        assert column(app, "AMI")[0] == "ami-00000009"
        assert rows(app)[table.cursor][0] == "ami-00000003"
        # Only the new and the changed row were drawn again: the others came from the cache.
        assert table.rows_built - built == 2


async def test_completion_and_failure_notify_with_the_reasons_first_line() -> None:
    long_reason = "[b]no[/b] access " + "x" * 3000 + "\nsecond line"
    running = snap(task("ami-00000001", 90), task("ami-00000002", 10))
    done = snap(
        task("ami-00000001", 100, "Completed"),
        task("ami-00000002", 10, "Failed", reason=long_reason),
    )
    app, _ = make(running, done)
    async with app.run_test(size=(80, 30)) as pilot:
        await settle(pilot, app)
        await pilot.press("r")
        await settle(pilot, app, polls=2)
        messages = [n.message for n in app._notifications]
        assert any("ami-00000001" in m and "s3://" in m for m in messages)
        (failed,) = [m for m in messages if m.startswith("ami-00000002")]
        assert failed.startswith("ami-00000002: [b]no[/b] access") and failed.endswith("…")
        assert len(failed) < 130
        log = app.query_one(EventLog)
        failed_lines = [line.text for line in log.lines if "ami-00000002" in line.text]
        assert len(failed_lines) == 1 and len(log.lines) <= 8


async def test_c_copies_the_ami_id_and_u_the_s3_uri() -> None:
    app, _ = make(three())
    async with app.run_test(size=(160, 45)) as pilot:
        await settle(pilot, app)
        await pilot.press("c")
        assert app.clipboard == "ami-00000001"
        await pilot.press("u")
        assert app.clipboard == "s3://archive/ami-00000001.bin"


async def test_question_mark_lists_every_key_as_it_is_typed() -> None:
    app, _ = make(three())
    async with app.run_test(size=(160, 45)) as pilot:
        await settle(pilot, app)
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        keys = [k for k, _ in app.screen.keys]
        for typed in ("/", "Esc", "?", "Enter", "Ctrl+C", "r", "p", "s", "b", "o", "q"):
            assert typed in keys
        for word in ("slash", "escape", "question_mark", "enter"):
            assert word not in keys
        await pilot.press("escape")
        assert not isinstance(app.screen, HelpScreen)


async def test_every_action_is_in_the_command_palette() -> None:
    app, _ = make(three())
    async with app.run_test(size=(160, 45)):
        titles = {c.title for c in app.get_system_commands(app.screen)}
        for wanted in ("Refresh", "Pause", "Bucket", "State", "Details", "Events", "Copy"):
            assert wanted in titles


async def test_clicking_a_header_sorts_by_that_column_and_again_reverses() -> None:
    app, _ = make(three())
    async with app.run_test(size=(160, 45)) as pilot:
        await settle(pilot, app)
        table = app.query_one(TaskTable)
        assert table.plan is not None
        (progress,) = [c for c in table.plan.columns if c.header == "Progress"]
        await pilot.click(TaskTable, offset=(progress.x + 1, 0))
        await pilot.pause()
        assert [p.split()[-1] for p in column(app, "Progress▼")] == ["100%", "40%", "17%"]
        await pilot.click(TaskTable, offset=(progress.x + 1, 0))
        await pilot.pause()
        assert [p.split()[-1] for p in column(app, "Progress▲")] == ["17%", "40%", "100%"]


async def test_clicking_a_row_moves_the_cursor_and_again_opens_details() -> None:
    app, _ = make(three())
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot, app)
        await pilot.click(TaskTable, offset=(5, 3))  # the header, then the third row
        assert app.query_one(TaskTable).cursor == 2
        assert not app.query_one(Detail).display
        await pilot.click(TaskTable, offset=(5, 3))
        await pilot.pause()
        assert app.query_one(Detail).display


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
        await pilot.pause()
        (row,) = rows(app)
        assert row[0] == "ami-0000000a" and row[1].endswith("…")
        assert MARKUP in detail(app)


async def test_a_vanished_task_says_gone_and_the_header_warns_when_data_is_old() -> None:
    clock = Clock()
    app, _ = make(three(), snap(*three().tasks[1:]), failed_poll(), clock=clock)
    app.auto_poll = False
    async with app.run_test(size=(160, 45)) as pilot:
        app.poll_now()
        await settle(pilot, app)
        app.poll_now(full=True)
        await settle(pilot, app, polls=2)
        assert column(app, "State")[0] == "gone"
        header = app.query_one(Header)
        assert not header.has_class("-old")
        clock.now = at(4)  # more than three intervals (60 s) with no answer, nothing failing
        app.refresh_view()
        assert header.has_class("-old") and not header.has_class("-stale")
        app.poller.pause()
        app.refresh_view()
        assert not header.has_class("-old")  # paused: old data is expected
        app.poller.paused = False
        app.poll_now()
        await settle(pilot, app, polls=3)
        assert header.has_class("-stale")


async def test_filtering_10000_tasks_answers_within_a_frame() -> None:
    tasks = [
        task(
            f"ami-{n:08x}",
            100 if n % 5 else 50,
            "Completed" if n % 5 else "InProgress",
            bucket=f"bucket-{n % 7}",
            started=at(-n),
        )
        for n in range(10_000)
    ]
    app, _ = make(Snapshot((TargetPoll(EAST, tuple(tasks)),)))
    async with app.run_test(size=(160, 45)) as pilot:
        await settle(pilot, app)
        table = app.query_one(TaskTable)
        started = time.perf_counter()
        await pilot.press("s")
        await pilot.pause()
        took = time.perf_counter() - started
        assert len(table.keys) == 2000
        assert set(column(app, "State")) == {"InProgress"}
        # A frame is 1/60 s; Pilot's own key handling and a shared CPU get some slack.
        assert took < 0.25, took


async def test_keys_typed_right_after_slash_go_into_the_field_never_run_commands() -> None:
    """A paste or fast typing: the keys are queued before the field has focus. ``/pq``
    once quit the monitor, and ``/ami-0ee`` toggled panels and copied."""
    app, _ = make(three())
    async with app.run_test(size=(160, 45)) as pilot:
        await settle(pilot, app)
        for key, char in (("slash", "/"), ("p", "p"), ("q", "q"), ("c", "c")):
            app.post_message(events.Key(key, char))  # as the driver does, all at once
        await pilot.pause()
        await pilot.pause()
        assert app.is_running and not app.paused
        assert app.query_one("#search", Input).value == "pqc"
        assert app.clipboard == ""


async def test_a_resize_while_help_is_open_lays_out_the_monitor_for_the_new_size() -> None:
    app, _ = make(three())
    async with app.run_test(size=(160, 45)) as pilot:
        await settle(pilot, app)
        assert app.query_one(Detail).display  # beside the table
        await pilot.press("question_mark")
        await pilot.resize_terminal(80, 24)
        await pilot.pause()
        await pilot.press("escape")
        await pilot.pause()
        assert app.screen.has_class("-narrow")
        table = app.query_one(TaskTable)
        assert table.outer_size.width == 80  # the panel went under it, not beside
        assert table.plan is not None and table.plan.width_of(C.AMI) == 21


async def test_help_grown_back_after_a_shrink_is_laid_out_as_when_opened() -> None:
    """Shrunk until the help scrolled and grown back, it kept the scrollbar and the
    wrapping of the small size (a line cut in two, the last line out of view)."""
    app, _ = make(three())
    async with app.run_test(size=(160, 45)) as pilot:
        await settle(pilot, app)
        await pilot.press("question_mark")
        await pilot.pause()
        box = app.screen.query_one("#help")
        fresh = (box.outer_size, box.show_vertical_scrollbar)
        await pilot.resize_terminal(80, 24)
        await pilot.pause()
        assert app.screen.query_one("#help").show_vertical_scrollbar
        await pilot.resize_terminal(160, 45)
        await pilot.pause()
        await pilot.pause()
        box = app.screen.query_one("#help")
        assert (box.outer_size, box.show_vertical_scrollbar) == fresh == (fresh[0], False)
        assert app.screen.focused is box  # arrows and PgUp/PgDn still scroll it


async def test_a_b_or_slash_pasted_after_slash_is_text_and_enter_goes_back_to_the_table() -> None:
    """``/abc-table`` pasted in one go: the b's once moved focus to the bucket field (the
    search got "a", the bucket "c-tale"). Enter keeps the filter and the next key is a
    command again, not more text."""
    app, _ = make(three())
    async with app.run_test(size=(160, 45)) as pilot:
        await settle(pilot, app)
        for char in "/ab/b-x":
            key = {"/": "slash", "-": "minus"}.get(char, char)
            app.post_message(events.Key(key, char))  # as the driver does, all at once
        await pilot.pause()
        await pilot.pause()
        assert app.query_one("#search", Input).value == "ab/b-x"
        assert app.query_one("#bucket", Input).value == ""
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.focused, TaskTable)
        assert app.task_filter.text == "ab/b-x"
        await pilot.press("s")  # a command again: the state filter
        await pilot.pause()
        assert app.task_filter.states == frozenset({"InProgress"})
        assert app.query_one("#search", Input).value == "ab/b-x"


async def test_a_header_click_sorts_a_new_column_as_o_does() -> None:
    """ETA first click: soonest first (running tasks on top), as ``o`` sorts it."""
    app, _ = make(three())
    async with app.run_test(size=(160, 45)) as pilot:
        await settle(pilot, app)
        table = app.query_one(TaskTable)
        assert table.plan is not None
        eta = next(c for c in table.plan.columns if c.column is C.ETA)
        await pilot.click(TaskTable, offset=(eta.x + 1, 0))
        await pilot.pause()
        assert app.sort_order.column == "eta" and not app.sort_order.descending
        await pilot.click(TaskTable, offset=(eta.x + 1, 0))
        await pilot.pause()
        assert app.sort_order.descending


async def test_panels_follow_the_size_until_toggled() -> None:
    """Started wide then shrunk to 80x24: the panels went on taking room (six table rows
    left). They follow the size until the user shows or hides them."""
    app, _ = make(three())
    async with app.run_test(size=(160, 45)) as pilot:
        await settle(pilot, app)
        assert app.query_one(Detail).display and app.query_one("#events-box").display
        await pilot.resize_terminal(80, 24)
        await pilot.pause()
        assert not app.query_one(Detail).display and not app.query_one("#events-box").display
        await pilot.resize_terminal(160, 45)
        await pilot.pause()
        assert app.query_one(Detail).display and app.query_one("#events-box").display
        await pilot.press("d")  # the user's choice stands from now on
        await pilot.pause()
        await pilot.resize_terminal(200, 50)
        await pilot.pause()
        assert not app.query_one(Detail).display


async def test_a_long_search_is_cut_in_the_status_line_and_the_count_stays() -> None:
    app, _ = make(three())
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot, app)
        app.query_one("#search", Input).value = "a-very-long-search-string-" * 4
        await pilot.pause()
        status = str(app.query_one("#filter-status").render())
        assert "…" in status and status.rstrip().endswith("0 of 3 shown"), status
        assert len(status.rstrip()) <= 78

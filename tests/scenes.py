"""Reproducible monitor scenes on the simulator with a frozen clock, for snapshot tests and
for ``screenshots/make.py``. Each scene is a sim, an app and the keys that set it up.

The scenes have a scenario of their own (a copy of the demo as it was, hostile reasons
included), so a change to the demo does not move the snapshots.
"""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

from amimon.aws import Ec2TaskSource, StaticCredentials
from amimon.enrich import AfterPoll
from amimon.model import Target
from amimon.sim import DEMO_CREDENTIALS, FrozenClock, Scenario, SimServer, TaskSpec
from amimon.tui.app import AmimonApp
from amimon.tui.widgets.task_table import TaskTable
from tests.factories import T0
from tests.simulator import target

Setup = Callable[[Any], Awaitable[None]]

SCENES = ("normal", "failed", "error", "empty", "two-regions", "long-reason", "vanished")
SIZES = {"80x24": (80, 24), "100x30": (100, 30), "160x45": (160, 45), "220x60": (220, 60)}

LONG_REASON = (
    "The snapshot data could not be copied to the bucket.\n"
    "Amazon S3 returned AccessDenied for PutObject on s3://dr-backups-eu/.\n"
    "Check that the bucket policy allows the EC2 store service principal and that the\n"
    "bucket is in the same Region as the AMI, then store the AMI again."
)
MARKUP_REASON = (
    "[bold red]KMS key[/] [link=https://example.com/kms]arn:aws:kms:...[/link] is disabled [/]"
)
UNICODE_REASON = "Échec : la clé KMS est désactivée — KMS キーが無効です ✗"
# 5,000 characters: the panel scrolls to the fields after it; toasts and log get line one.
HUGE_REASON = (
    "Snapshot snap-0123456789abcdef0 became inaccessible while the task ran. "
    + ("The EBS direct APIs returned an error for block " + "0123456789 " * 8 + ". ") * 40
)


def ami(n: int) -> str:
    return "ami-0" + hashlib.sha256(f"amimon-demo-{n}".encode()).hexdigest()[:16]


def scene_scenario(name: str = "normal") -> Scenario:
    """The demo's 31 tasks as they were when the snapshots were made, plus a task per scene
    that needs one (a 5,000-character reason; a task about to leave the 31-day window)."""
    m, h, d = timedelta(minutes=1), timedelta(hours=1), timedelta(days=1)
    s = timedelta(seconds=1)
    archive, dr, mig = "ami-archive-prod", "dr-backups-eu", "migration-staging"
    specs = [
        TaskSpec(ami(1), archive, -(29 * m + 35 * s), 30 * m),
        TaskSpec(ami(2), dr, -(19 * m + 10 * s), 20 * m),
        TaskSpec(ami(3), mig, -(10 * m + 30 * s), 30 * m, fail_at=37, reason=LONG_REASON),
        TaskSpec(ami(4), archive, -12 * m, 25 * m),
        TaskSpec(ami(5), archive, -3 * m, 9 * m),
        TaskSpec(ami(6), dr, -40 * m, 70 * m),
        TaskSpec(ami(7), mig, -2 * m, 40 * m),
        TaskSpec(ami(8), archive, -5 * m, 15 * m, fail_at=62, reason=MARKUP_REASON),
        TaskSpec(ami(9), dr, 20 * s, 6 * m),
        TaskSpec(ami(10), archive, 75 * s, 12 * m),
        TaskSpec(ami(11), dr, -3 * d, 2 * h, fail_at=23, reason=UNICODE_REASON),
        TaskSpec(ami(11), dr, -1 * h, 90 * m),
        TaskSpec(ami(12), archive, -1 * d, 50 * m),
        TaskSpec(ami(13), archive, -2 * d, 35 * m),
        TaskSpec(ami(14), dr, -2 * d - 3 * h, 2 * h),
        TaskSpec(ami(15), mig, -4 * d, 25 * m),
        TaskSpec(ami(16), archive, -5 * d, 3 * h),
        TaskSpec(ami(17), mig, -6 * d, 40 * m, fail_at=8, reason="InternalError: try again"),
        TaskSpec(ami(18), dr, -7 * d, 55 * m),
        TaskSpec(ami(19), archive, -9 * d, 80 * m),
        TaskSpec(ami(20), mig, -11 * d, 20 * m),
        TaskSpec(ami(21), archive, -13 * d, 65 * m),
        TaskSpec(ami(22), dr, -16 * d, 45 * m),
        TaskSpec(ami(23), archive, -19 * d, 30 * m),
        TaskSpec(ami(24), mig, -22 * d, 2 * h),
        TaskSpec(ami(25), archive, -25 * d, 75 * m),
        TaskSpec(ami(26), dr, -28 * d, 50 * m),
        TaskSpec(ami(27), archive, -30 * d, 40 * m),
        TaskSpec(ami(28), archive, -35 * d, 1 * h),
        TaskSpec(ami(29), dr, -15 * m, 45 * m, region="eu-west-1"),
        TaskSpec(ami(30), dr, -3 * d, 1 * h, region="eu-west-1"),
    ]
    if name == "empty":
        return Scenario((TaskSpec(ami(28), archive, -40 * d, 1 * h),))
    if name == "long-reason":
        specs.append(TaskSpec(ami(31), dr, -8 * m, 20 * m, fail_at=12, reason=HUGE_REASON))
    if name == "vanished":
        specs.append(TaskSpec(ami(32), mig, -(31 * d - 20 * s), 40 * d))
    return Scenario(tuple(specs))


async def poll(pilot: Any, app: AmimonApp) -> None:
    """Run one poll to completion."""
    before = app.state.polls
    app.poller.poll_now()
    for _ in range(500):
        if app.state.polls > before and not app.polling:
            break
        await pilot.pause(0.02)
    await pilot.pause()


def _sim_clock(server: SimServer) -> FrozenClock:
    assert isinstance(server.clock, FrozenClock)
    return server.clock


async def _select(pilot: Any, app: AmimonApp, ami_id: str) -> None:
    table = app.query_one(TaskTable)
    index = next(i for i, key in enumerate(table.keys) if key.ami_id == ami_id)
    table.move_cursor(index)
    await pilot.press("enter")


@contextmanager
def scene(name: str) -> Iterator[tuple[AmimonApp, Setup]]:
    """The app for scene ``name`` and the coroutine that brings it to the picture."""
    with SimServer(scene_scenario(name), FrozenClock(T0)) as server:
        clock = _sim_clock(server)
        regions = ["us-east-1", "eu-west-1"] if name == "two-regions" else ["us-east-1"]
        targets: list[Target] = [target(server, r) for r in regions]
        src = Ec2TaskSource(targets, credentials=StaticCredentials(*DEMO_CREDENTIALS), burst=1e9)
        app = AmimonApp(
            src,
            targets,
            interval=15,
            clock=clock.now,
            demo=True,
            bell=False,
            auto_poll=False,
            after_poll=AfterPoll(src, None),  # names and sizes from the simulator's AMIs
        )

        async def setup(pilot: Any) -> None:
            await poll(pilot, app)
            if name == "empty":
                return
            clock.advance(40)  # two tasks complete, one fails, one appears
            await poll(pilot, app)
            app.clear_notifications()
            if name == "failed":
                await pilot.press("s", "s", "s")
                await pilot.press("enter")
            elif name == "error":
                server.inject("expired")
                clock.advance(180)
                await poll(pilot, app)
            elif name == "long-reason":
                await _select(pilot, app, ami(31))
            elif name == "vanished":
                await _select(pilot, app, ami(32))
            await pilot.pause()

        yield app, setup

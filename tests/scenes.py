"""Reproducible monitor scenes on the simulator with a frozen clock, for snapshot tests and
for ``screenshots/make.py``. Each scene is a sim, an app and the keys that set it up."""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

from amimon.sim import FrozenClock, Scenario, SimServer, TaskSpec
from amimon.tui.app import AmimonApp
from tests.factories import T0
from tests.simulator import source, target

Setup = Callable[[Any], Awaitable[None]]


def _ami(n: int) -> str:
    return "ami-0" + hashlib.sha256(f"amimon-demo-{n}".encode()).hexdigest()[:16]


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


def scene_scenario() -> Scenario:
    """The scenes' tasks: the first demo's, with hostile failure reasons kept for the tests.

    31 tasks over three buckets that move in the first minutes; failure reasons include a
    long multi-line one, non-ASCII text and text that looks like Rich markup. The snapshot
    SVGs under ``tests/__snapshots__`` are drawn from exactly these tasks.
    """
    m, h, d = timedelta(minutes=1), timedelta(hours=1), timedelta(days=1)
    s = timedelta(seconds=1)
    archive, dr, mig = "ami-archive-prod", "dr-backups-eu", "migration-staging"
    specs = [
        # Running now; two finish and one fails within the first minute.
        TaskSpec(_ami(1), archive, -(29 * m + 35 * s), 30 * m),
        TaskSpec(_ami(2), dr, -(19 * m + 10 * s), 20 * m),
        TaskSpec(_ami(3), mig, -(10 * m + 30 * s), 30 * m, fail_at=37, reason=LONG_REASON),
        TaskSpec(_ami(4), archive, -12 * m, 25 * m),
        TaskSpec(_ami(5), archive, -3 * m, 9 * m),
        TaskSpec(_ami(6), dr, -40 * m, 70 * m),
        TaskSpec(_ami(7), mig, -2 * m, 40 * m),
        TaskSpec(_ami(8), archive, -5 * m, 15 * m, fail_at=62, reason=MARKUP_REASON),
        # Started during the demo.
        TaskSpec(_ami(9), dr, 20 * s, 6 * m),
        TaskSpec(_ami(10), archive, 75 * s, 12 * m),
        # Failed three days ago and stored again an hour ago.
        TaskSpec(_ami(11), dr, -3 * d, 2 * h, fail_at=23, reason=UNICODE_REASON),
        TaskSpec(_ami(11), dr, -1 * h, 90 * m),
        # Days ago.
        TaskSpec(_ami(12), archive, -1 * d, 50 * m),
        TaskSpec(_ami(13), archive, -2 * d, 35 * m),
        TaskSpec(_ami(14), dr, -2 * d - 3 * h, 2 * h),
        TaskSpec(_ami(15), mig, -4 * d, 25 * m),
        TaskSpec(_ami(16), archive, -5 * d, 3 * h),
        TaskSpec(_ami(17), mig, -6 * d, 40 * m, fail_at=8, reason="InternalError: try again"),
        TaskSpec(_ami(18), dr, -7 * d, 55 * m),
        TaskSpec(_ami(19), archive, -9 * d, 80 * m),
        TaskSpec(_ami(20), mig, -11 * d, 20 * m),
        TaskSpec(_ami(21), archive, -13 * d, 65 * m),
        TaskSpec(_ami(22), dr, -16 * d, 45 * m),
        TaskSpec(_ami(23), archive, -19 * d, 30 * m),
        TaskSpec(_ami(24), mig, -22 * d, 2 * h),
        TaskSpec(_ami(25), archive, -25 * d, 75 * m),
        TaskSpec(_ami(26), dr, -28 * d, 50 * m),
        TaskSpec(_ami(27), archive, -30 * d, 40 * m),
        # Older than 31 days: never returned.
        TaskSpec(_ami(28), archive, -35 * d, 1 * h),
        # In another region, seen with --region eu-west-1.
        TaskSpec(_ami(29), dr, -15 * m, 45 * m, region="eu-west-1"),
        TaskSpec(_ami(30), dr, -3 * d, 1 * h, region="eu-west-1"),
    ]
    return Scenario(tuple(specs))


async def poll(pilot: Any, app: AmimonApp) -> None:
    """Run one poll to completion."""
    before = app.state.polls
    app.poll_now()
    for _ in range(500):
        if app.state.polls > before and not app.polling:
            break
        await pilot.pause(0.02)
    await pilot.pause()


def _sim_clock(server: SimServer) -> FrozenClock:
    assert isinstance(server.clock, FrozenClock)
    return server.clock


@contextmanager
def scene(name: str) -> Iterator[tuple[AmimonApp, Setup]]:
    """The app for scene ``name`` and the coroutine that brings it to the picture."""
    scenario = scene_scenario()
    if name == "empty":
        old = TaskSpec("ami-0abcdef1234567890", "archive", -timedelta(days=40), timedelta(hours=1))
        scenario = Scenario((old,))
    with SimServer(scenario, FrozenClock(T0)) as server:
        clock = _sim_clock(server)
        app = AmimonApp(
            source(server),
            [target(server)],
            interval=15,
            clock=clock.now,
            demo=True,
            bell=False,
            auto_poll=False,
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
            await pilot.pause()

        yield app, setup


SCENES = ("normal", "failed", "error", "empty")

"""Reproducible monitor scenes on the simulator with a frozen clock, for snapshot tests and
for ``screenshots/make.py``. Each scene is a sim, an app and the keys that set it up."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

from amimon.sim import FrozenClock, Scenario, SimServer, TaskSpec, default_scenario
from amimon.tui.app import AmimonApp
from tests.factories import T0
from tests.simulator import source, target

Setup = Callable[[Any], Awaitable[None]]


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
    scenario = default_scenario()
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

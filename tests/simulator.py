"""Helpers to run the simulator in tests: frozen time, scenarios made to order, clients."""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import IO, Any

import boto3

from amimon.aws import Ec2TaskSource, Query, StaticCredentials
from amimon.model import Target
from amimon.sim import DEMO_CREDENTIALS, FrozenClock, Scenario, SimServer, TaskSpec
from tests.factories import T0


def ami(n: int) -> str:
    return f"ami-{n:08x}"


def many(count: int, *, bucket: str = "archive", minutes_apart: int = 30) -> Scenario:
    """``count`` tasks started ``minutes_apart`` apart, all long finished except the newest."""
    specs = [
        TaskSpec(
            ami(n),
            ["archive", "dr", "staging"][n % 3] if bucket == "mixed" else bucket,
            start=-timedelta(minutes=minutes_apart * (n + 1)),
            duration=timedelta(minutes=45),
            fail_at=50 if n % 7 == 3 else None,
            reason="disk error" if n % 7 == 3 else "",
        )
        for n in range(count)
    ]
    return Scenario(tuple(specs))


@contextmanager
def running(scenario: Scenario | None = None) -> Iterator[SimServer]:
    with SimServer(scenario, FrozenClock(T0)) as server:
        yield server


def target(server: SimServer, region: str = "us-east-1") -> Target:
    return Target(None, region, server.url)


def source(
    server: SimServer, query: Query | None = None, *, paced: bool = False, **kwargs: Any
) -> Ec2TaskSource:
    """A source for the simulator's us-east-1. Unpaced unless asked: tests run many polls in
    little real time, and pacing has tests of its own."""
    if not paced:
        kwargs.setdefault("burst", 1e9)
    return Ec2TaskSource(
        [target(server)],
        query or Query(),
        credentials=StaticCredentials(*DEMO_CREDENTIALS),
        **kwargs,
    )


def client(server: SimServer | str, region: str = "us-east-1") -> Any:
    """A raw boto3 client, no retries, for checking the simulator's rules one by one;
    ``server`` is a SimServer or the URL of one."""
    from botocore.config import Config

    return boto3.client(
        "ec2",
        region_name=region,
        endpoint_url=server if isinstance(server, str) else server.url,
        aws_access_key_id=DEMO_CREDENTIALS[0],
        aws_secret_access_key=DEMO_CREDENTIALS[1],
        # No client-side validation: the simulator must enforce the rules itself.
        config=Config(retries={"total_max_attempts": 1}, parameter_validation=False),
    )


def clock(server: SimServer) -> FrozenClock:
    assert isinstance(server.clock, FrozenClock)
    return server.clock


def read_lines(stream: IO[str], count: int, timeout: float = 30.0) -> list[str]:
    """``count`` lines from a child's output, failing after ``timeout`` seconds, never hanging."""
    lines: queue.Queue[str] = queue.Queue()

    def pump() -> None:
        for _ in range(count):
            line = stream.readline()
            lines.put(line)
            if not line:
                return

    threading.Thread(target=pump, daemon=True).start()
    out: list[str] = []
    deadline = time.monotonic() + timeout
    while len(out) < count:
        try:
            line = lines.get(timeout=max(0.0, deadline - time.monotonic()))
        except queue.Empty:
            raise AssertionError(f"no line {len(out) + 1} within {timeout}s; got {out}") from None
        if not line:
            raise AssertionError(f"output ended after {len(out)} lines: {out}")
        out.append(line)
    return out

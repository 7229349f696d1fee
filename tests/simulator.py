"""Helpers to run the simulator in tests: frozen time, scenarios made to order, clients."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

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


def client(server: SimServer, region: str = "us-east-1") -> Any:
    """A raw boto3 client, no retries, for checking the simulator's rules one by one."""
    from botocore.config import Config

    return boto3.client(
        "ec2",
        region_name=region,
        endpoint_url=server.url,
        aws_access_key_id=DEMO_CREDENTIALS[0],
        aws_secret_access_key=DEMO_CREDENTIALS[1],
        # No client-side validation: the simulator must enforce the rules itself.
        config=Config(retries={"total_max_attempts": 1}, parameter_validation=False),
    )


def clock(server: SimServer) -> FrozenClock:
    assert isinstance(server.clock, FrozenClock)
    return server.clock

"""Pages at a polite pace, each retried where it stopped: a long listing survives
throttling and never spends the account's whole burst (issue 10 #3)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from amimon.aws import source as source_module
from amimon.aws.paging import (
    STORE_TASKS_BURST,
    STORE_TASKS_RATE,
    Pacer,
    Requests,
    RetryPolicy,
    Waiter,
    pages,
)
from amimon.cli import main
from amimon.model import Target
from amimon.sim import DEMO_CREDENTIALS, FrozenClock, SimServer
from amimon.sim.server import Fault
from tests.factories import T0
from tests.simulator import many


class FakeTime:
    """A monotonic clock that only moves when something waits."""

    def __init__(self) -> None:
        self.now = 0.0
        self.waits: list[float] = []

    def monotonic(self) -> float:
        return self.now

    def pause(self, seconds: float) -> None:
        self.waits.append(seconds)
        self.now += seconds

    def waiter(self) -> Waiter:
        return Waiter(monotonic=self.monotonic, pause=self.pause, rand=lambda: 0.5)


def test_a_listing_spends_at_most_half_the_accounts_burst() -> None:
    """AWS's bucket: 50 tokens, 0.5/s refill. amimon's pacer: 25 at once, then the refill
    rate, so AWS's bucket never drops below 25 because of one amimon listing."""
    clock = FakeTime()
    pacer = Pacer(STORE_TASKS_BURST, STORE_TASKS_RATE, clock.waiter())
    sent_at = []
    for _ in range(50):  # 10,000 tasks at 200 a page
        pacer.take()
        sent_at.append(clock.now)
    assert sent_at[:25] == [0.0] * 25
    assert sent_at[-1] == pytest.approx(50.0)  # then one every 2 s
    # Replay AWS's bucket over those requests: it never goes below half.
    tokens, last = 50.0, 0.0
    lowest = tokens
    for at in sent_at:
        tokens = min(50.0, tokens + (at - last) * 0.5) - 1
        last = at
        lowest = min(lowest, tokens)
    assert lowest >= 24


def test_after_throttling_the_pacer_slows_to_the_refill_rate() -> None:
    clock = FakeTime()
    pacer = Pacer(25, 0.5, clock.waiter())
    pacer.take()
    pacer.drain()
    before = clock.now
    pacer.take()
    assert clock.now - before == pytest.approx(2.0)


def test_a_failed_page_is_retried_where_it_stopped() -> None:
    calls: list[dict[str, Any]] = []
    script: Iterator[Any] = iter(
        [
            {"StoreImageTaskResults": [1], "NextToken": "a"},
            _throttled(),
            {"StoreImageTaskResults": [2], "NextToken": "b"},
            {"StoreImageTaskResults": [3]},
        ]
    )

    def call(**params: Any) -> Any:
        calls.append(params)
        answer = next(script)
        if isinstance(answer, Exception):
            raise answer
        return answer

    clock = FakeTime()
    counts = Requests()
    got = list(
        pages(
            call,
            {"MaxResults": 200},
            target=Target(None, "us-east-1"),
            pacer=Pacer(25, 0.5, clock.waiter()),
            policy=RetryPolicy(),
            waiter=clock.waiter(),
            counts=counts,
        )
    )
    assert [p["StoreImageTaskResults"] for p in got] == [[1], [2], [3]]
    assert [c.get("NextToken") for c in calls] == [None, "a", "a", "b"]
    assert (counts.sent, counts.retried) == (4, 1)


def _throttled() -> Exception:
    from botocore.exceptions import ClientError

    return ClientError(
        {"Error": {"Code": "RequestLimitExceeded", "Message": "slow down"}},
        "DescribeStoreImageTasks",
    )


@pytest.fixture
def fake_time(monkeypatch: pytest.MonkeyPatch) -> FakeTime:
    """Sources made by the commands wait on fake time: pacing and backoff cost nothing."""
    clock = FakeTime()
    monkeypatch.setattr(source_module, "Waiter", clock.waiter)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", DEMO_CREDENTIALS[0])
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", DEMO_CREDENTIALS[1])
    return clock


def throttle_requests(server: SimServer, numbers: set[int]) -> None:
    """Answer the requests with these ordinal numbers (1-based) with RequestLimitExceeded."""
    seen = {"n": 0}
    original = server.take_fault

    def take_fault(action: str, region: str = "us-east-1") -> Fault | None:
        if action == "DescribeStoreImageTasks":
            seen["n"] += 1
            if seen["n"] in numbers:
                return Fault("throttle")
        return original(action, region)

    server.take_fault = take_fault  # type: ignore[method-assign]


def test_ten_thousand_tasks_survive_two_throttled_pages(
    fake_time: FakeTime, capsys: pytest.CaptureFixture[str]
) -> None:
    with SimServer(many(10_000, minutes_apart=4), FrozenClock(T0)) as server:
        throttle_requests(server, {20, 21})
        code = main(["list", "-o", "json", "--endpoint-url", server.url, "--region", "us-east-1"])
        requests = server.requests["DescribeStoreImageTasks"]
    assert code == 0
    items = json.loads(capsys.readouterr().out)["StoreImageTaskResults"]
    assert len(items) == 10_000
    assert len({i["AmiId"] for i in items}) == 10_000
    assert requests == 50 + 2  # every request counted, the two retries included
    # 25 pages at once, then the refill rate; the retries waited their backoff too.
    assert fake_time.now == pytest.approx(sum(fake_time.waits)) and 50 <= fake_time.now <= 70


def test_a_page_that_keeps_failing_fails_the_list_with_what_went_wrong(
    fake_time: FakeTime, capsys: pytest.CaptureFixture[str]
) -> None:
    with SimServer(many(500), FrozenClock(T0)) as server:
        throttle_requests(server, set(range(2, 100)))
        code = main(["list", "-o", "json", "--endpoint-url", server.url, "--region", "us-east-1"])
        requests = server.requests["DescribeStoreImageTasks"]
    assert code == 4
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "AWS is throttling DescribeStoreImageTasks" in captured.err
    assert requests == 1 + RetryPolicy().attempts

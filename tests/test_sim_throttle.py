"""AWS-style token buckets on the simulator, driven by an injected monotonic clock."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from botocore.exceptions import ClientError

from amimon.aws.paging import RetryPolicy, Waiter
from amimon.sim import FrozenClock, SimServer
from amimon.sim.throttle import Throttle, family_of
from tests.factories import T0
from tests.simulator import ami, client, many, source


class Ticker:
    """A monotonic clock that moves only when told."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@contextmanager
def throttled() -> Iterator[tuple[SimServer, Ticker]]:
    ticker = Ticker()
    with SimServer(many(3), FrozenClock(T0), throttle=True, monotonic=ticker) as server:
        yield server, ticker


def refused(call: object, **params: object) -> bool:
    """True if the call was throttled: RequestLimitExceeded with HTTP 503."""
    try:
        call(**params)  # type: ignore[operator]
    except ClientError as exc:
        assert exc.response["Error"]["Code"] == "RequestLimitExceeded"
        assert exc.response["ResponseMetadata"]["HTTPStatusCode"] == 503
        return True
    return False


def test_store_task_listing_bursts_50_then_is_throttled_until_refilled() -> None:
    with throttled() as (server, ticker):
        describe = client(server).describe_store_image_tasks
        assert [refused(describe) for _ in range(50)] == [False] * 50
        assert refused(describe)
        assert (
            server.requests["DescribeStoreImageTasks"],
            server.throttled["DescribeStoreImageTasks"],
        ) == (50, 1)
        ticker.now += 1.9  # 0.5 tokens per second: not yet one whole token
        assert refused(describe)
        ticker.now += 0.1
        assert not refused(describe)
        assert refused(describe)
        ticker.now += 3600  # refills to the burst, no further
        assert sum(not refused(describe) for _ in range(52)) == 50


def test_families_and_regions_have_buckets_of_their_own() -> None:
    with throttled() as (server, _ticker):
        east = client(server)
        for _ in range(50):
            east.describe_store_image_tasks()
        assert refused(east.describe_store_image_tasks)
        assert not refused(east.describe_images)  # the Describe family is untouched
        assert not refused(client(server, "eu-west-1").describe_store_image_tasks)
        assert server.throttled == {"DescribeStoreImageTasks": 1}


def test_describe_images_bursts_100_and_refills_20_per_second() -> None:
    with throttled() as (server, ticker):
        describe = client(server).describe_images
        assert sum(not refused(describe) for _ in range(101)) == 100
        ticker.now += 0.05
        assert not refused(describe)
        assert refused(describe)
        assert not refused(client(server).describe_store_image_tasks)
        assert server.throttled["DescribeImages"] == 2


def test_create_store_image_task_bursts_50_and_refills_one_every_10_seconds() -> None:
    ticker = Ticker()
    bucket = Throttle(ticker)
    assert all(bucket.allow("CreateStoreImageTask", "us-east-1") for _ in range(50))
    assert not bucket.allow("CreateStoreImageTask", "us-east-1")
    assert not bucket.allow("CreateRestoreImageTask", "us-east-1")  # the same bucket
    ticker.now += 9.9
    assert not bucket.allow("CreateStoreImageTask", "us-east-1")
    ticker.now += 0.1
    assert bucket.allow("CreateStoreImageTask", "us-east-1")
    assert bucket.allow("DescribeStoreImageTasks", "us-east-1")
    assert bucket.tokens("DescribeStoreImageTasks", "us-east-1") == 49


def test_throttled_creates_answer_request_limit_exceeded() -> None:
    with throttled() as (server, _ticker):
        create = client(server).create_store_image_task
        for n in range(50):  # each refused for its own reason, each spends a token
            with pytest.raises(ClientError) as caught:
                create(ImageId=ami(100 + n), Bucket="b")
            assert caught.value.response["Error"]["Code"] == "InvalidAMIID.NotFound"
        assert refused(create, ImageId=ami(0), Bucket="b")


@pytest.mark.parametrize(
    ("action", "family"),
    [
        ("DescribeStoreImageTasks", "DescribeStoreImageTasks"),
        ("DescribeImages", "Describe"),
        ("DescribeInstances", "Describe"),
        ("CreateStoreImageTask", "CreateStoreRestoreImageTask"),
        ("RunInstances", None),
    ],
)
def test_throttle_families(action: str, family: str | None) -> None:
    assert family_of(action) == family


def test_without_throttle_nothing_is_refused() -> None:
    with SimServer(many(3), FrozenClock(T0)) as server:
        describe = client(server).describe_store_image_tasks
        assert not any(refused(describe) for _ in range(60))
        assert server.throttled == {}


def test_amimon_sees_the_throttling_and_injected_faults_still_work() -> None:
    with throttled() as (server, ticker):
        src = source(server, retry=RetryPolicy(attempts=1))
        server.inject("unauthorized", times=1, action="DescribeImages")
        with pytest.raises(ClientError) as caught:
            client(server).describe_images()
        assert caught.value.response["Error"]["Code"] == "UnauthorizedOperation"
        for _ in range(50):
            assert src.fetch().failures == ()
        (failure,) = src.fetch().failures
        assert failure.kind == "throttled"
        ticker.now += 2
        assert src.fetch().failures == ()


def test_a_paced_listing_of_10000_tasks_is_never_throttled_and_leaves_half_the_burst() -> None:
    """amimon's own pacer against AWS's bucket (issue 10 #3): 50 pages, none refused,
    and the account's bucket never below 25 tokens for other callers."""
    ticker = Ticker()

    def pause(seconds: float) -> None:
        ticker.now += seconds

    lowest = [50.0]
    with SimServer(
        many(10_000, minutes_apart=4), FrozenClock(T0), throttle=True, monotonic=ticker
    ) as server:
        assert server.throttle is not None
        original = server.throttle.allow

        def allow(action: str, region: str) -> bool:
            answer = original(action, region)
            lowest[0] = min(lowest[0], server.throttle.tokens(action, region))  # type: ignore[union-attr]
            return answer

        server.throttle.allow = allow  # type: ignore[method-assign]
        src = source(server, paced=True, waiter=Waiter(monotonic=ticker, pause=pause))
        snapshot = src.fetch()
    assert len(snapshot.tasks) == 10_000 and snapshot.failures == ()
    assert server.requests["DescribeStoreImageTasks"] == 50
    assert server.throttled == {}
    assert lowest[0] >= 24  # at most half of the burst, less the request in flight

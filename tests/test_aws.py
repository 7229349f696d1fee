"""The AWS adapter against botocore's Stubber: requests as AWS wants them, errors in words."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest
from botocore import exceptions as bce
from botocore.parsers import ResponseParserError
from botocore.stub import Stubber

from amimon.aws import AwsError, Ec2TaskSource, Query, classify
from amimon.aws.paging import RetryPolicy
from amimon.model import ErrorKind, Target

ONCE = RetryPolicy(attempts=1)

TARGET = Target("prod", "us-east-1")
START = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)


def item(n: int, state: str = "InProgress", bucket: str = "archive") -> dict[str, Any]:
    return {
        "AmiId": f"ami-{n:08x}",
        "TaskStartTime": START,
        "Bucket": bucket,
        "S3objectKey": f"ami-{n:08x}.bin",
        "ProgressPercentage": n % 100,
        "StoreTaskState": state,
    }


@pytest.fixture
def stubbed() -> Iterator[tuple[Ec2TaskSource, Stubber]]:
    def make(query: Query) -> tuple[Ec2TaskSource, Stubber]:
        client = boto3.client(
            "ec2", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="y"
        )
        source = Ec2TaskSource([TARGET], query, retry=ONCE)
        source.set_client(TARGET, client)
        return source, Stubber(client)

    made: list[Stubber] = []

    def factory(query: Query | None = None) -> tuple[Ec2TaskSource, Stubber]:
        source, stub = make(query or Query())
        stub.activate()
        made.append(stub)
        return source, stub

    yield factory  # type: ignore[misc]
    for stub in made:
        stub.assert_no_pending_responses()
        stub.deactivate()


def test_three_pages_are_followed_with_page_size_200(stubbed: Any) -> None:
    source, stub = stubbed()
    stub.add_response(
        "describe_store_image_tasks",
        {"StoreImageTaskResults": [item(1), item(2)], "NextToken": "t1"},
        {"MaxResults": 200},
    )
    stub.add_response(
        "describe_store_image_tasks",
        {"StoreImageTaskResults": [item(3)], "NextToken": "t2"},
        {"MaxResults": 200, "NextToken": "t1"},
    )
    stub.add_response(
        "describe_store_image_tasks",
        {"StoreImageTaskResults": [item(4)]},
        {"MaxResults": 200, "NextToken": "t2"},
    )
    snapshot = source.fetch()
    assert [t.ami_id for t in snapshot.tasks] == [f"ami-{n:08x}" for n in (1, 2, 3, 4)]
    assert snapshot.covered == {TARGET}
    assert snapshot.failures == ()


def test_45_image_ids_make_3_requests_without_max_results(stubbed: Any) -> None:
    ids = tuple(f"ami-{n:08x}" for n in range(45))
    source, stub = stubbed(Query(image_ids=ids))
    for chunk in (ids[:20], ids[20:40], ids[40:]):
        stub.add_response(
            "describe_store_image_tasks",
            {"StoreImageTaskResults": [item(int(chunk[0][4:], 16))]},
            {"ImageIds": list(chunk)},  # exact params: MaxResults absent
        )
    snapshot = source.fetch()
    assert len(snapshot.tasks) == 3


def test_filters_are_sent_to_the_server(stubbed: Any) -> None:
    source, stub = stubbed(Query(buckets=("archive", "dr"), states=("Failed",)))
    stub.add_response(
        "describe_store_image_tasks",
        {"StoreImageTaskResults": [item(1, "Failed")]},
        {
            "MaxResults": 200,
            "Filters": [
                {"Name": "task-state", "Values": ["Failed"]},
                {"Name": "bucket", "Values": ["archive", "dr"]},
            ],
        },
    )
    assert len(source.fetch().tasks) == 1


def test_with_image_ids_no_filters_are_sent_and_every_task_is_returned(stubbed: Any) -> None:
    # AWS ignores filters with ImageIds; the caller filters what it shows.
    source, stub = stubbed(
        Query(image_ids=("ami-00000001", "ami-00000002", "ami-00000001"), states=("Failed",))
    )
    stub.add_response(
        "describe_store_image_tasks",
        {"StoreImageTaskResults": [item(1, "Failed"), item(2, "Completed")]},
        {"ImageIds": ["ami-00000001", "ami-00000002"]},  # each id once
    )
    assert [t.ami_id for t in source.fetch().tasks] == ["ami-00000001", "ami-00000002"]


@pytest.mark.parametrize(
    ("code", "status", "kind", "words"),
    [
        ("RequestLimitExceeded", 503, ErrorKind.THROTTLED, "throttling"),
        ("UnauthorizedOperation", 403, ErrorKind.PERMISSION, "ec2:DescribeStoreImageTasks"),
        ("AuthFailure", 401, ErrorKind.CREDENTIALS, "aws sso login --profile prod"),
        ("RequestExpired", 400, ErrorKind.CREDENTIALS, "Credentials expired"),
        ("ExpiredToken", 400, ErrorKind.CREDENTIALS, "Credentials expired"),
        ("InvalidParameterCombination", 400, ErrorKind.BAD_REQUEST, "InvalidParameterCombination"),
        ("InvalidAMIID.Malformed", 400, ErrorKind.BAD_REQUEST, "InvalidAMIID.Malformed"),
        ("InternalError", 500, ErrorKind.SERVER, "server error"),
        ("Weird", 503, ErrorKind.SERVER, "server error"),
        ("Weird", 418, ErrorKind.UNKNOWN, "Weird"),
    ],
)
def test_client_errors_become_one_classified_failure(
    stubbed: Any, code: str, status: int, kind: ErrorKind, words: str
) -> None:
    source, stub = stubbed()
    stub.add_client_error(
        "describe_store_image_tasks",
        service_error_code=code,
        service_message="details from AWS",
        http_status_code=status,
        response_meta={"RequestId": "req-123"},
    )
    with pytest.raises(AwsError) as caught:
        source.fetch_target(TARGET)
    error = caught.value
    assert error.kind is kind
    assert words in error.message
    assert error.request_id == "req-123"
    assert error.target == TARGET


def test_a_failed_target_is_a_failure_in_the_snapshot_not_an_exception(stubbed: Any) -> None:
    source, stub = stubbed()
    stub.add_client_error(
        "describe_store_image_tasks", "UnauthorizedOperation", http_status_code=403
    )
    snapshot = source.fetch()
    assert snapshot.tasks == ()
    assert snapshot.covered == frozenset()
    assert [f.kind for f in snapshot.failures] == ["permission"]


@pytest.mark.parametrize(
    ("exc", "kind", "words"),
    [
        (bce.NoCredentialsError(), ErrorKind.CREDENTIALS, "No AWS credentials"),
        (
            bce.SSOTokenLoadError(error_msg="x"),
            ErrorKind.CREDENTIALS,
            "aws sso login --profile prod",
        ),
        (bce.UnauthorizedSSOTokenError(), ErrorKind.CREDENTIALS, "SSO session expired"),
        (
            bce.EndpointConnectionError(endpoint_url="http://x"),
            ErrorKind.NETWORK,
            "Could not connect",
        ),
        (bce.ReadTimeoutError(endpoint_url="http://x"), ErrorKind.NETWORK, "Timed out"),
        (bce.ConnectTimeoutError(endpoint_url="http://x"), ErrorKind.NETWORK, "Timed out"),
        (ResponseParserError("bad xml"), ErrorKind.BAD_RESPONSE, "could not be read"),
        (bce.ProfileNotFound(profile="nope"), ErrorKind.CONFIG, "'nope'"),
        (bce.NoRegionError(), ErrorKind.CONFIG, "--region"),
        (RuntimeError("surprise"), ErrorKind.UNKNOWN, "surprise"),
    ],
)
def test_other_failures_are_classified(exc: BaseException, kind: ErrorKind, words: str) -> None:
    error = classify(exc, TARGET)
    assert error.kind is kind
    assert words in error.message


class ExplodingClient:
    """Stands in for a client whose transport fails in a way Stubber cannot fake."""

    def __init__(self, exc: BaseException) -> None:
        self.exc = exc

    def describe_store_image_tasks(self, **params: Any) -> dict[str, Any]:
        raise self.exc


def test_response_parser_error_from_a_fetch_is_a_bad_response() -> None:
    source = Ec2TaskSource([TARGET], retry=ONCE)
    source.set_client(TARGET, ExplodingClient(ResponseParserError("junk")))  # type: ignore[arg-type]
    snapshot = source.fetch()
    assert [f.kind for f in snapshot.failures] == ["bad response"]


def test_dry_run_permitted_and_denied(stubbed: Any) -> None:
    source, stub = stubbed()
    stub.add_client_error("describe_store_image_tasks", "DryRunOperation", http_status_code=412)
    assert source.check_permission(TARGET) == TARGET
    stub.add_client_error(
        "describe_store_image_tasks", "UnauthorizedOperation", http_status_code=403
    )
    with pytest.raises(AwsError) as caught:
        source.check_permission(TARGET)
    assert caught.value.kind is ErrorKind.PERMISSION


def test_unknown_profile_is_a_config_error() -> None:
    source = Ec2TaskSource([Target("no-such-profile", "us-east-1")])
    (failure,) = source.fetch().failures
    assert failure.kind == "config"
    assert "no-such-profile" in failure.message


def test_no_region_anywhere_is_a_config_error() -> None:
    (failure,) = Ec2TaskSource([Target()]).fetch().failures
    assert failure.kind == "config"
    assert "--region" in failure.message

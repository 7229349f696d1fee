"""The simulator over loopback, through the real boto3 path: every rule and every fault."""

from __future__ import annotations

import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from botocore.exceptions import ClientError

from amimon.aws import AwsError, Query
from amimon.aws.paging import RetryPolicy
from amimon.model import ErrorKind
from amimon.sim import (
    FrozenClock,
    ImageSpec,
    ScaledClock,
    Scenario,
    ScenarioError,
    TaskSpec,
    load_scenario,
)
from amimon.sim.scenario import default_scenario, parse_offset
from tests.factories import T0
from tests.scenes import scene_scenario
from tests.simulator import ami, client, clock, many, read_lines, running, source, target


def code_of(exc: pytest.ExceptionInfo[ClientError]) -> str:
    return str(exc.value.response["Error"]["Code"])


def test_page_size_7_over_45_tasks_returns_each_in_window_task_once() -> None:
    # 45 tasks 16 hours apart: 30 days of them, the rest older than 31 days.
    with running(many(60, minutes_apart=16 * 60)) as server:
        snapshot = source(server, page_size=7).fetch()
        ids = [t.ami_id for t in snapshot.tasks]
        assert len(ids) == len(set(ids))
        in_window = [ami(n) for n in range(60) if 16 * 60 * (n + 1) <= 31 * 24 * 60]
        assert sorted(ids) == sorted(in_window)
        assert len(ids) == 46
        assert server.requests["DescribeStoreImageTasks"] == 7  # ceil(46 / 7)


def test_tasks_come_newest_first() -> None:
    with running(many(10)) as server:
        starts = [t.start_time for t in source(server).fetch().tasks]
        assert starts == sorted(starts, reverse=True)  # type: ignore[type-var]


def test_a_task_starting_while_paging_shifts_and_repeats_nothing() -> None:
    scenario = Scenario(
        (*many(20).tasks, TaskSpec(ami(999), "archive", timedelta(minutes=5), timedelta(hours=1)))
    )
    with running(scenario) as server:
        ec2 = client(server)
        first = ec2.describe_store_image_tasks(MaxResults=7)
        clock(server).advance(timedelta(minutes=6))  # ami 999 starts now: newest of all
        seen = [t["AmiId"] for t in first["StoreImageTaskResults"]]
        token = first.get("NextToken")
        while token:
            page = ec2.describe_store_image_tasks(MaxResults=7, NextToken=token)
            seen += [t["AmiId"] for t in page["StoreImageTaskResults"]]
            token = page.get("NextToken")
        assert sorted(seen) == sorted(ami(n) for n in range(20))


def test_a_forged_token_is_refused() -> None:
    with running(many(10)) as server, pytest.raises(ClientError) as caught:
        client(server).describe_store_image_tasks(MaxResults=5, NextToken="Zm9yZ2Vk")
    assert code_of(caught) == "InvalidParameterValue"


def test_filters_or_within_and_across() -> None:
    with running(many(21, bucket="mixed")) as server:
        tasks = source(server, Query(buckets=("archive", "dr"), states=("Failed",))).fetch().tasks
        assert tasks
        assert {t.bucket for t in tasks} <= {"archive", "dr"}
        assert {t.state for t in tasks} == {"Failed"}
        # Filter values are case-sensitive.
        assert source(server, Query(buckets=("ARCHIVE",))).fetch().tasks == ()


def test_image_ids_ignore_server_filters_and_amimon_filters_them_itself() -> None:
    with running(many(21, bucket="mixed")) as server:
        ec2 = client(server)
        raw = ec2.describe_store_image_tasks(
            ImageIds=[ami(0), ami(1)], Filters=[{"Name": "bucket", "Values": ["nope"]}]
        )
        assert len(raw["StoreImageTaskResults"]) == 2  # AWS ignores filters with ImageIds
        # So the source sends none, and returns every task of those AMIs for the caller
        # to filter (``list`` does; the monitor filters in the view).
        tasks = source(server, Query(image_ids=(ami(0), ami(1)), buckets=("archive",))).fetch()
        assert sorted(t.ami_id for t in tasks.tasks) == [ami(0), ami(1)]


def test_45_image_ids_are_sent_as_3_requests() -> None:
    with running(many(50)) as server:
        ids = tuple(ami(n) for n in range(45))
        tasks = source(server, Query(image_ids=ids)).fetch().tasks
        assert len(tasks) == 45
        assert server.requests["DescribeStoreImageTasks"] == 3


@pytest.mark.parametrize(
    ("params", "code"),
    [
        ({"ImageIds": [ami(n) for n in range(21)]}, "InvalidParameterValue"),
        ({"ImageIds": [ami(1)], "MaxResults": 5}, "InvalidParameterCombination"),
        ({"MaxResults": 0}, "InvalidParameterValue"),
        ({"MaxResults": 201}, "InvalidParameterValue"),
        ({"ImageIds": ["ami-nothex!"]}, "InvalidAMIID.Malformed"),
        ({"Filters": [{"Name": "state", "Values": ["Failed"]}]}, "InvalidParameterValue"),
        ({"Filters": [{"Name": "task-state", "Values": ["failed"]}]}, "InvalidParameterValue"),
    ],
)
def test_rules_of_describe(params: dict[str, object], code: str) -> None:
    with running(many(5)) as server, pytest.raises(ClientError) as caught:
        client(server).describe_store_image_tasks(**params)
    assert code_of(caught) == code
    assert caught.value.response["ResponseMetadata"]["RequestId"]


def test_dry_run() -> None:
    with running(many(5)) as server:
        src = source(server)
        assert src.check_permission(target(server)) == target(server)
        server.inject("unauthorized", times=1)
        with pytest.raises(AwsError) as caught:
            src.check_permission(target(server))
        assert caught.value.kind is ErrorKind.PERMISSION


def test_only_the_last_31_days_are_returned_and_time_moves_tasks() -> None:
    spec = TaskSpec(ami(1), "archive", -timedelta(days=30, hours=23), timedelta(minutes=10))
    running_spec = TaskSpec(ami(2), "archive", -timedelta(minutes=5), timedelta(minutes=10))
    with running(Scenario((spec, running_spec))) as server:
        src = source(server)
        first = {t.ami_id: t for t in src.fetch().tasks}
        assert set(first) == {ami(1), ami(2)}
        assert first[ami(2)].progress == 50
        clock(server).advance(timedelta(hours=2))
        later = {t.ami_id: t for t in src.fetch().tasks}
        assert set(later) == {ami(2)}
        assert later[ami(2)].state == "Completed"


def test_create_store_image_task_and_its_refusals() -> None:
    # ami 77 is an image of the account that no task has stored yet; ami 78 was deregistered.
    images = (ImageSpec(ami(77)), ImageSpec(ami(78), deregistered=True))
    with running(Scenario(many(1).tasks, images)) as server:
        ec2 = client(server)
        for gone in (ami(78), ami(79)):  # deregistered, never existed
            with pytest.raises(ClientError) as refused:
                ec2.create_store_image_task(ImageId=gone, Bucket="b")
            assert code_of(refused) == "InvalidAMIID.NotFound"
            assert gone in refused.value.response["Error"]["Message"]
        assert ec2.create_store_image_task(ImageId=ami(77), Bucket="b")["ObjectKey"] == (
            f"{ami(77)}.bin"
        )
        with pytest.raises(ClientError):
            ec2.create_store_image_task(ImageId=ami(77), Bucket="other")  # still running
        clock(server).advance(timedelta(hours=1))
        with pytest.raises(ClientError):
            ec2.create_store_image_task(ImageId=ami(77), Bucket="b")  # already there
        assert ec2.create_store_image_task(ImageId=ami(77), Bucket="other")["ObjectKey"]
        tasks = [t for t in source(server).fetch().tasks if t.ami_id == ami(77)]
        assert [t.state for t in tasks] == ["InProgress", "Completed"]


@pytest.mark.parametrize(
    ("fault", "kind"),
    [
        ("throttle", "throttled"),
        ("expired", "credentials"),
        ("invalid-credentials", "credentials"),
        ("unauthorized", "permission"),
        ("server-error", "server error"),
        ("unavailable", "server error"),
        ("malformed", "bad response"),
        ("reset", "network"),
    ],
)
def test_each_fault_surfaces_as_the_right_kind_and_then_recovers(fault: str, kind: str) -> None:
    with running(many(3)) as server:
        src = source(server, retry=RetryPolicy(attempts=1))
        server.inject(fault, times=1)
        (failure,) = src.fetch().failures
        assert failure.kind == kind
        assert failure.message
        healthy = src.fetch()
        assert healthy.failures == () and len(healthy.tasks) == 3


def test_a_slow_response_beyond_the_read_timeout_is_a_network_error() -> None:
    with running(many(3)) as server:
        server.inject("slow", times=1, delay=1.5)
        (failure,) = (
            source(server, read_timeout=0.5, retry=RetryPolicy(attempts=1)).fetch().failures
        )
        assert failure.kind == "network"
        assert "Timed out" in failure.message


def test_faults_for_the_next_n_requests_only_and_counts() -> None:
    with running(many(3)) as server:
        src = source(server, retry=RetryPolicy(attempts=1))
        server.inject("throttle", times=2)
        kinds = [[f.kind for f in src.fetch().failures] for _ in range(3)]
        assert kinds == [["throttled"], ["throttled"], []]
        assert server.requests["DescribeStoreImageTasks"] == 3


def test_regions_are_told_apart_by_the_signature() -> None:
    scenario = Scenario(
        (
            TaskSpec(ami(1), "a", -timedelta(minutes=1), timedelta(hours=1)),
            TaskSpec(ami(2), "a", -timedelta(minutes=1), timedelta(hours=1), region="eu-west-1"),
        )
    )
    with running(scenario) as server:
        west = client(server, "eu-west-1").describe_store_image_tasks()
        assert [t["AmiId"] for t in west["StoreImageTaskResults"]] == [ami(2)]


# Clock and scenarios ---------------------------------------------------------------


def test_frozen_clock_moves_only_when_told() -> None:
    frozen = FrozenClock(T0)
    assert frozen.now() == T0
    assert frozen.advance(90) == T0 + timedelta(seconds=90)
    assert frozen.now() == T0 + timedelta(seconds=90)


def test_scaled_clock_runs_at_its_speed() -> None:
    ticks = iter([100.0, 110.0])
    scaled = ScaledClock(speed=6, origin=T0, monotonic=lambda: next(ticks))
    assert scaled.now() == T0 + timedelta(minutes=1)


@pytest.mark.parametrize(
    ("text", "seconds"), [("90s", 90), ("-45m", -2700), ("2h", 7200), ("1.5d", 129600), (30, 30)]
)
def test_offsets(text: object, seconds: int) -> None:
    assert parse_offset(text) == timedelta(seconds=seconds)


def test_default_scenario_has_what_a_demo_needs() -> None:
    specs = default_scenario().tasks
    assert 24 <= len(specs) <= 36
    assert len({s.bucket for s in specs if s.region == "us-east-1" and s.fail_at is None}) == 3
    assert any(s.start < -timedelta(days=31) for s in specs)
    assert {s.region for s in specs} == {"us-east-1", "eu-west-1"}
    amis = [s.ami_id for s in specs]
    assert any(amis.count(a) > 1 for a in amis)  # failed, then stored again
    starts = [s.start for s in specs if s.start < timedelta(0)]
    assert min(s for s in starts if s >= -timedelta(days=31)) < -timedelta(days=29)


def test_default_scenario_reasons_are_plain_aws_wording() -> None:
    reasons = [s.reason for s in default_scenario().tasks if s.reason]
    assert len(reasons) >= 4
    for reason in reasons:
        assert reason.isascii() and reason.isprintable(), reason
        assert "[" not in reason and "]" not in reason, reason  # nothing like Rich markup
    words = " ".join(reasons)
    for kind in ("was deleted", "no longer accessible", "bucket policy", "is in eu-west-1"):
        assert kind in words
    assert "already stored in bucket" in words


def test_the_scenes_keep_the_hostile_reasons_for_the_tests() -> None:
    specs = scene_scenario().tasks
    reasons = [s.reason for s in specs if s.reason]
    assert any("\n" in r for r in reasons)
    assert any("[bold" in r and "[/]" in r and "[link=" in r for r in reasons)
    assert any(not r.isascii() for r in reasons)
    assert len({s.bucket for s in specs}) == 3


def test_default_scenario_moves_in_the_first_minute() -> None:
    with running(default_scenario()) as server:
        src = source(server)
        before = {t.key: t for t in src.fetch().tasks}
        clock(server).advance(40)
        after = {t.key: t for t in src.fetch().tasks}
        clock(server).advance(40)
        later = {t.key: t for t in src.fetch().tasks}
    assert len(set(later) - set(after)) == 1  # a second task starts at +75 s
    completed = [
        k
        for k, t in after.items()
        if t.state == "Completed" and k in before and before[k].state == "InProgress"
    ]
    failed = [
        k
        for k, t in after.items()
        if t.state == "Failed" and k in before and before[k].state == "InProgress"
    ]
    assert len(completed) >= 2
    assert len(failed) == 1
    assert set(after) - set(before)  # a task started during the minute


def test_scenario_file_loads(tmp_path: Path) -> None:
    path = tmp_path / "s.toml"
    path.write_text(
        '[[task]]\nami_id = "ami-12345678"\nbucket = "b"\nstart = "-1h"\nduration = "2h"\n'
        'fail_at = 40\nreason = "boom"\n'
    )
    (spec,) = load_scenario(path).tasks
    assert (spec.start, spec.fail_at, spec.reason) == (-timedelta(hours=1), 40, "boom")


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("[[task]]\nami_id = 'ami-12345678'\n", "task 1: missing key 'bucket'"),
        ("[[task]]\nami_id='ami-1'\nbucket='b'\nstart=0\nduration=1\n", "malformed AMI id"),
        (
            "[[task]]\nami_id='ami-12345678'\nbucket='b'\nstart='soon'\nduration=1\n",
            "duration like",
        ),
        ("[[task]]\nami_id='ami-12345678'\nbucket='b'\nstart=0\nduration=1\ncolour=1\n", "colour"),
        ("tasks = 1\n", "unknown top-level key 'tasks'"),
        ("[[task]\n", "invalid TOML"),
        ("", "no [[task]]"),
    ],
)
def test_bad_scenario_files_name_the_file_and_the_problem(
    tmp_path: Path, text: str, words: str
) -> None:
    path = tmp_path / "s.toml"
    path.write_text(text)
    with pytest.raises(ScenarioError) as caught:
        load_scenario(path)
    assert str(caught.value).startswith(str(path))
    assert words in str(caught.value)


def test_sim_command_serves_boto3_and_prints_a_cli_line(tmp_path: Path) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "amimon", "sim", "--speed", "10"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        (first,) = read_lines(proc.stdout, 1)
        url = first.split()[2]
        assert url.startswith("http://127.0.0.1:")
        rest = read_lines(proc.stdout, 5)
        assert any(f"aws ec2 describe-store-image-tasks --endpoint-url {url}" in r for r in rest)
        (images_line,) = [r for r in rest if "aws ec2 describe-images" in r]
        assert f"--endpoint-url {url}" in images_line
        ids = images_line.split("Name=image-id,Values=")[1].split()[0].split(",")
        ec2 = client(url)
        tasks = ec2.describe_store_image_tasks()["StoreImageTaskResults"]
        assert len(tasks) > 20
        images = ec2.describe_images(Filters=[{"Name": "image-id", "Values": ids}])["Images"]
        assert sorted(i["ImageId"] for i in images) == sorted(ids) and ids
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_sim_command_with_a_bad_scenario_exits_2(tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text("nope = 1\n")
    out = subprocess.run(
        [sys.executable, "-m", "amimon", "sim", "--scenario", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 2
    assert str(path) in out.stderr and "Traceback" not in out.stderr

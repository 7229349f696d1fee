"""list, wait and check end to end against the simulator, through main()."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from datetime import timedelta

import pytest

from amimon.cli import main
from amimon.commands import wait as wait_command
from amimon.sim import DEMO_CREDENTIALS, FrozenClock, Scenario, SimServer, TaskSpec
from tests.factories import T0
from tests.simulator import ami, client, clock, many, running

RUNNING = TaskSpec(ami(1), "archive", -timedelta(minutes=5), timedelta(minutes=10))
FAILING = TaskSpec(
    ami(2), "dr", -timedelta(minutes=5), timedelta(minutes=10), fail_at=80, reason="[b]KMS[/b] off"
)
DONE = TaskSpec(ami(3), "archive", -timedelta(days=2), timedelta(minutes=10))


@pytest.fixture
def creds(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", DEMO_CREDENTIALS[0])
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", DEMO_CREDENTIALS[1])


@pytest.fixture
def sim(creds: None) -> Iterator[SimServer]:
    with running(Scenario((RUNNING, FAILING, DONE))) as server:
        yield server


def amimon(server: SimServer, *args: str) -> int:
    return main([*args, "--endpoint-url", server.url, "--region", "us-east-1"])


def test_list_json_has_the_aws_cli_document_shape(
    sim: SimServer, capsys: pytest.CaptureFixture[str]
) -> None:
    assert amimon(sim, "list", "--output", "json") == 0
    doc = json.loads(capsys.readouterr().out)
    assert list(doc) == ["StoreImageTaskResults"]
    items = doc["StoreImageTaskResults"]
    assert [i["AmiId"] for i in items] == [ami(1), ami(2), ami(3)] or len(items) == 3
    done = next(i for i in items if i["AmiId"] == ami(3))
    assert list(done) == [
        "AmiId",
        "TaskStartTime",
        "Bucket",
        "S3objectKey",
        "ProgressPercentage",
        "StoreTaskState",
    ]  # no StoreTaskFailureReason: absent fields stay absent
    assert done["TaskStartTime"] == "2026-11-25T12:00:00.000Z"
    assert done["ProgressPercentage"] == 100


def test_list_json_with_several_regions_tags_each_item(
    creds: None, capsys: pytest.CaptureFixture[str]
) -> None:
    west = TaskSpec(ami(9), "eu", -timedelta(minutes=1), timedelta(hours=1), region="eu-west-1")
    with running(Scenario((RUNNING, west))) as server:
        code = main(
            [
                "list",
                "-o",
                "json",
                "--endpoint-url",
                server.url,
                "--region",
                "us-east-1",
                "--region",
                "eu-west-1",
            ]
        )
    assert code == 0
    items = json.loads(capsys.readouterr().out)["StoreImageTaskResults"]
    assert {(i["Region"], i["AmiId"]) for i in items} == {
        ("us-east-1", ami(1)),
        ("eu-west-1", ami(9)),
    }


def test_list_csv(sim: SimServer, capsys: pytest.CaptureFixture[str]) -> None:
    assert amimon(sim, "list", "-o", "csv") == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("Region,Profile,AmiId,TaskStartTime")
    assert len(lines) == 4


def test_list_table_when_piped_is_plain_text_with_api_text_literal(
    sim: SimServer, capsys: pytest.CaptureFixture[str]
) -> None:
    clock(sim).advance(timedelta(minutes=4))  # ami 2 fails at 80%
    assert amimon(sim, "list") == 0
    out = capsys.readouterr().out
    assert "\x1b[" not in out
    assert "[b]KMS[/b] off" in out
    assert ami(1) in out and "Failed" in out


def test_list_against_an_unreachable_endpoint_exits_4(
    creds: None, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["list", "--endpoint-url", "http://127.0.0.1:9", "--region", "us-east-1"])
    assert code == 4
    assert "Could not connect" in capsys.readouterr().err


@pytest.fixture
def fast_wait(sim: SimServer, monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """Sleeping advances the simulator's clock instead of the real one."""
    frozen = clock(sim)
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        frozen.advance(seconds)

    waited = {"t": 0.0}

    def monotonic() -> float:
        return (frozen.now() - T0).total_seconds() + waited["t"]

    monkeypatch.setattr(
        wait_command, "WAIT_CLOCK", wait_command.WaitClock(sleep, monotonic, frozen.now)
    )
    return slept


def test_wait_exits_0_when_the_task_completes(
    sim: SimServer, fast_wait: list[float], capsys: pytest.CaptureFixture[str]
) -> None:
    assert amimon(sim, "wait", ami(1)) == 0
    out = capsys.readouterr().out
    # The last line names the task it judged by its start time.
    assert out.splitlines()[-1] == (
        f"{ami(1)} Completed (task started 2026-11-27 11:55:00 UTC): s3://archive/{ami(1)}.bin"
    )
    # One line per change when not a TTY, at the default 15 s interval.
    assert set(fast_wait) == {15.0}
    assert sim.requests["DescribeStoreImageTasks"] == len(fast_wait) + 1


def test_wait_exits_1_and_prints_the_reason_when_a_task_fails(
    sim: SimServer, fast_wait: list[float], capsys: pytest.CaptureFixture[str]
) -> None:
    assert amimon(sim, "wait", ami(1), ami(2)) == 1
    assert (
        f"{ami(2)} Failed (task started 2026-11-27 11:55:00 UTC): [b]KMS[/b] off"
        in capsys.readouterr().err
    )


def test_wait_exits_3_on_timeout(
    sim: SimServer, fast_wait: list[float], capsys: pytest.CaptureFixture[str]
) -> None:
    assert amimon(sim, "wait", ami(1), "--timeout", "1m") == 3
    assert "timed out after 1m" in capsys.readouterr().err


def test_wait_for_an_ami_without_a_task_gives_up_after_the_grace_period(
    sim: SimServer, fast_wait: list[float], capsys: pytest.CaptureFixture[str]
) -> None:
    assert amimon(sim, "wait", ami(77), "--grace", "2m") == 3
    assert f"no store task found for {ami(77)}" in capsys.readouterr().err


def test_wait_rides_out_a_few_throttled_requests_within_the_poll(
    sim: SimServer, fast_wait: list[float], capsys: pytest.CaptureFixture[str]
) -> None:
    sim.inject("throttle", times=3)
    assert amimon(sim, "wait", ami(1)) == 0
    polls = fast_wait.count(15.0) + 1
    # Each throttled request was retried after a short backoff, and each one counted.
    assert sim.requests["DescribeStoreImageTasks"] == polls + 3
    # Short backoffs (and waits for the pace to allow a request), never a skipped poll.
    assert sum(1 for s in fast_wait if s < 15) >= 3 and max(fast_wait) == 15
    assert "poll failed" not in capsys.readouterr().out


def test_wait_backs_off_and_says_so_when_throttling_outlasts_the_retries(
    sim: SimServer, fast_wait: list[float], capsys: pytest.CaptureFixture[str]
) -> None:
    sim.inject("throttle", times=8)  # more than one poll's six attempts
    assert amimon(sim, "wait", ami(1)) == 0
    out = capsys.readouterr().out
    assert "poll failed: AWS is throttling DescribeStoreImageTasks" in out
    assert "no store task yet" not in out  # a failed poll is not an absence
    assert max(fast_wait) > 15  # the next poll backed off


def test_wait_stops_at_once_when_not_permitted(
    sim: SimServer, fast_wait: list[float], capsys: pytest.CaptureFixture[str]
) -> None:
    sim.inject("unauthorized")
    assert amimon(sim, "wait", ami(1)) == 4
    assert "ec2:DescribeStoreImageTasks" in capsys.readouterr().err
    assert fast_wait == []


@pytest.mark.parametrize(
    ("fault", "code", "words"),
    [
        (None, 0, "✓ us-east-1: permitted"),
        ("unauthorized", 4, "not permitted: grant ec2:DescribeStoreImageTasks"),
        ("expired", 4, "credentials problem"),
        ("reset", 4, "network problem"),
    ],
)
def test_check(
    sim: SimServer, capsys: pytest.CaptureFixture[str], fault: str | None, code: int, words: str
) -> None:
    if fault:
        sim.inject(fault)
    assert amimon(sim, "check") == code
    assert words in capsys.readouterr().out


def test_check_in_demo_mode_needs_no_aws_config(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_PROFILE", "profile-that-does-not-exist")
    out = subprocess.run(
        [sys.executable, "-m", "amimon", "check", "--demo"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 0, out.stderr
    assert "permitted" in out.stdout and "DEMO" in out.stdout


def test_list_demo_works_from_the_command_line() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "amimon", "list", "--demo", "-o", "json"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 0, out.stderr
    assert len(json.loads(out.stdout)["StoreImageTaskResults"]) > 20


def test_unknown_state_is_rejected_before_any_request(sim: SimServer) -> None:
    with pytest.raises(SystemExit) as caught:
        amimon(sim, "list", "--state", "Done")
    assert caught.value.code == 2
    assert sim.requests["DescribeStoreImageTasks"] == 0


def test_a_simulator_with_many_tasks_lists_them_all(
    creds: None, capsys: pytest.CaptureFixture[str]
) -> None:
    with SimServer(many(250), FrozenClock(T0)) as server:
        assert (
            main(["list", "-o", "csv", "--endpoint-url", server.url, "--region", "us-east-1"]) == 0
        )
        assert len(capsys.readouterr().out.splitlines()) == 251
        assert server.requests["DescribeStoreImageTasks"] == 2  # pages of 200


def test_wait_judges_only_tasks_in_the_wanted_bucket(
    creds: None, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    elsewhere = TaskSpec(ami(5), "other", -timedelta(days=1), timedelta(minutes=10))
    mine = TaskSpec(ami(5), "archive", -timedelta(minutes=9), timedelta(minutes=10))
    with running(Scenario((elsewhere, mine))) as server:
        slept = patch_wait_clock(server, monkeypatch)
        assert amimon(server, "wait", ami(5), "--bucket", "archive") == 0
        out = capsys.readouterr().out
    assert "Completed (task started 2026-11-27 11:51:00 UTC): s3://archive/" in out
    assert slept  # it waited for the task in archive, not the finished one in "other"


def test_wait_since_ignores_an_old_failure_and_waits_for_the_new_store(
    creds: None, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    old = TaskSpec(ami(6), "archive", -timedelta(days=1), timedelta(hours=1), fail_at=40)
    new = TaskSpec(ami(6), "archive", timedelta(minutes=1), timedelta(minutes=2))
    with running(Scenario((old, new))) as server:
        patch_wait_clock(server, monkeypatch)
        # Without --since, yesterday's failure is the newest task: exit 1 at once.
        assert amimon(server, "wait", ami(6)) == 1
        assert "task started 2026-11-26 12:00:00 UTC" in capsys.readouterr().err
        assert amimon(server, "wait", ami(6), "--since", "10m") == 0
        captured = capsys.readouterr()
    assert f"{ami(6)} no store task yet" in captured.out
    assert "Completed (task started 2026-11-27 12:01:00 UTC)" in captured.out


def test_wait_since_takes_an_iso_time_and_rejects_nonsense(
    sim: SimServer, fast_wait: list[float], capsys: pytest.CaptureFixture[str]
) -> None:
    assert amimon(sim, "wait", ami(1), "--since", "2026-11-27T11:50:00Z") == 0
    assert amimon(sim, "wait", ami(1), "--since", "yesterday-ish") == 2
    assert "argument --since: 'yesterday-ish' is neither a time" in capsys.readouterr().err


def test_wait_polls_once_more_at_the_deadline_before_timing_out(
    sim: SimServer, fast_wait: list[float], capsys: pytest.CaptureFixture[str]
) -> None:
    assert amimon(sim, "wait", ami(1), "--timeout", "20s") == 3
    # Polls at 0 s and 15 s, then a sleep to the deadline and one last poll at 20 s.
    assert fast_wait == [15.0, 5.0]
    assert sim.requests["DescribeStoreImageTasks"] == 3
    assert "timed out after 20s" in capsys.readouterr().err


def test_wait_takes_durations_as_amimon_prints_them(sim: SimServer, fast_wait: list[float]) -> None:
    assert amimon(sim, "wait", ami(1), "--timeout", "1h30m") == 0


def test_repeated_ami_ids_make_one_row_and_one_request_each(
    sim: SimServer, fast_wait: list[float], capsys: pytest.CaptureFixture[str]
) -> None:
    assert amimon(sim, "wait", ami(1), ami(1), "--image-ids", f"{ami(1)},{ami(1)}") == 0
    out = capsys.readouterr().out
    polls = len(fast_wait) + 1
    assert sim.requests["DescribeStoreImageTasks"] == polls
    assert out.count("Completed (task started") == 1


def test_ctrl_c_during_wait_prints_once_and_exits_130(creds: None) -> None:
    import os
    import signal
    import time

    with SimServer(Scenario((RUNNING,)), FrozenClock(T0)) as server:
        env = {**os.environ, "AWS_ACCESS_KEY_ID": "x", "AWS_SECRET_ACCESS_KEY": "y"}
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "amimon",
                "wait",
                ami(1),
                "--endpoint-url",
                server.url,
                "--region",
                "us-east-1",
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        deadline = time.monotonic() + 30
        while server.requests["DescribeStoreImageTasks"] == 0 and time.monotonic() < deadline:
            time.sleep(0.05)
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=30)
    assert proc.returncode == 130
    assert err.count("interrupted") == 1
    assert "Traceback" not in err


def patch_wait_clock(server: SimServer, monkeypatch: pytest.MonkeyPatch) -> list[float]:
    frozen = clock(server)
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        frozen.advance(seconds)

    def monotonic() -> float:
        return (frozen.now() - T0).total_seconds()

    monkeypatch.setattr(
        wait_command, "WAIT_CLOCK", wait_command.WaitClock(sleep, monotonic, frozen.now)
    )
    return slept


def test_list_says_how_many_tasks_a_server_side_filter_hid(
    sim: SimServer, capsys: pytest.CaptureFixture[str]
) -> None:
    assert amimon(sim, "list", "--state", "Failed", "--bucket", "archive") == 0
    out = capsys.readouterr().out
    assert "No Failed tasks in bucket archive for us-east-1" in out
    assert "a filter hid 3 in the last 31 days" in out
    assert "No store tasks in the last 31 days" not in out


def test_list_with_image_ids_filters_client_side_and_counts_what_it_hid(
    sim: SimServer, capsys: pytest.CaptureFixture[str]
) -> None:
    assert amimon(sim, "list", "--image-ids", f"{ami(1)},{ami(3)}", "--state", "Completed") == 0
    out = capsys.readouterr().out
    assert ami(3) in out and ami(1) not in out
    assert "a filter hid 1" in out


def test_list_json_is_the_aws_cli_document_for_any_item(
    creds: None, capsys: pytest.CaptureFixture[str]
) -> None:
    """Compared with what boto3 itself parsed from the same response (the AWS CLI prints
    that, with timestamps as sent): empty strings and odd characters included."""
    odd = TaskSpec(
        ami(4),
        "b",
        -timedelta(minutes=5),
        timedelta(minutes=10),
        fail_at=1,
        reason="\x7fDEL \u202ebidi\u202c CR\r LF\n and \u00e2\u0080\u009cquotes\u00e2\u0080\u009d",
    )
    with running(Scenario((odd, DONE))) as server:
        raw = client(server).describe_store_image_tasks()["StoreImageTaskResults"]
        assert amimon(server, "list", "-o", "json") == 0
    items = json.loads(capsys.readouterr().out)["StoreImageTaskResults"]
    for item in raw:
        item["TaskStartTime"] = item["TaskStartTime"].strftime("%Y-%m-%dT%H:%M:%S.000Z")
    assert items == raw


def test_check_never_promises_a_retry_it_does_not_make(
    sim: SimServer, capsys: pytest.CaptureFixture[str]
) -> None:
    sim.inject("throttle", times=1)
    assert amimon(sim, "check") == 4
    out = capsys.readouterr().out
    assert "throttled (permission unknown; try again)" in out
    assert "retrying" not in out and "backing off" not in out
    assert sim.requests["DescribeStoreImageTasks"] == 1

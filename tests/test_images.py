"""AMI details end to end: amimon's DescribeImages look-ups through the real boto3 client
against the simulator (issue 13): names, sizes, deregistered AMIs, a denial, throttling
of DescribeImages alone, ``list --wide``, ``check``, and ``wait`` running on_event."""

from __future__ import annotations

import csv
import io
import json
import sys
from datetime import timedelta
from pathlib import Path

import pytest

from amimon.aws.paging import RetryPolicy
from amimon.cli import main
from amimon.model import ErrorKind
from amimon.reducer import ImagesUnavailable, MonitorState, add_images, images_wanted, reduce
from amimon.sim import DEMO_CREDENTIALS, ImageSpec, Scenario, TaskSpec
from tests.factories import T0
from tests.simulator import ami, clock, running, source

HOUR = timedelta(hours=1)


def account() -> Scenario:
    tasks = (
        TaskSpec(ami(1), "archive", -timedelta(minutes=30), HOUR),
        TaskSpec(ami(2), "archive", -timedelta(days=2), HOUR),
        TaskSpec(ami(3), "dr", -timedelta(days=3), HOUR, fail_at=20, reason="Snapshot deleted"),
    )
    images = (
        ImageSpec(ami(1), name="web-frontend-2026.11.03", volumes=(8, 100)),
        ImageSpec(ami(2), deregistered=True),
        ImageSpec(ami(3), name="legacy-erp", volumes=(80, 50)),
    )
    return Scenario(tasks, images)


def polled(server: object, **kwargs: object) -> tuple[MonitorState, object]:
    src = source(server, **kwargs)  # type: ignore[arg-type]
    state, _ = reduce(MonitorState(), src.fetch(), T0)
    return state, src


def test_names_sizes_and_a_deregistered_ami_in_one_request() -> None:
    with running(account()) as server:
        state, src = polled(server)
        lookup = src.describe_images(images_wanted(state))  # type: ignore[attr-defined]
        state, events = add_images(state, lookup, T0)
        assert server.requests["DescribeImages"] == 1  # the filter asks for all three at once
    assert events == ()
    by_ami = {key[1]: image for key, image in state.images.items()}
    assert (by_ami[ami(1)].name, by_ami[ami(1)].size_gib) == ("web-frontend-2026.11.03", 108)
    assert by_ami[ami(2)].found is False  # deregistered after it was stored
    assert by_ami[ami(3)].size_gib == 130
    assert images_wanted(state) == {}  # asked once


def test_without_describe_images_amimon_says_so_once_and_keeps_working() -> None:
    with running(account()) as server:
        server.inject("unauthorized", action="DescribeImages")
        state, src = polled(server)
        lookup = src.describe_images(images_wanted(state))  # type: ignore[attr-defined]
        state, events = add_images(state, lookup, T0)
        assert [type(e) for e in events] == [ImagesUnavailable]
        assert "ec2:DescribeImages" in events[0].failure.message  # type: ignore[union-attr]
        assert "optional" in events[0].failure.message  # type: ignore[union-attr]
        assert images_wanted(state) == {}  # not asked again
        assert len(state.tasks) == 3  # store tasks unaffected


def test_throttling_of_describe_images_alone_leaves_the_tasks_alone() -> None:
    with running(account()) as server:
        server.inject("throttle", action="DescribeImages")
        state, src = polled(server, retry=RetryPolicy(attempts=2))
        lookup = src.describe_images(images_wanted(state))  # type: ignore[attr-defined]
        assert [f.kind for f in lookup.failures] == [ErrorKind.THROTTLED]
        state, events = add_images(state, lookup, T0)
        assert events == () and images_wanted(state)  # asked again next poll
        server.clear_faults()
        state, _ = add_images(state, src.describe_images(images_wanted(state)), T0)  # type: ignore[attr-defined]
        assert images_wanted(state) == {}
        assert server.requests["DescribeStoreImageTasks"] == 1


@pytest.fixture
def creds(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", DEMO_CREDENTIALS[0])
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", DEMO_CREDENTIALS[1])


def amimon(server: object, *args: str) -> int:
    return main([*args, "--endpoint-url", server.url, "--region", "us-east-1"])  # type: ignore[attr-defined]


def test_list_wide_adds_name_and_size_to_table_and_csv_and_leaves_json_alone(
    creds: None, capsys: pytest.CaptureFixture[str]
) -> None:
    with running(account()) as server:
        assert amimon(server, "list", "--wide") == 0
        table = capsys.readouterr().out
        assert amimon(server, "list", "--wide", "-o", "csv") == 0
        rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
        assert amimon(server, "list", "--wide", "-o", "json") == 0
        doc = json.loads(capsys.readouterr().out)
    assert "web-frontend-2026.11.03" in table and "108 GiB" in table
    assert "(deregistered)" in table
    assert {r["AmiId"]: (r["Name"], r["SizeGiB"]) for r in rows} == {
        ami(1): ("web-frontend-2026.11.03", "108"),
        ami(2): ("", ""),
        ami(3): ("legacy-erp", "130"),
    }
    assert "Name" not in doc["StoreImageTaskResults"][0]


def test_list_wide_without_the_permission_notes_it_and_succeeds(
    creds: None, capsys: pytest.CaptureFixture[str]
) -> None:
    with running(account()) as server:
        server.inject("unauthorized", action="DescribeImages")
        assert amimon(server, "list", "--wide") == 0
    captured = capsys.readouterr()
    assert "ec2:DescribeImages" in captured.err and ami(1) in captured.out


def test_check_reports_describe_images_as_optional(
    creds: None, capsys: pytest.CaptureFixture[str]
) -> None:
    with running(account()) as server:
        assert amimon(server, "check") == 0
        assert "optional ec2:DescribeImages (AMI names and sizes): permitted" in (
            capsys.readouterr().out
        )
        server.inject("unauthorized", action="DescribeImages")
        assert amimon(server, "check") == 0  # optional: still exit 0
        assert "not permitted; amimon works without it" in capsys.readouterr().out


def test_wait_runs_on_event_for_the_task_it_waits_on(
    creds: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from amimon.commands import wait as wait_command

    out = tmp_path / "events.jsonl"
    script = (
        "import json, os, sys; "
        "open(sys.argv[1], 'a').write(json.dumps({k: v for k, v in os.environ.items() "
        "if k.startswith('AMIMON_')}) + '\\n')"
    )
    with running(account()) as server:
        frozen = clock(server)

        def sleep(seconds: float) -> None:
            frozen.advance(seconds)

        def monotonic() -> float:
            return (frozen.now() - T0).total_seconds()

        monkeypatch.setattr(
            wait_command, "WAIT_CLOCK", wait_command.WaitClock(sleep, monotonic, frozen.now)
        )
        command = f"{sys.executable} -c {json.dumps(script)} {out}"
        assert amimon(server, "wait", ami(1), "--on-event", command) == 0
    (event,) = [json.loads(line) for line in out.read_text().splitlines()]
    assert event["AMIMON_EVENT"] == "completed"
    assert event["AMIMON_AMI_ID"] == ami(1)
    assert event["AMIMON_AMI_NAME"] == "web-frontend-2026.11.03"
    assert event["AMIMON_S3_URI"] == f"s3://archive/{ami(1)}.bin"

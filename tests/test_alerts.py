"""on_event: the user's command runs for completions, failures and stalls, without a
shell, with the facts in environment variables; hangs and failures never hurt amimon."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import pytest

from amimon.alerts import Alert, AlertRunner, alert_env, alerts_from
from amimon.model import ImageInfo, TrackedTask
from amimon.reducer import MonitorState, TaskCompleted, TaskFailed, TaskStalled, reduce
from tests.factories import EAST, at, snap, task

NASTY = "Denied; $(touch PWNED) `touch PWNED2` && rm -rf ~ | cat > x' \" \\ \n\x1b[2J end"

DUMP_ENV = (
    "import json, os, sys; "
    "json.dump({k: v for k, v in os.environ.items() if k.startswith('AMIMON_')}, "
    "open(sys.argv[1], 'a')); open(sys.argv[1], 'a').write('\\n')"
)


def tracked(reason: str = NASTY) -> TrackedTask:
    return TrackedTask(
        task=task("ami-00000001", 40, "Failed", reason=reason, bucket="my bucket"),
        first_seen=at(0),
        last_change=at(0),
    )


def wait_for(predicate: object, seconds: float = 20) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():  # type: ignore[operator]
            return
        time.sleep(0.05)
    raise AssertionError("timed out")


def test_the_command_gets_the_exact_text_in_its_environment_and_no_shell_sees_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    out = tmp_path / "env.jsonl"
    image = ImageInfo(EAST, "ami-00000001", name="web; reboot")
    runner = AlertRunner([sys.executable, "-c", DUMP_ENV, str(out)], timeout=20)
    runner.submit([Alert("failed", tracked(), image)])
    runner.close(wait=True)
    (line,) = out.read_text().splitlines()
    env = json.loads(line)
    assert env["AMIMON_REASON"] == NASTY
    assert env["AMIMON_EVENT"] == "failed"
    assert env["AMIMON_AMI_NAME"] == "web; reboot"
    assert env["AMIMON_BUCKET"] == "my bucket"
    assert env["AMIMON_S3_URI"] == "s3://my bucket/ami-00000001.bin"
    assert env["AMIMON_REGION"] == "us-east-1"
    assert not (tmp_path / "PWNED").exists() and not (tmp_path / "PWNED2").exists()


def test_a_nul_in_api_text_cannot_break_the_environment() -> None:
    assert alert_env(Alert("failed", tracked("a\x00b")))["AMIMON_REASON"] == "a\u2400b"


def test_a_command_that_hangs_is_stopped_at_its_timeout_and_reported_once() -> None:
    reports: list[str] = []
    runner = AlertRunner(
        [sys.executable, "-c", "import time; time.sleep(60)"], timeout=0.5, report=reports.append
    )
    started = time.monotonic()
    runner.submit([Alert("stalled", tracked()), Alert("stalled", tracked())])
    runner.close(wait=True)
    assert time.monotonic() - started < 10
    assert runner.failures == 2
    assert reports == [f"on_event command {sys.executable!r} timed out after 0.5 s"]


def test_a_failing_command_is_logged_and_reported_once(caplog: pytest.LogCaptureFixture) -> None:
    reports: list[str] = []
    runner = AlertRunner(
        [sys.executable, "-c", "import sys; print('webhook said 500'); sys.exit(3)"],
        report=reports.append,
    )
    runner.submit([Alert("completed", tracked()) for _ in range(3)])
    runner.close(wait=True)
    assert runner.failures == 3
    assert len(reports) == 1 and "exited with 3" in reports[0]
    assert "webhook said 500" in caplog.text


def test_a_missing_command_is_reported_not_raised() -> None:
    reports: list[str] = []
    runner = AlertRunner(["/nonexistent/notify"], report=reports.append)
    runner.submit([Alert("completed", tracked())])
    runner.close(wait=True)
    assert reports and "could not run" in reports[0]


def test_at_most_a_few_commands_run_at_once(tmp_path: Path) -> None:
    marker = tmp_path / "running"
    marker.mkdir()
    script = (
        "import os, sys, time, uuid; d = sys.argv[1]; p = os.path.join(d, uuid.uuid4().hex); "
        "open(p, 'w').close(); n = len(os.listdir(d)); time.sleep(0.3); os.remove(p); "
        "open(sys.argv[2], 'a').write(f'{n}\\n')"
    )
    seen = tmp_path / "seen"
    runner = AlertRunner([sys.executable, "-c", script, str(marker), str(seen)], timeout=20)
    runner.submit([Alert("completed", tracked()) for _ in range(10)])
    runner.close(wait=True)
    counts = [int(n) for n in seen.read_text().split()]
    assert len(counts) == 10 and max(counts) <= 4


def test_alerts_come_from_completions_failures_and_stalls_only() -> None:
    state, _ = reduce(
        MonitorState(), snap(task("ami-00000001", 10), task("ami-00000002", 5)), at(0)
    )
    state, events = reduce(
        state,
        snap(task("ami-00000001", 100, "Completed"), task("ami-00000002", 5, "Failed")),
        at(1),
    )
    kinds = [a.kind for a in alerts_from(events, lambda t: None)]
    assert sorted(kinds) == ["completed", "failed"]
    assert {type(e) for e in events} >= {TaskCompleted, TaskFailed}


def test_a_stalled_task_is_reported_once_and_again_only_after_it_moved() -> None:
    state, _ = reduce(MonitorState(), snap(task("ami-00000001", 10)), at(0))
    stalls = []
    for minute in range(1, 40):
        state, events = reduce(state, snap(task("ami-00000001", 10)), at(minute))
        stalls += [e for e in events if isinstance(e, TaskStalled)]
    assert len(stalls) == 1 and stalls[0].at == at(16)
    state, events = reduce(state, snap(task("ami-00000001", 11)), at(41))
    (tracked_task,) = state.tasks.values()
    assert tracked_task.stalled_at is None

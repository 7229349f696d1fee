"""The scriptable commands: ``list``, ``wait`` and ``check``, on the same core as the monitor.

Rich output on a terminal; plain text (or JSON/CSV) when piped. Exit codes are in cli.py.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.live import Live
from rich.table import Table
from rich.text import Text

from amimon import render
from amimon.aws import AwsError, Ec2TaskSource, ErrorKind, Query
from amimon.cli import EXIT_AWS, EXIT_OK, EXIT_TASK_FAILED, EXIT_TIMEOUT, EXIT_USAGE
from amimon.model import PollFailure, StoreTask, TaskState, iso_ms
from amimon.reducer import MonitorState, TrackedTask, estimate, reduce
from amimon.schedule import next_delay
from amimon.view import targets_label, visible

if TYPE_CHECKING:
    from amimon.cli import Context

# Kinds that waiting longer will not fix.
FATAL_KINDS = {ErrorKind.PERMISSION, ErrorKind.BAD_REQUEST, ErrorKind.CONFIG, ErrorKind.CREDENTIALS}


def _stderr() -> Console:
    return Console(stderr=True, highlight=False, soft_wrap=True)


def _exit_for(failures: Sequence[PollFailure]) -> int:
    return EXIT_USAGE if all(f.kind == ErrorKind.CONFIG for f in failures) else EXIT_AWS


def _report(failures: Sequence[PollFailure]) -> None:
    err = _stderr()
    for failure in failures:
        rid = f" (request id {failure.request_id})" if failure.request_id else ""
        err.print(Text(f"amimon: error: {failure.message}{rid}"))


# list ----------------------------------------------------------------------------------


def task_document(task: StoreTask, with_target: bool) -> dict[str, Any]:
    """One item as ``aws ec2 describe-store-image-tasks`` prints it; absent fields absent."""
    doc: dict[str, Any] = {}
    if with_target:
        if task.target.profile:
            doc["Profile"] = task.target.profile
        doc["Region"] = task.target.region
    fields: list[tuple[str, object]] = [
        ("AmiId", task.ami_id or None),
        ("TaskStartTime", iso_ms(task.start_time) if task.start_time else None),
        ("Bucket", task.bucket or None),
        ("S3objectKey", task.object_key or None),
        ("ProgressPercentage", task.progress),
        ("StoreTaskState", task.state or None),
        ("StoreTaskFailureReason", task.failure_reason or None),
    ]
    doc.update((k, v) for k, v in fields if v is not None)
    return doc


CSV_COLUMNS = (
    "Region",
    "Profile",
    "AmiId",
    "TaskStartTime",
    "Bucket",
    "S3objectKey",
    "ProgressPercentage",
    "StoreTaskState",
    "StoreTaskFailureReason",
)


def _csv(tasks: Sequence[StoreTask]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for task in tasks:
        doc = task_document(task, with_target=True)
        writer.writerow(["" if doc.get(c) is None else doc[c] for c in CSV_COLUMNS])
    return out.getvalue()


def _table(rows: Sequence[TrackedTask], now: datetime, regions: bool) -> Table:
    table = Table(box=None, header_style="bold", pad_edge=False)
    if regions:
        table.add_column("Region")
    for name in ("AMI", "Bucket", "State", "Progress", "ETA", "Started", "Reason"):
        table.add_column(
            name, overflow="fold" if name == "Reason" else "ellipsis", no_wrap=name != "Reason"
        )
    for tracked in rows:
        task = tracked.task
        remaining = estimate(tracked, now).remaining(now)
        cells: list[Text] = []
        if regions:
            cells.append(Text(task.target.region or "-"))
        cells += [
            Text(task.ami_id),
            Text(task.bucket),
            render.state_text(task.state),
            render.progress_text(task.progress, task.state),
            Text(render.duration(remaining) if remaining is not None else ""),
            Text(render.age(task.start_time, now)),
            Text(task.failure_reason.splitlines()[0] if task.failure_reason else ""),
        ]
        table.add_row(*cells)
    return table


def run_list(args: argparse.Namespace, context: Context) -> int:
    """``amimon list``: one poll, printed as a table, JSON or CSV."""
    source = context.source()
    snapshot = source.fetch()
    now = datetime.now(UTC)
    if snapshot.failures:
        _report(snapshot.failures)
        if not snapshot.covered:
            return _exit_for(snapshot.failures)
    tasks = sorted(
        snapshot.tasks,
        key=lambda t: t.start_time or datetime.min.replace(tzinfo=UTC),
        reverse=True,
    )
    several = len(context.targets) > 1
    if context.demo is not None and args.output != "table":
        _stderr().print("amimon: DEMO data from the built-in simulator, not your AWS account")
    if args.output == "json":
        doc = {"StoreImageTaskResults": [task_document(t, several) for t in tasks]}
        sys.stdout.write(json.dumps(doc, indent=4, ensure_ascii=False) + "\n")
    elif args.output == "csv":
        sys.stdout.write(_csv(tasks))
    else:
        state, _ = reduce(MonitorState(), snapshot, now)
        console = Console(highlight=False)
        if not console.is_terminal:
            console = Console(highlight=False, width=250)  # piped: no wrapping mid-row
        if context.demo is not None:
            console.print(Text("DEMO: simulated store tasks, not your AWS account", style="bold"))
        if not tasks:
            console.print(
                Text(f"No store tasks in the last 31 days for {targets_label(context.targets)}.")
            )
        else:
            console.print(_table(visible(state, now=now), now, several))
    return EXIT_AWS if snapshot.failures else EXIT_OK


# wait ----------------------------------------------------------------------------------


@dataclass
class WaitClock:
    """Time for ``wait``: real by default, replaceable in tests."""

    sleep: Callable[[float], None] = time.sleep
    monotonic: Callable[[], float] = time.monotonic
    now: Callable[[], datetime] = lambda: datetime.now(UTC)


WAIT_CLOCK = WaitClock()


def newest(state: MonitorState, ami: str) -> TrackedTask | None:
    """The newest (by start time) live task of ``ami``: the one a wait is about."""
    mine = [t for t in state.tasks.values() if t.task.ami_id == ami and t.vanished_at is None]
    if not mine:
        return None
    return max(mine, key=lambda t: t.task.start_time or datetime.min.replace(tzinfo=UTC))


def _change_key(tracked: TrackedTask | None) -> tuple[str, int | None] | None:
    """What counts as a change worth a line in a CI log: state and progress, not the ETA."""
    return None if tracked is None else (tracked.task.state, tracked.task.progress)


def _status_line(ami: str, tracked: TrackedTask | None, now: datetime) -> str:
    if tracked is None:
        return f"{ami} no store task yet"
    task = tracked.task
    progress = "?" if task.progress is None else f"{task.progress}%"
    line = f"{ami} {task.state or 'Unknown'} {progress}"
    if task.state == TaskState.IN_PROGRESS:
        remaining = estimate(tracked, now).remaining(now)
        if remaining is not None:
            line += f" (ETA {render.duration(remaining)})"
    return line


def _wait_table(amis: Sequence[str], state: MonitorState, now: datetime, note: str) -> Table:
    table = Table(box=None, header_style="bold", pad_edge=False, caption=note)
    for name in ("AMI", "State", "Progress", "ETA", "Bucket"):
        table.add_column(name)
    for ami in amis:
        tracked = newest(state, ami)
        if tracked is None:
            table.add_row(Text(ami), Text("waiting for a task", style="dim"), "", "", "")
            continue
        task = tracked.task
        remaining = estimate(tracked, now).remaining(now)
        table.add_row(
            Text(ami),
            render.state_text(task.state),
            render.progress_text(task.progress, task.state),
            Text(render.duration(remaining) if remaining is not None else ""),
            Text(task.s3_uri),
        )
    return table


def run_wait(args: argparse.Namespace, context: Context) -> int:
    """``amimon wait``: until every AMI's newest store task is Completed (0) or one Failed (1),
    or the timeout (3). Rides out throttling and transient errors."""
    amis: list[str] = list(dict.fromkeys(args.ami_ids))
    source = Ec2TaskSource(
        context.targets, Query(image_ids=tuple(amis)), credentials=context.credentials
    )
    clock = WAIT_CLOCK
    started = clock.monotonic()
    interval = context.config.interval
    console = Console(highlight=False)
    live: Live | None = None
    if console.is_terminal:
        live = Live(console=console, auto_refresh=False, transient=False)
        live.start()
    state = MonitorState()
    last_seen: dict[str, tuple[str, int | None] | None] = {}
    last_note = ""
    try:
        while True:
            snapshot = source.fetch()
            now = clock.now()
            state, _ = reduce(state, snapshot, now)
            waited = clock.monotonic() - started
            note = ""
            if snapshot.failures:
                fatal = [f for f in snapshot.failures if f.kind in FATAL_KINDS]
                if fatal:
                    if live:
                        live.stop()
                    _report(fatal)
                    return _exit_for(fatal)
                note = "; ".join(f.message for f in snapshot.failures)
            tracked = {ami: newest(state, ami) for ami in amis}
            if live is not None:
                live.update(_wait_table(amis, state, now, note), refresh=True)
            else:
                stamp = now.strftime("%H:%M:%S")
                for ami, task in tracked.items():
                    key = _change_key(task)
                    if ami not in last_seen or last_seen[ami] != key:
                        print(f"{stamp} {_status_line(ami, task, now)}", flush=True)
                    last_seen[ami] = key
                if note and note != last_note:
                    print(f"{stamp} retrying: {note}", flush=True)
                last_note = note
            found = [t for t in tracked.values() if t is not None]
            failed = [t for t in found if t.task.state == TaskState.FAILED]
            if failed:
                if live:
                    live.stop()
                for t in failed:
                    reason = t.task.failure_reason or "no reason given"
                    print(f"{t.task.ami_id} Failed: {reason}", file=sys.stderr)
                return EXIT_TASK_FAILED
            if len(found) == len(amis) and all(t.task.state == TaskState.COMPLETED for t in found):
                if live:
                    live.stop()
                for t in found:
                    print(f"{t.task.ami_id} Completed: {t.task.s3_uri}")
                return EXIT_OK
            missing = [ami for ami, t in tracked.items() if t is None]
            if missing and waited >= args.grace and not snapshot.failures:
                if live:
                    live.stop()
                print(
                    f"amimon: no store task found for {', '.join(missing)} "
                    f"within {render.duration(timedelta(seconds=args.grace))} "
                    "(store tasks are listed for 31 days after they start)",
                    file=sys.stderr,
                )
                return EXIT_TIMEOUT
            delay = next_delay(interval, state.throttled_polls)
            if args.timeout is not None and waited + delay > args.timeout:
                remaining_time = max(0.0, args.timeout - waited)
                clock.sleep(remaining_time)
                if live:
                    live.stop()
                pending = [a for a, t in tracked.items() if not t or t.task.state != "Completed"]
                print(
                    f"amimon: timed out after {render.duration(timedelta(seconds=args.timeout))} "
                    f"waiting for {', '.join(pending)}",
                    file=sys.stderr,
                )
                return EXIT_TIMEOUT
            clock.sleep(delay)
    finally:
        if live is not None and live.is_started:
            live.stop()
        source.close()


# check ---------------------------------------------------------------------------------


def run_check(args: argparse.Namespace, context: Context) -> int:
    """``amimon check``: DescribeStoreImageTasks with DryRun for every target."""
    source = context.source()
    console = Console(highlight=False)
    worst = EXIT_OK
    for target in context.targets:
        where = target.label if not context.demo else f"{target.label} (DEMO)"
        try:
            resolved = source.check_permission(target)
        except AwsError as error:
            verdict = {
                ErrorKind.PERMISSION: "not permitted: grant ec2:DescribeStoreImageTasks",
                ErrorKind.CREDENTIALS: "credentials problem",
                ErrorKind.NETWORK: "network problem",
                ErrorKind.THROTTLED: "throttled (permission unknown)",
                ErrorKind.CONFIG: "configuration problem",
            }.get(error.kind, "error")
            console.print(Text(f"✗ {where}: {verdict}", style="bold red"))
            console.print(Text(f"  {error.message}"))
            code = EXIT_USAGE if error.kind == ErrorKind.CONFIG else EXIT_AWS
            worst = max(worst, code) if worst != EXIT_USAGE else worst
            continue
        label = f"{resolved.label} (DEMO)" if context.demo else resolved.label
        console.print(Text(f"✓ {label}: permitted (ec2:DescribeStoreImageTasks)", style="green"))
    source.close()
    return worst

"""``amimon list``: one poll, printed as a table, as the AWS CLI's JSON document, or as CSV."""

from __future__ import annotations

import argparse
import csv
import io
import json
import re
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from rich.text import Text

from amimon import render
from amimon.aws import Ec2TaskSource, Query
from amimon.commands.common import (
    Progress,
    Stdout,
    exit_for,
    report,
    stderr,
    task_columns,
    task_table,
)
from amimon.context import Context, Exit
from amimon.model import StoreTask, Target, iso_ms
from amimon.reducer import MonitorState, add_images, reduce
from amimon.render import Column
from amimon.view import Sort, TaskFilter, targets_label, visible

TABLE_COLUMNS = (
    Column.AMI,
    Column.BUCKET,
    Column.STATE,
    Column.PROGRESS,
    Column.ETA,
    Column.STARTED,
    Column.REASON,
)
WIDE_COLUMNS = (
    Column.AMI,
    Column.NAME,
    Column.SIZE,
    Column.BUCKET,
    Column.STATE,
    Column.PROGRESS,
    Column.ETA,
    Column.STARTED,
    Column.REASON,
)


def task_document(task: StoreTask, with_target: bool) -> dict[str, Any]:
    """One item as ``aws ec2 describe-store-image-tasks`` prints it: the API's exact
    strings, empty ones included; absent fields stay absent."""
    doc: dict[str, Any] = {}
    if with_target:
        if task.target.profile:
            doc["Profile"] = task.target.profile
        doc["Region"] = task.target.region
    fields: list[tuple[str, object]] = [
        ("AmiId", task.ami_id),
        ("TaskStartTime", iso_ms(task.start_time) if task.start_time else None),
        ("Bucket", task.bucket),
        ("S3objectKey", task.object_key),
        ("ProgressPercentage", task.progress),
        ("StoreTaskState", task.state),
        ("StoreTaskFailureReason", task.failure_reason),
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


def to_csv(tasks: Sequence[StoreTask], state: MonitorState | None = None) -> str:
    """The API's exact strings; with ``state`` (``--wide``), the AMI's Name and SizeGiB."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([*CSV_COLUMNS, *(("Name", "SizeGiB") if state else ())])
    for task in tasks:
        doc = task_document(task, with_target=True)
        row = ["" if doc.get(c) is None else doc[c] for c in CSV_COLUMNS]
        if state is not None:
            image = state.image(task)
            row.append((image.name or "") if image else "")
            row.append("" if image is None or image.size_gib is None else image.size_gib)
        writer.writerow(row)
    return out.getvalue()


_UNSAFE_IN_JSON = re.compile("[\x7f-\x9f\u061c\u200b-\u200f\u2028-\u202e\u2060-\u206f\ufeff]")


def to_json(doc: object) -> str:
    """JSON as the AWS CLI prints it (4-space indent, UTF-8 text), with the characters a
    terminal would act on written as ``\\uXXXX`` escapes: the same document once parsed."""
    text = json.dumps(doc, indent=4, ensure_ascii=False)
    return _UNSAFE_IN_JSON.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def _newest_first(task: StoreTask) -> tuple[datetime, str]:
    return (task.start_time or datetime.min.replace(tzinfo=UTC), task.ami_id or "")


def run(args: argparse.Namespace, context: Context) -> int:
    """One poll, printed. Filters go to AWS when they can; without image ids AWS applies
    them, with image ids amimon does (AWS ignores filters then)."""
    config = context.config
    query = Query(config.image_ids, config.buckets, config.states)
    source = context.source(query)
    try:
        return _listed(args, context, source)
    finally:
        source.close()  # also on Ctrl+C: wakes the paged workers so they stop at once


def _listed(args: argparse.Namespace, context: Context, source: Ec2TaskSource) -> int:
    config = context.config
    progress = Progress("amimon: listing store tasks")
    try:
        snapshot = source.fetch(on_page=progress.page)
    finally:
        progress.done()
    now = datetime.now(UTC)
    if snapshot.failures:
        report(snapshot.failures)
        if not snapshot.polls:
            return exit_for(snapshot.failures)
    task_filter = TaskFilter(frozenset(config.buckets), frozenset(config.states))
    tasks = sorted(
        (t for t in snapshot.tasks if task_filter.matches_task(t)), key=_newest_first, reverse=True
    )
    state = snapshot_state(snapshot, now)
    if args.wide and args.output != "json":
        state = with_images(state, source, tasks, now)
    hidden = len(snapshot.tasks) - len(tasks)
    several = len(context.targets) > 1
    if context.demo is not None and args.output != "table":
        stderr().print("amimon: DEMO data from the built-in simulator, not your AWS account")
    if args.output == "json":
        doc = {"StoreImageTaskResults": [task_document(t, several) for t in tasks]}
        sys.stdout.write(to_json(doc) + "\n")
    elif args.output == "csv":
        sys.stdout.write(to_csv(tasks, state if args.wide else None))
    else:
        columns = WIDE_COLUMNS if args.wide else TABLE_COLUMNS
        _print_table(context, state, task_filter, now, hidden, source, columns)
    return Exit.AWS if snapshot.failures else Exit.OK


def snapshot_state(snapshot: Any, now: datetime) -> MonitorState:
    state, _ = reduce(MonitorState(), snapshot, now)
    return state


def with_images(
    state: MonitorState, source: Ec2TaskSource, tasks: Sequence[StoreTask], now: datetime
) -> MonitorState:
    """Look up the listed tasks' AMIs (ec2:DescribeImages, optional: said once if denied)."""
    wanted: dict[Target, set[str]] = {}
    for task in tasks:
        if task.ami_id:
            wanted.setdefault(task.target, set()).add(task.ami_id)
    lookup = source.describe_images(wanted)
    state, _ = add_images(state, lookup, now)
    for failure in lookup.failures:
        stderr().print(Text(f"amimon: note: {render.safe(failure.message)}"))
    return state


def _hidden_words(task_filter: TaskFilter, hidden: int, source: Any, context: Context) -> str:
    """How many tasks the filter hid: counted here with image ids; otherwise AWS filtered,
    so one unfiltered page (one request) says how many there are, up to 200."""
    if not task_filter.active:
        return ""
    if context.config.image_ids:
        return f"a filter hid {hidden:,}" if hidden else ""
    count, more = source.count_unfiltered()
    return f"a filter hid {'more than ' if more else ''}{count:,}" if count else ""


def _print_table(
    context: Context,
    state: MonitorState,
    task_filter: TaskFilter,
    now: datetime,
    hidden: int,
    source: Any,
    columns: Sequence[Column],
) -> None:
    console = Stdout(highlight=False)
    if not console.is_terminal:
        console = Stdout(highlight=False, width=250)  # piped: no wrapping mid-row
    if context.demo is not None:
        console.print(Text("DEMO: simulated store tasks, not your AWS account", style="bold"))
    rows = visible(state, task_filter, Sort())
    where = targets_label(context.targets)
    if rows:
        console.print(task_table(rows, task_columns(context, columns), state, now))
        if hidden and context.config.image_ids:
            console.print(Text(f"({task_filter.describe()}; a filter hid {hidden:,})"))
        return
    if task_filter.active:
        words = _hidden_words(task_filter, hidden, source, context)
        more = f"; {words} in the last 31 days" if words else ""
        console.print(Text(f"No {task_filter.describe()} for {where}{more}."))
    else:
        console.print(Text(f"No store tasks in the last 31 days for {where}."))

"""``amimon history``: finished tasks from the history file, and a summary per bucket."""

from __future__ import annotations

import argparse
import csv
import io
import sys
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from rich.table import Table
from rich.text import Text

from amimon import render
from amimon.commands.common import Stdout, stderr
from amimon.commands.list import CSV_COLUMNS, to_json
from amimon.commands.list import task_document as api_document
from amimon.commands.wait import parse_since
from amimon.context import Context, Exit
from amimon.durations import format_duration
from amimon.history import FINAL_STATES, BucketSummary, HistoryStore, PastTask, past_tasks
from amimon.history import summarize as summarize_buckets
from amimon.model import StoreTask, iso_ms

LEARNED_COLUMNS = (
    "FirstSeen",
    "EndedAfter",
    "EndedBy",
    "Ended",
    "EndedMarginSeconds",
    "DurationSeconds",
    "ImageName",
    "SizeGiB",
    "GiBPerMinute",
    "VanishedAt",
)


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else iso_ms(moment)


def _seconds(delta: timedelta | None) -> float | None:
    return None if delta is None else round(delta.total_seconds(), 3)


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


def task_document(task: PastTask) -> dict[str, Any]:
    """The AWS CLI's item (the API's exact strings; absent fields absent) with Profile and
    Region, then what amimon learned: every key present, null when unknown."""
    store_task = StoreTask(
        target=task.target,
        ami_id=task.ami_id,
        start_time=task.start_time,
        bucket=task.bucket,
        object_key=task.object_key,
        progress=task.progress,
        state=task.state,
        failure_reason=task.reason,
    )
    doc = api_document(store_task, with_target=True)
    if task.target.endpoint_url:
        doc["Endpoint"] = task.target.endpoint_url
    end = task.ending
    known = end is not None and end.margin is not None
    doc.update(
        {
            "FirstSeen": _iso(task.first_seen),
            "EndedAfter": _iso(end.after if end else None),
            "EndedBy": _iso(end.by if end else None),
            "Ended": _iso(end.at if end and known else None),
            "EndedMarginSeconds": _seconds(end.margin if end else None),
            "DurationSeconds": _seconds(end.took if end else None),
            "ImageName": task.image_name,
            "SizeGiB": task.size_gib,
            "GiBPerMinute": _rounded(task.gib_per_minute),
            "VanishedAt": _iso(task.vanished_at),
        }
    )
    return doc


def summary_document(summary: BucketSummary) -> dict[str, Any]:
    return {
        "Bucket": summary.bucket,
        "Tasks": summary.tasks,
        "Completed": summary.completed,
        "Failed": summary.failed,
        "MedianDurationSeconds": _seconds(summary.median_took),
        "MedianGiBPerMinute": _rounded(summary.median_gib_per_minute),
    }


def to_csv(tasks: Sequence[PastTask]) -> str:
    columns = (*CSV_COLUMNS, "Endpoint", *LEARNED_COLUMNS)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(columns)
    for task in tasks:
        doc = task_document(task)
        writer.writerow(["" if doc.get(c) is None else doc[c] for c in columns])
    return out.getvalue()


# The table -------------------------------------------------------------------------------


def _when(moment: datetime, seconds: bool = False) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M" + (":%S" if seconds else ""))


def ended_cell(task: PastTask) -> str:
    """``2026-11-27 14:02:10 ±8s``; ``≤ 2026-11-27 14:02:10`` when it was already finished at
    first sight; ``-`` when it was never seen finished."""
    end = task.ending
    if end is None:
        return "-"
    if end.margin is None:
        return f"≤ {_when(end.by, seconds=True)}"
    return f"{_when(end.at, seconds=True)} ±{format_duration(end.margin)}"


def took_cell(task: PastTask) -> str:
    """``1h12m``; ``~1h12m`` when the window is too wide to call it measured."""
    end = task.ending
    if end is None or end.took is None:
        return "-"
    return ("" if end.precise else "~") + format_duration(end.took)


def rate_cell(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:.2f}" if value < 1 else f"{value:.1f}"


def summary_line(summary: BucketSummary) -> Text:
    """``archive: 12 tasks (10 completed, 2 failed); median took 1h12m, median GiB/min 1.4``
    (``-`` where nothing was measured, or no snapshot size is known)."""
    took = format_duration(summary.median_took)
    rate = rate_cell(summary.median_gib_per_minute)
    line = Text(render.safe(summary.bucket) or "(no bucket)", style="bold")
    line.append(
        f": {summary.tasks:,} task{'s' if summary.tasks != 1 else ''} "
        f"({summary.completed:,} completed, {summary.failed:,} failed); "
        f"median took {took}, median GiB/min {rate}"
    )
    return line


def history_table(tasks: Sequence[PastTask]) -> Table:
    profiles = len({t.target.profile for t in tasks}) > 1
    regions = len({t.target.region for t in tasks}) > 1
    table = Table(box=None, header_style="bold", pad_edge=False)
    headers = ["AMI", "Bucket", "State", "Started", "Ended", "Took", "GiB/min", "Reason"]
    headers = (["Region"] if regions else []) + headers
    headers = (["Profile"] if profiles else []) + headers
    for header in headers:
        wrap = header == "Reason"
        table.add_column(header, overflow="fold" if wrap else "ellipsis", no_wrap=not wrap)
    for task in tasks:
        cells = [
            render.text(task.ami_id),
            render.text(task.bucket),
            render.state_text(task.state),
            Text(_when(task.start_time)),
            Text(ended_cell(task)),
            Text(took_cell(task)),
            Text(rate_cell(task.gib_per_minute)),
            Text(render.first_line(task.reason, 200), style="dim"),
        ]
        if regions:
            cells.insert(0, Text(task.target.region or "-"))
        if profiles:
            cells.insert(0, Text(task.target.profile or "-"))
        table.add_row(*cells)
    return table


# The command -----------------------------------------------------------------------------


def _query(context: Context, store: HistoryStore, since: datetime | None) -> list[PastTask]:
    config = context.config
    return past_tasks(
        store,
        since=since,
        buckets=config.buckets,
        states=config.states or FINAL_STATES,
        profiles=config.profiles,
        regions=config.regions,
        endpoint=config.endpoint_url,
        ami_ids=config.image_ids,
    )


def _print(output: str, tasks: Sequence[PastTask], path: Path) -> None:
    if output == "json":
        doc = {
            "Tasks": [task_document(t) for t in tasks],
            "Buckets": [summary_document(s) for s in summarize_buckets(tasks)],
        }
        sys.stdout.write(to_json(doc) + "\n")
        return
    if output == "csv":
        sys.stdout.write(to_csv(tasks))
        return
    console = Stdout(highlight=False)
    if not console.is_terminal:
        console = Stdout(highlight=False, width=250)  # piped: no wrapping mid-row
    if not tasks:
        console.print(Text(f"No store tasks in the history ({path}) match."))
        return
    console.print(history_table(tasks))
    console.print()
    for summary in summarize_buckets(tasks):
        console.print(summary_line(summary))


def run(args: argparse.Namespace, context: Context) -> int:
    """Print the history: tasks newest first, then one summary line per bucket."""
    path = context.history_path
    err = stderr()
    if path is None:
        why = (
            "the demo keeps none of its own: pass --history PATH"
            if getattr(args, "demo", False)
            else "history = false in the config, or --no-history"
        )
        err.print(Text(f"amimon: error: history is off ({why})"))
        return Exit.USAGE
    try:
        since = parse_since(args.since, datetime.now(UTC)) if args.since else None
    except ValueError as exc:
        err.print(Text(f"amimon: error: argument --since: {exc}"))
        return Exit.USAGE
    if not path.exists():
        if args.output == "table":
            err.print(Text(f"amimon: no history yet at {path}: the monitor records one there"))
        _print(args.output, [], path)
        return Exit.OK
    store = HistoryStore.open(
        path,
        days=context.config.history_days,
        warn=lambda line: err.print(Text(f"amimon: warning: {line}")),
    )
    try:
        if not store.enabled:
            return Exit.USAGE
        tasks = _query(context, store, since)
        if store.read_failed:
            return Exit.USAGE
    finally:
        store.close()
    _print(args.output, tasks, path)
    return Exit.OK

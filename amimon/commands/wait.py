"""``amimon wait``: until each AMI's newest store task is Completed (exit 0), one Failed (1),
or the timeout passes (3). Unlike botocore's waiter (200 s at most) it waits as long as
the task takes, and rides out throttling and network errors."""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from rich.console import Console
from rich.live import Live

from amimon import render
from amimon.alerts import AlertRunner, alerts_from
from amimon.aws import Ec2TaskSource, Query
from amimon.aws.paging import Waiter
from amimon.commands.common import Stdout, exit_for, report, task_table
from amimon.context import Context, Exit
from amimon.durations import parse_duration
from amimon.model import PollFailure, Snapshot, TaskState
from amimon.records import record
from amimon.reducer import (
    MonitorState,
    TaskEvent,
    TrackedTask,
    add_images,
    images_wanted,
    reduce,
)
from amimon.render import Column
from amimon.schedule import next_delay

LIVE_COLUMNS = (
    Column.AMI,
    Column.BUCKET,
    Column.STATE,
    Column.PROGRESS,
    Column.ETA,
    Column.STARTED,
)


@dataclass
class WaitClock:
    """Time for ``wait``: real by default, replaceable in tests."""

    sleep: Callable[[float], None] = time.sleep
    monotonic: Callable[[], float] = time.monotonic
    now: Callable[[], datetime] = lambda: datetime.now(UTC)


WAIT_CLOCK = WaitClock()


def parse_since(value: str, now: datetime) -> datetime:
    """``--since``: an ISO-8601 time (UTC unless it has an offset) or a duration back
    from now (``2h``, ``1h30m``, ``3d``)."""
    try:
        return now - timedelta(seconds=parse_duration(value, allow_zero=True))
    except ValueError:
        pass
    try:
        moment = datetime.fromisoformat(value.strip())
    except ValueError:
        raise ValueError(
            f"{value!r} is neither a time (like 2026-11-27T14:00 or 2026-11-27T14:00+01:00) "
            "nor a duration back from now (like 2h or 1h30m)"
        ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


@record
class Judge:
    """Which task of an AMI a wait is about: the newest one in the watched buckets that
    started at or after ``since``."""

    buckets: frozenset[str] = frozenset()
    since: datetime | None = None

    def accepts(self, tracked: TrackedTask) -> bool:
        task = tracked.task
        if tracked.vanished_at is not None:
            return False
        if self.buckets and task.bucket not in self.buckets:
            return False
        if self.since is not None:
            return task.start_time is not None and task.start_time >= self.since
        return True

    def task_of(self, state: MonitorState, ami: str) -> TrackedTask | None:
        mine = [t for t in state.tasks.values() if t.task.ami_id == ami and self.accepts(t)]
        if not mine:
            return None
        return max(mine, key=lambda t: t.task.start_time or datetime.min.replace(tzinfo=UTC))


def _which(tracked: TrackedTask) -> str:
    """Names a task by its start, so a reader can tell this store from an older one."""
    return f"task started {render.timestamp(tracked.task.start_time)}"


def _status_line(ami: str, tracked: TrackedTask | None, state: MonitorState) -> str:
    if tracked is None:
        return f"{ami} no store task yet"
    task = tracked.task
    progress = "?" if task.progress is None else f"{task.progress}%"
    line = f"{ami} {render.state_word(task.state)} {progress}"
    as_of = state.seen_at(task.target)
    if task.state == TaskState.IN_PROGRESS and as_of is not None:
        est = render.row_estimate(tracked, as_of)
        if est.eta_at is not None or est.stalled:
            line += f" (ETA {render.eta_words(est, as_of)})"
    return f"{line} ({_which(tracked)}, bucket {render.safe(task.bucket)})"


class Reporter:
    """Shows a wait: a live table on a terminal, else one line per change for CI logs."""

    def __init__(self, amis: Sequence[str], live: bool) -> None:
        self.amis = amis
        self.console = Stdout(highlight=False)
        self.live = Live(console=self.console, auto_refresh=False) if live else None
        self._lines: dict[str, str] = {}
        self._failure = ""
        if self.live is not None:
            self.live.start()

    def show(
        self,
        state: MonitorState,
        judged: Mapping[str, TrackedTask | None],
        failures: Sequence[PollFailure],
        now: datetime,
        retry_in: float,
    ) -> None:
        failure = "; ".join(render.safe(f.message) for f in failures)
        if self.live is not None:
            note = f"poll failed: {failure}; trying again in {retry_in:.0f}s" if failure else ""
            rows = [t for t in judged.values() if t is not None]
            waiting = [a for a, t in judged.items() if t is None]
            if waiting and not failures:
                note = (note + " " if note else "") + f"no store task yet: {', '.join(waiting)}"
            table = task_table(rows, LIVE_COLUMNS, state, now, caption=note or None)
            self.live.update(table, refresh=True)
            return
        stamp = now.astimezone(UTC).strftime("%H:%M:%S")
        for ami, tracked in judged.items():
            if tracked is None and failures:
                continue  # a failed poll says nothing about whether a task exists
            line = _status_line(ami, tracked, state)
            if self._lines.get(ami) != line.split(" (ETA")[0]:
                print(f"{stamp} {line}", flush=True)
                self._lines[ami] = line.split(" (ETA")[0]
        if failure and failure != self._failure:
            print(f"{stamp} poll failed: {failure}; trying again in {retry_in:.0f}s", flush=True)
        self._failure = failure

    def stop(self) -> None:
        if self.live is not None and self.live.is_started:
            self.live.stop()


def run(args: argparse.Namespace, context: Context) -> int:
    """Poll the AMIs' tasks by id until each is Completed, one Failed, or time is up."""
    amis = list(dict.fromkeys([*args.ami_ids, *context.config.image_ids]))
    if not amis:
        print("amimon: error: wait needs at least one AMI id", file=sys.stderr)
        return Exit.USAGE
    clock = WAIT_CLOCK
    started_at = clock.now()
    try:
        since = parse_since(args.since, started_at) if args.since else None
    except ValueError as exc:
        print(f"amimon: error: argument --since: {exc}", file=sys.stderr)
        return Exit.USAGE
    judge = Judge(frozenset(context.config.buckets), since)
    runner = _alert_runner(context)
    waiter = Waiter(monotonic=clock.monotonic, pause=clock.sleep)
    source = context.source(Query(image_ids=tuple(amis)), waiter=waiter)
    started = clock.monotonic()
    reporter = Reporter(amis, live=Console().is_terminal)
    state = MonitorState()
    try:
        while True:
            snapshot: Snapshot = source.fetch()
            now = clock.now()
            state, events = reduce(state, snapshot, now)
            if runner is not None:
                state = _with_names(state, source, now)
                mine = [e for e in events if isinstance(e, TaskEvent) and _judged(e, judge, state)]
                runner.submit(alerts_from(mine, state.image_of))
            waited = clock.monotonic() - started
            fatal = [f for f in snapshot.failures if not f.kind.transient]
            if fatal:
                reporter.stop()
                report(fatal)
                return exit_for(fatal)
            judged = {ami: judge.task_of(state, ami) for ami in amis}
            delay = next_delay(context.config.interval, state.throttled_polls)
            reporter.show(state, judged, snapshot.failures, now, delay)
            verdict = _verdict(judged, snapshot, waited, args.grace)
            if verdict is not None:
                reporter.stop()
                return verdict
            if args.timeout is not None and waited >= args.timeout:
                reporter.stop()
                pending = [a for a, t in judged.items() if not t or t.task.state != "Completed"]
                print(
                    f"amimon: timed out after {render.duration(timedelta(seconds=args.timeout))} "
                    f"waiting for {', '.join(pending)}",
                    file=sys.stderr,
                )
                return Exit.TIMEOUT
            if args.timeout is not None:
                # Sleep to the deadline at most, then poll once more before giving up.
                delay = min(delay, max(0.0, args.timeout - waited))
            clock.sleep(delay)
    finally:
        reporter.stop()
        source.close()
        if runner is not None:
            runner.close(wait=True)  # each within its timeout


def _alert_runner(context: Context) -> AlertRunner | None:
    if not context.config.on_event:
        return None

    def report(message: str) -> None:
        print(f"amimon: warning: {message}", file=sys.stderr, flush=True)

    return AlertRunner(
        context.config.on_event, timeout=context.config.on_event_timeout, report=report
    )


def _with_names(state: MonitorState, source: Ec2TaskSource, now: datetime) -> MonitorState:
    """The AMIs' names for the alerts (once per AMI; optional permission)."""
    wanted = images_wanted(state)
    if wanted:
        state, _ = add_images(state, source.describe_images(wanted), now)
    return state


def _judged(event: TaskEvent, judge: Judge, state: MonitorState) -> bool:
    """Alerts are for the tasks the wait is about, not older ones of the same AMIs."""
    ami = event.task.task.ami_id
    judged = judge.task_of(state, ami) if ami is not None else None
    return judged is not None and judged.key == event.task.key


def _verdict(
    judged: Mapping[str, TrackedTask | None], snapshot: Snapshot, waited: float, grace: float
) -> int | None:
    found = [t for t in judged.values() if t is not None]
    failed = [t for t in found if t.task.state == TaskState.FAILED]
    if failed:
        for t in failed:
            reason = render.safe(t.task.failure_reason) or "no reason given"
            print(f"{t.task.ami_id} Failed ({_which(t)}): {reason}", file=sys.stderr)
        return Exit.TASK_FAILED
    if len(found) == len(judged) and all(t.task.state == TaskState.COMPLETED for t in found):
        for t in found:
            print(f"{t.task.ami_id} Completed ({_which(t)}): {render.safe(t.task.s3_uri)}")
        return Exit.OK
    missing = [ami for ami, t in judged.items() if t is None]
    if missing and waited >= grace and not snapshot.failures:
        print(
            f"amimon: no store task found for {', '.join(missing)} "
            f"within {render.duration(timedelta(seconds=grace))} "
            "(store tasks are listed for 31 days after they start)",
            file=sys.stderr,
        )
        return Exit.TIMEOUT
    return None

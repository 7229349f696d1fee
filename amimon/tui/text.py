"""What the monitor says in words: header, banner, detail panel, event lines, empty state.

Functions of state and time returning Rich Text; API text always enters as plain text.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from rich.text import Text

from amimon import render
from amimon.model import Target, TaskState
from amimon.reducer import (
    Event,
    ImagesUnavailable,
    MonitorState,
    PollFailed,
    PollRecovered,
    TaskAppeared,
    TaskCompleted,
    TaskFailed,
    TaskStateChanged,
    TaskVanished,
    TrackedTask,
)
from amimon.render import Palette
from amimon.view import counts, describe_counts, targets_label

_tally_cache: tuple[MonitorState | None, str] = (None, "")


def _tally(state: MonitorState) -> str:
    """Counts in words, computed once per state (the header is redrawn every second)."""
    global _tally_cache
    if _tally_cache[0] is not state:
        _tally_cache = (state, describe_counts(counts(state.tasks.values())))
    return _tally_cache[1]


def header(
    state: MonitorState,
    targets: Sequence[Target],
    now: datetime,
    *,
    demo: bool,
    paused: bool,
    polling: bool,
    compact: bool = False,
) -> Text:
    text = Text()
    text.append("amimon", style="bold")
    if demo:
        text.append(" · ")
        text.append("DEMO", style="bold reverse")
    text.append(f" · {targets_label(targets)}")
    if state.loaded:
        tally = _tally(state)
        if compact:
            tally = tally.split(": ", 1)[1]
        text.append(f" · {tally}")
        # In 5-second steps: a header that changes every second costs a repaint a second.
        age = render.age(state.last_success, now, step=5)
        text.append(f" · {'' if compact else 'updated '}{age}")
    else:
        text.append(" · loading…")
    if state.stale_since is not None:
        text.append(" · STALE", style="bold")
    if paused:
        text.append(" · PAUSED", style="bold")
    elif polling:
        text.append(" · ⟳")
    return text


def banner(state: MonitorState, now: datetime, retry_in: float | None) -> Text | None:
    """The error banner: each failing target, what to do, the data's age, the next retry."""
    if not state.failures:
        return None
    text = Text()
    for i, (target, failure) in enumerate(state.failures.items()):
        if i:
            text.append("\n")
        where = f"{target.label}: " if target is not None else ""
        text.append(f"✗ {where}", style="bold")
        text.append(render.safe(failure.failure.message))
        if failure.count > 1:
            text.append(f" (failed {failure.count} polls in a row)")
    text.append("\n")
    if state.last_success is not None:
        text.append(
            f"Showing data from {render.timestamp(state.last_success)} "
            f"({render.age(state.last_success, now)}), marked stale."
        )
    else:
        text.append("No data yet.")
    if retry_in is not None:
        text.append(f" Retrying in {max(0, round(retry_in))} s.")
    return text


def detail(
    tracked: TrackedTask | None, now: datetime, palette: Palette, state: MonitorState
) -> Text:
    """Every field of the selected task; the failure reason in full, as plain text."""
    if tracked is None:
        return Text("No task selected.", style=palette.muted)
    task = tracked.task
    est = render.row_estimate(tracked, state.seen_at(task.target))
    text = Text()
    text.append(render.safe(task.ami_id) or "(no AMI id)", style="bold")
    # State and bar on their own line: beside a 21-character AMI id they wrap in the panel.
    text.append("\n")
    text.append_text(
        render.state_text(task.state, palette, vanished=tracked.vanished_at is not None)
    )
    text.append("  ")
    text.append_text(render.progress_text(task.progress, task.state, palette, 10))
    text.append("\n")
    if task.state == TaskState.FAILED or task.failure_reason:
        # The reason first: it is why anyone selects a failed task.
        text.append("Failure reason\n", style=f"bold {palette.failed}")
        text.append(render.safe(task.failure_reason, multiline=True) or "(AWS gave no reason)")
        text.append("\n")

    def field(label: str, value: str | Text) -> None:
        text.append(f"{label:<11}", style=palette.muted)
        if isinstance(value, Text):
            text.append_text(value)
        else:
            text.append(value)
        text.append("\n")

    field("Object", render.safe(task.s3_uri) or "-")
    field("Region", task.target.region or "default")
    if task.target.profile:
        field("Profile", task.target.profile)
    field("Started", render.timestamp(task.start_time))
    if task.start_time is not None:
        field("Elapsed", render.duration(now - task.start_time))
    if task.state == TaskState.IN_PROGRESS:
        field("Rate", render.rate(est.rate))
        remaining = est.remaining(now)
        if est.stalled:
            field("ETA", Text("stalled: no progress for a while", style=palette.warning))
        elif remaining is not None and est.eta_at is not None:
            about = "roughly" if est.approximate else "about"
            field("ETA", f"{render.eta_words(est, now)} ({about} {render.clock_time(est.eta_at)})")
        else:
            field("ETA", "not enough progress seen yet")
    if task.state == TaskState.COMPLETED:
        if tracked.completed_seen_at is not None:
            field("Completed", f"seen at {render.timestamp(tracked.completed_seen_at)}")
        else:
            field("Completed", "before amimon started watching")
    field("First seen", render.timestamp(tracked.first_seen))
    if tracked.vanished_at is not None:
        field("Gone", f"no longer returned since {render.timestamp(tracked.vanished_at)}")
    return text


def loaded_line(state: MonitorState, targets: Sequence[Target], at: datetime) -> Text:
    """The first line of the event log, once the first poll answered."""
    live = sum(1 for t in state.tasks.values() if t.vanished_at is None)
    return Text(at.strftime("%H:%M:%S") + "  ", style="dim") + Text(
        f"Loaded {live} store tasks from {targets_label(targets)}"
    )


def event_line(event: Event) -> Text | None:
    """One line for the event log, or None for events not worth a line."""
    stamp = Text(event.at.strftime("%H:%M:%S") + "  ", style="dim")
    if isinstance(event, PollFailed):
        body = Text(f"Poll failed ({event.failure.kind}): {render.safe(event.failure.message)}")
    elif isinstance(event, PollRecovered):
        where = f" for {event.target.label}" if event.target else ""
        body = Text(f"Polling recovered{where}")
    else:
        line = _task_event_words(event)
        if line is None:
            return None
        body = Text(line)
    return stamp + body


def _task_event_words(event: Event) -> str | None:
    if isinstance(event, PollFailed | PollRecovered | ImagesUnavailable):
        return None
    task = event.task.task
    ami = render.safe(task.ami_id)
    if isinstance(event, TaskAppeared):
        return None if event.initial else f"{ami} appeared → {render.safe(task.bucket)}"
    if isinstance(event, TaskCompleted):
        return f"{ami} Completed → {render.safe(task.s3_uri)}"
    if isinstance(event, TaskFailed):
        return f"{ami} Failed: {render.first_line(event.reason) or 'no reason given'}"
    if isinstance(event, TaskVanished):
        return f"{ami} no longer returned (left the 31-day window?)"
    if isinstance(event, TaskStateChanged):
        return f"{ami} {render.state_word(event.old)} → {render.state_word(event.new)}"
    return None


def empty_message(state: MonitorState, targets: Sequence[Target], filtered: str | None) -> Text:
    """What to say when the table has no rows."""
    if not state.loaded:
        if state.failures:
            return Text("Could not load store tasks yet: see the message above.")
        return Text(f"Loading store tasks from {targets_label(targets)}…")
    if filtered:
        return Text(f"No {filtered}. Press Esc to clear the filter.")
    return Text(
        f"No store tasks in the last 31 days for {targets_label(targets)}.\n\n"
        "AWS returns store tasks for 31 days after they start. Start one with:\n"
        "  aws ec2 create-store-image-task --image-id ami-… --bucket my-bucket\n"
        "and it appears here at the next poll."
    )

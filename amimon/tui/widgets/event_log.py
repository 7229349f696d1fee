"""The event log: one line per thing worth knowing (a task finished, a poll failed), capped."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

from rich.text import Text
from textual.widgets import RichLog

from amimon import render
from amimon.events import (
    Event,
    ImagesUnavailable,
    PollFailed,
    PollRecovered,
    TaskAppeared,
    TaskCompleted,
    TaskFailed,
    TaskStalled,
    TaskStateChanged,
    TaskVanished,
)
from amimon.model import Target
from amimon.state import MonitorState
from amimon.tui.alerts import images_words
from amimon.view import targets_label

MAX_LINES = 500
REASON_CHARS = 100  # a long reason shows its first line here; the detail panel has it all


def event_words(event: Event) -> str | None:
    """What an event says in the log, or None for events not worth a line."""
    if isinstance(event, PollFailed):
        failure = event.failure
        where = f" ({failure.target.label})" if failure.target is not None else ""
        message = render.first_line(failure.message, REASON_CHARS)
        return f"Poll failed{where}: {failure.kind}: {message}"
    if isinstance(event, PollRecovered):
        return f"Polling recovered{f' for {event.target.label}' if event.target else ''}"
    if isinstance(event, ImagesUnavailable):
        return render.first_line(images_words(event), REASON_CHARS)
    task = event.task.task
    ami = render.safe(task.ami_id)
    if isinstance(event, TaskAppeared):
        return None if event.initial else f"{ami} appeared → {render.safe(task.bucket)}"
    if isinstance(event, TaskCompleted):
        return f"{ami} Completed → {render.safe(task.s3_uri)}"
    if isinstance(event, TaskFailed):
        reason = render.first_line(event.reason, REASON_CHARS) or "no reason given"
        return f"{ami} Failed: {reason}"
    if isinstance(event, TaskStalled):
        percent = event.task.task.percent
        at = f" at {percent}%" if percent is not None else ""
        return f"{ami} stalled{at}: no progress since {_since(event)}"
    if isinstance(event, TaskVanished):
        return f"{ami} no longer returned (left the 31-day window?)"
    if isinstance(event, TaskStateChanged):
        return f"{ami} {render.state_word(event.old)} → {render.state_word(event.new)}"
    return None


def _since(event: TaskStalled) -> str:
    return event.task.last_change.strftime("%H:%M:%S")


def loaded_words(state: MonitorState, targets: Sequence[Target]) -> str:
    live = sum(1 for t in state.tasks.values() if t.vanished_at is None)
    return f"Loaded {live:,} store tasks from {targets_label(targets)}"


class EventLog(RichLog):
    """A capped log of events, each line stamped with its time; API text never as markup."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id, max_lines=MAX_LINES, wrap=True, markup=False)

    def say(self, at: datetime, words: str) -> None:
        self.write(Text(at.strftime("%H:%M:%S") + "  ", style="dim") + Text(words))

    def add(self, events: Iterable[Event]) -> None:
        for event in events:
            words = event_words(event)
            if words is not None:
                self.say(event.at, words)

"""What the monitor says outside its panels: toasts, the clipboard, the empty table, help."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from rich.text import Text
from textual.app import App
from textual.binding import Binding, BindingType

from amimon import render
from amimon.model import ErrorKind, Target
from amimon.render import Palette
from amimon.state import MonitorState
from amimon.tui.screens.help import typed
from amimon.view import targets_label

if TYPE_CHECKING:
    from amimon.events import Event, ImagesUnavailable

TOAST_CHARS = 100  # a toast holds a reason's first line; the detail panel has all of it
MAX_TOASTS = 3  # more finishing at once make one summary toast


def palette(app: App[Any]) -> Palette:
    """Row styles from the theme's variables, so every Textual theme works."""
    variables = app.get_css_variables()

    def color(name: str, fallback: str) -> str:
        value = variables.get(name, "")
        return value[:7] if value.startswith("#") else fallback

    return Palette(
        running=color("primary-lighten-2", "cyan"),
        done=color("success", "green"),
        failed="bold " + color("error", "red"),
        unknown=color("accent", "magenta"),
        muted="dim",
        warning=color("warning", "yellow"),
    )


def notify_finished(app: App[Any], events: Sequence[Event]) -> bool:
    """A toast per task that completed, failed or stalled (one summary for many), and one
    when AMI details cannot be looked up; True if a task's news was told."""
    from amimon.events import ImagesUnavailable, TaskCompleted, TaskFailed, TaskStalled

    for event in events:
        if isinstance(event, ImagesUnavailable):
            app.notify(
                render.first_line(images_words(event), TOAST_CHARS),
                title="AMI names and sizes",
                severity="warning",
                timeout=8,
                markup=False,
            )
    finished = [e for e in events if isinstance(e, TaskCompleted | TaskFailed | TaskStalled)]
    if len(finished) > MAX_TOASTS:
        failed = sum(isinstance(e, TaskFailed) for e in finished)
        stalled = sum(isinstance(e, TaskStalled) for e in finished)
        app.notify(
            f"{len(finished) - failed - stalled} completed, {failed} failed, {stalled} stalled",
            title="Store tasks finished",
            severity="error" if failed else "information",
            markup=False,
        )
        return True
    for event in finished:
        ami = render.safe(event.task.task.ami_id)
        if isinstance(event, TaskStalled):
            app.notify(
                f"{ami}: no progress for a while",
                title="Store task stalled",
                severity="warning",
                timeout=10,
                markup=False,
            )
        elif isinstance(event, TaskFailed):
            reason = render.first_line(event.reason, TOAST_CHARS) or "no reason given"
            app.notify(
                f"{ami}: {reason}",
                title="Store task failed",
                severity="error",
                timeout=10,
                markup=False,
            )
        else:
            uri = render.first_line(event.task.task.s3_uri, TOAST_CHARS)
            app.notify(f"{ami} → {uri}", title="Store task completed", markup=False)
    return bool(finished)


def images_words(event: ImagesUnavailable) -> str:
    """Said once per target: which permission would fill the Name and Size columns."""
    failure = event.failure
    where = f" for {failure.target.label}" if failure.target is not None else ""
    if failure.kind is ErrorKind.PERMISSION:
        return f"AMI names and sizes need ec2:DescribeImages (optional){where}."
    return f"AMI names and sizes unavailable{where}: {failure.message}"


def copy(app: App[Any], what: str, value: str) -> None:
    """Copy ``value`` to the clipboard (OSC 52) and say so."""
    if not value:
        app.notify(f"No {what} to copy.", severity="warning", timeout=3)
        return
    app.copy_to_clipboard(value)
    app.notify(f"Copied {what}: {render.first_line(value, TOAST_CHARS)}", timeout=3, markup=False)


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


def help_keys(*groups: Iterable[BindingType]) -> list[tuple[str, str]]:
    """(key as typed, what it does) for every binding, each key once."""
    keys: list[tuple[str, str]] = []
    seen: set[str] = set()
    for group in groups:
        for binding in group:
            if not isinstance(binding, Binding) or binding.key in seen:
                continue
            seen.add(binding.key)
            keys.append((typed(binding.key), binding.tooltip or binding.description))
    return keys

"""The monitor's keys, in one place: the footer, the help screen and the command palette
read them here."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from textual.app import App, SystemCommand
from textual.binding import Binding, BindingType

from amimon.tui.screens.help import typed


def _key(key: str, action: str, words: str, tooltip: str, show: bool = True) -> Binding:
    return Binding(key, action, words, tooltip=tooltip, show=show, key_display=typed(key))


BINDINGS: list[BindingType] = [
    _key("r", "refresh", "Refresh", "Poll now (a full listing)"),
    _key("p", "pause", "Pause", "Pause or resume polling"),
    _key("p", "resume", "Resume", "Resume polling"),
    _key("b", "focus_bucket", "Bucket", "Filter by bucket (suggests buckets seen)"),
    _key("s", "cycle_state", "State", "Cycle the state filter: all, InProgress, Completed, Failed"),
    _key("slash", "focus_search", "Search", "Search AMI ids, buckets, keys and reasons"),
    _key(
        "escape",
        "clear_filters",
        "Clear",
        "Clear the field being edited, or all filters",
        False,
    ),
    _key("o", "cycle_sort", "Sort", "Cycle the sort column (or click a header)", False),
    _key("d", "toggle_details", "Details", "Show or hide the task details panel"),
    _key("e", "toggle_events", "Events", "Show or hide the event log", False),
    _key("c", "copy_ami", "Copy", "Copy the selected AMI id", False),
    _key("u", "copy_uri", "Copy URI", "Copy the selected task's S3 URI", False),
    _key(
        "a",
        "copy_retry",
        "Retry cmd",
        "Copy the command that stores a failed AMI again",
        False,
    ),
    _key("question_mark", "help", "Help", "Show every key"),
    _key("q", "quit", "Quit", "Quit amimon"),
    Binding(
        "ctrl+c", "interrupt", "Quit", tooltip="Quit (exit code 130)", show=False, priority=True
    ),
]


def commands(app: App[Any]) -> Iterator[SystemCommand]:
    """Every action but quit and help, for the command palette."""
    for binding in BINDINGS:
        if isinstance(binding, Binding) and binding.action not in {"quit", "help", "interrupt"}:

            def run(action: str = binding.action) -> None:
                app.call_later(app.run_action, action)

            yield SystemCommand(binding.description, binding.tooltip, run)

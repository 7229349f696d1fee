"""The error banner: each failing target in words, what to do, the data's age, the next try."""

from __future__ import annotations

from datetime import datetime, timedelta

from rich.text import Text
from textual.widgets import Static

from amimon import render
from amimon.model import ErrorKind
from amimon.state import MonitorState
from amimon.tui.clock import since_changes
from amimon.tui.widgets.fit import show_text


def banner_text(state: MonitorState, now: datetime, retry_in: float | None) -> Text | None:
    """The banner for ``state``, or None when every target answers."""
    if not state.failures:
        return None
    text = Text()
    for i, (target, failure) in enumerate(state.failures.items()):
        if i:
            text.append("\n")
        where = f"{target.label}: " if target is not None else ""
        text.append(f"✗ {where}", style="bold")
        text.append(render.safe(failure.failure.message, multiline=True))
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


def next_change(state: MonitorState, now: datetime, retry_in: float | None) -> datetime | None:
    """When the banner's words next change: each second while a retry counts down."""
    if not state.failures:
        return None
    if retry_in is not None and retry_in > 0.5:
        return now + timedelta(seconds=(retry_in - 0.5) % 1 + 0.01)
    if state.last_success is not None:
        return since_changes(state.last_success, now, lazy=False)
    return None


class Banner(Static):
    """Shown while any target fails; as tall as its text is at the current width."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.display = False
        self._shown: tuple[str, object] | None = None

    def show(self, state: MonitorState, now: datetime, retry_in: float | None) -> None:
        text = banner_text(state, now, retry_in)
        self.display = text is not None
        if text is None:
            self._shown = None
            return
        kinds = {f.failure.kind for f in state.failures.values()}
        self.set_class(kinds == {ErrorKind.THROTTLED}, "-warning")
        shown = (text.plain, text.spans)
        if shown != self._shown:
            self._shown = shown
            show_text(self, text)

"""The header line: targets, counts per state, data age and poll health, fitted to its width."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from rich.text import Text
from textual.widget import Widget

from amimon import render
from amimon.model import KNOWN_STATES, Target, TaskState
from amimon.reducer import MonitorState
from amimon.tui.clock import since_changes
from amimon.view import counts, targets_label

AGE_STEP = 5  # seconds: a header that changed every second would cost a repaint a second


# Counting 10,000 tasks takes a millisecond: once per state, not once per wake.
_tallied: tuple[MonitorState | None, tuple[tuple[str, int], ...]] = (None, ())


@dataclass(frozen=True)
class HeaderInfo:
    """Everything the header says, as plain values (the header repaints when they change)."""

    targets: str
    demo: bool = False
    loaded: bool = False
    tasks: int = 0
    tally: tuple[tuple[str, int], ...] = ()
    age: str = ""
    stale: bool = False
    old: bool = False
    paused: bool = False
    polling: bool = False


def header_info(
    state: MonitorState,
    targets: Sequence[Target],
    now: datetime,
    *,
    interval: float,
    demo: bool,
    paused: bool,
    polling: bool,
) -> HeaderInfo:
    """What the header says about ``state`` at ``now``."""
    global _tallied
    if _tallied[0] is not state:
        _tallied = (state, tuple(sorted(counts(state.tasks.values()).items())))
    tally = _tallied[1]
    age = render.age(state.last_success, now, step=AGE_STEP) if state.loaded else ""
    old = (
        not paused
        and state.last_success is not None
        and now - state.last_success > timedelta(seconds=3 * interval)
    )
    return HeaderInfo(
        targets=targets_label(targets),
        demo=demo,
        loaded=state.loaded,
        tasks=len(state.tasks),
        tally=tally,
        age=age,
        stale=state.stale_since is not None,
        old=old,
        paused=paused,
        polling=polling,
    )


def next_change(
    state: MonitorState, now: datetime, interval: float, next_poll: float | None = None
) -> datetime | None:
    """When the header's age (or its turning old) next changes. An age that would change
    less than a second before the next poll waits for it: the poll sets it anew."""
    if state.last_success is None:
        return None
    moments = [since_changes(state.last_success, now, step=AGE_STEP)]
    old_at = state.last_success + timedelta(seconds=3 * interval)
    if old_at > now:
        moments.append(old_at)
    moment = min(moments)
    if next_poll is not None and now + timedelta(seconds=next_poll - 1) <= moment:
        return None
    return moment


_WORDS = {
    TaskState.IN_PROGRESS.value: ("running", "run"),
    TaskState.COMPLETED.value: ("done", "done"),
    TaskState.FAILED.value: ("failed", "fail"),
}


def _tally(info: HeaderInfo, level: int) -> str:
    counted = dict(info.tally)
    total = sum(counted.values())
    parts = [f"{counted.get(s, 0):,} {_WORDS[s][level >= 2]}" for s in KNOWN_STATES]
    parts += [f"{n:,} {render.safe(s)}" for s, n in info.tally if s not in KNOWN_STATES]
    body = " · ".join(parts)
    if level == 0:
        return f"{total:,} {'task' if total == 1 else 'tasks'}: {body}"
    return body


def header_text(info: HeaderInfo, width: int) -> Text:
    """The header for ``width`` cells: counts and age shorten, then the targets are cut;
    the DEMO badge and the poll state always show."""
    status = Text()
    if info.stale:
        status.append(" · STALE", style="bold")
    if info.paused:
        status.append(" · PAUSED", style="bold")
    elif info.polling:
        status.append(" · ⟳")
    start = Text("amimon", style="bold")
    if info.demo:
        start.append(" · ")
        start.append("DEMO", style="bold reverse")
    for level in range(3):
        if info.loaded:
            age = f"updated {info.age}" if level == 0 else info.age
            middle = f"{_tally(info, level)} · {age}"
        else:
            middle = f"loading… {info.tasks:,} tasks" if info.tasks else "loading…"
        room = width - start.cell_len - status.cell_len - len(middle) - 6
        if room >= min(len(info.targets), 12) or level == 2:
            break
    targets = info.targets
    if len(targets) > max(room, 1):
        targets = targets[: max(room, 2) - 1] + "…"
    line = start + Text(f" · {targets} · {middle}") + status
    line.truncate(width, overflow="ellipsis")
    return line


class Header(Widget):
    """The first line of the screen; turns warning when data is stale or old."""

    DEFAULT_CSS = "Header { height: 1; }"

    def __init__(self, info: HeaderInfo, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.info = info

    def show(self, info: HeaderInfo) -> None:
        if info != self.info:
            self.info = info
            self.set_class(info.stale, "-stale")
            self.set_class(info.old and not info.stale, "-old")
            self.refresh()

    def render(self) -> Text:
        return header_text(self.info, self.content_region.width)

"""The header line: targets, counts per state, data age and poll health, fitted to its width."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from rich.text import Text
from textual.widget import Widget

from amimon import derive, render
from amimon.derive import DEFAULT_STORE_QUOTA_GB
from amimon.model import KNOWN_STATES, Target, TaskState
from amimon.records import record
from amimon.state import MonitorState
from amimon.tui.clock import since_changes
from amimon.view import counts, targets_label

AGE_STEP = 5  # seconds: a header that changed every second would cost a repaint a second


# Counting 10,000 tasks takes a millisecond: once per state, not once per wake.
_tallied: tuple[MonitorState | None, tuple[tuple[str, int], ...], tuple[Gauge, ...]] = (
    None,
    (),
    (),
)


@record
class Gauge:
    """One account and region's store quota: snapshot GiB of its InProgress tasks."""

    label: str  # the target, when several are watched
    used_gib: int
    limit_gib: int
    unknown: int  # running tasks whose size is not known
    warning: bool  # from 80%
    full: bool = False  # at or over the limit: the next store task will be rejected

    def words(self) -> str:
        percent = round(100 * self.used_gib / self.limit_gib) if self.limit_gib else 0
        where = f"{self.label} " if self.label else ""
        more = f" +{self.unknown} unsized" if self.unknown else ""
        return f"{where}{self.used_gib:,}/{self.limit_gib:,} GiB ({percent}%){more}"


@record
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
    quota: tuple[Gauge, ...] = ()
    warning_style: str = "bold yellow"
    error_style: str = "bold red"


def header_info(
    state: MonitorState,
    targets: Sequence[Target],
    now: datetime,
    *,
    interval: float,
    demo: bool,
    paused: bool,
    polling: bool,
    quota_gib: int = DEFAULT_STORE_QUOTA_GB,
    warning_style: str = "bold yellow",
    error_style: str = "bold red",
) -> HeaderInfo:
    """What the header says about ``state`` at ``now``."""
    tally, quota = tallied(state, targets, quota_gib)
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
        quota=quota,
        warning_style=warning_style,
        error_style=error_style,
    )


def tallied(
    state: MonitorState, targets: Sequence[Target], quota_gib: int
) -> tuple[tuple[tuple[str, int], ...], tuple[Gauge, ...]]:
    """The counts per state and the quota gauges of ``state``, worked out once per state:
    the poll worker asks first (a walk over every task), the header then finds them."""
    global _tallied
    known = _tallied
    if known[0] is not state:
        retried = derive.retried_in(state)
        tally = tuple(sorted(counts(state.tasks.values(), retried).items()))
        known = _tallied = (state, tally, _gauges(state, targets, quota_gib))
    return known[1], known[2]


def _gauges(state: MonitorState, targets: Sequence[Target], limit: int) -> tuple[Gauge, ...]:
    """A gauge per target with a running task of known size (sizes come from
    DescribeImages: without that permission there is nothing to measure)."""
    several = len(targets) > 1
    return tuple(
        Gauge(
            target.label if several else "",
            use.used_gib,
            limit,
            use.unknown,
            use.warning,
            use.fraction >= 1,
        )
        for target, use in derive.quota_use(state, targets, limit).items()
        if use.used_gib > 0
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


def quota_text(info: HeaderInfo) -> Text:
    """``quota 840/1,200 GiB (70%)`` per account and region, in the warning style from 80%
    and the error style from 100%;
    empty when no running task's size is known. The status line under the filters shows it
    (the header line has no room left for it at 80 columns)."""
    if not info.quota:
        return Text()
    line = Text("quota ")
    for i, gauge in enumerate(info.quota):
        if i:
            line.append(" · ")
        style = info.error_style if gauge.full else info.warning_style if gauge.warning else ""
        line.append(gauge.words(), style=style)
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

"""Where API text meets a terminal: safe text, and the Rich cells shared by every table.

API strings are kept exactly in the model; here each control or escape character becomes
a visible placeholder (nothing after it is lost) and text always enters Rich as ``Text``,
never as markup, so a bucket called ``[bold]`` shows as exactly that.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import TYPE_CHECKING

from rich.text import Text

from amimon.durations import format_duration
from amimon.estimate import Estimate, estimate, history_estimate
from amimon.model import ImageInfo, TaskState, TrackedTask
from amimon.records import record

if TYPE_CHECKING:
    from amimon.state import MonitorState


@record
class Palette:
    """Styles per meaning. The monitor builds one from its theme's variables."""

    running: str = "cyan"
    done: str = "green"
    failed: str = "bold red"
    unknown: str = "magenta"
    muted: str = "dim"
    warning: str = "yellow"

    def for_state(self, state: str | None) -> str:
        return {
            TaskState.IN_PROGRESS.value: self.running,
            TaskState.COMPLETED.value: self.done,
            TaskState.FAILED.value: self.failed,
        }.get(state or "", self.unknown)


DEFAULT_PALETTE = Palette()


# Safe text ---------------------------------------------------------------------------

_PICTURES = {**{c: chr(0x2400 + c) for c in range(0x20)}, 0x7F: "\u2421"}


def _placeholder(ch: str) -> str:
    code = ord(ch)
    picture = _PICTURES.get(code)
    if picture is not None:
        return picture  # ␛ for ESC, ␀ for NUL, ␡ for DEL: one cell, as wide as the original
    return f"⟨U+{code:04X}⟩"


def _hidden(ch: str) -> bool:
    """Characters a terminal would act on or not show: controls, format characters
    (bidi overrides, zero-width), line and paragraph separators."""
    return unicodedata.category(ch) in {"Cc", "Cf", "Zl", "Zp", "Cs"}


def safe(value: str | None, *, multiline: bool = False) -> str:
    """``value`` made safe for a terminal: each control or invisible format character
    becomes a visible placeholder and the text after it stays. With ``multiline``,
    newlines (and CR LF) stay line breaks and tabs stay tabs."""
    if not value:
        return ""
    if value.isprintable():
        return value
    if multiline:
        value = value.replace("\r\n", "\n")
    out = []
    for ch in value:
        if (multiline and ch in "\n\t") or not _hidden(ch):
            out.append(ch)
        else:
            out.append(_placeholder(ch))
    return "".join(out)


def text(value: str | None, style: str = "") -> Text:
    """API text as a one-line Rich Text that is never parsed as markup."""
    return Text(safe(value), style=style)


def first_line(value: str | None, limit: int = 120) -> str:
    """The first line of a (possibly long, multi-line) text, safe, cut with ``…``."""
    if not value:
        return ""
    line = value.split("\n", 1)[0].rstrip("\r")
    more = "\n" in value.strip("\n") or len(line) > limit
    line = safe(line)[: limit - 1 if more else limit]
    return line + "…" if more else line


# Small pieces --------------------------------------------------------------------------

_EIGHTHS = " ▏▎▍▌▋▊▉"


def bar(progress: int | None, width: int = 10) -> str:
    """A block-character bar of ``width`` cells for a percentage, with eighth-cell steps."""
    if progress is None:
        return "·" * width
    eighths = round(max(0, min(100, progress)) * width * 8 / 100)
    full, part = divmod(eighths, 8)
    drawn = "█" * full + (_EIGHTHS[part] if part else "")
    return drawn.ljust(width)


def progress_text(
    progress: int | None, state: str | None, palette: Palette = DEFAULT_PALETTE, width: int = 10
) -> Text:
    """``████▍      47%`` styled by state (the bar is clamped; the number is the API's)."""
    label = "  ?%" if progress is None else f"{progress:>3}%"
    drawn = Text(bar(progress, width), style=palette.for_state(state)) if width else Text()
    drawn.append((" " if width else "") + label)
    return drawn


def state_word(state: str | None, vanished: bool = False) -> str:
    """The state as shown: the API's spelling, ``gone`` once no longer returned."""
    if vanished:
        return "gone"
    return safe(state) or "Unknown"


def state_text(
    state: str | None, palette: Palette = DEFAULT_PALETTE, vanished: bool = False
) -> Text:
    """The state as a styled word; unknown states are shown as the API spelled them."""
    style = palette.muted if vanished else palette.for_state(state)
    return Text(state_word(state, vanished), style=style)


duration = format_duration


def age(moment: datetime | None, now: datetime, step: int = 1) -> str:
    """How long ago, e.g. ``12m ago``; ``-`` when unknown. Under a minute, seconds are
    rounded down to ``step``."""
    if moment is None:
        return "-"
    delta = now - moment
    if step > 1 and delta < timedelta(minutes=1):
        delta = timedelta(seconds=int(delta.total_seconds()) // step * step)
    return f"{duration(delta)} ago"


def rate(percent_per_minute: float | None) -> str:
    """``2.5%/min``, ``0.12%/min``; ``-`` when unknown."""
    if percent_per_minute is None:
        return "-"
    if percent_per_minute >= 10:
        return f"{percent_per_minute:.0f}%/min"
    if percent_per_minute >= 1:
        return f"{percent_per_minute:.1f}%/min"
    return f"{percent_per_minute:.2f}%/min"


def timestamp(moment: datetime | None) -> str:
    """ISO-like UTC time without microseconds, e.g. ``2026-11-27 17:05:03 UTC``."""
    if moment is None:
        return "-"
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def clock_time(moment: datetime) -> str:
    """``14:05 UTC``: enough for an ETA within a day."""
    return moment.astimezone(UTC).strftime("%H:%M UTC")


def eta_words(est: Estimate, now: datetime) -> str:
    """``12m``, ``~2h10m`` (approximate), ``≈40m`` (from the bucket's history),
    ``stalled``, ``…`` (not enough seen yet)."""
    if est.stalled:
        return "stalled"
    remaining = est.remaining(now)
    if remaining is None:
        return "…"
    mark = "≈" if est.from_history else "~" if est.approximate else ""
    return mark + duration(remaining)


# Rows ----------------------------------------------------------------------------------


class Column(StrEnum):
    """The columns a task row can have, in every table amimon draws."""

    PROFILE = "profile"
    REGION = "region"
    AMI = "ami"
    BUCKET = "bucket"
    STATE = "state"
    PROGRESS = "progress"
    ETA = "eta"
    AGE = "age"
    STARTED = "started"
    KEY = "key"
    REASON = "reason"
    NAME = "name"
    SIZE = "size"
    SPEED = "speed"


HEADERS: dict[Column, str] = {
    Column.PROFILE: "Profile",
    Column.REGION: "Region",
    Column.AMI: "AMI",
    Column.BUCKET: "Bucket",
    Column.STATE: "State",
    Column.PROGRESS: "Progress",
    Column.ETA: "ETA",
    Column.AGE: "Age",
    Column.STARTED: "Started",
    Column.KEY: "S3 key",
    Column.REASON: "Reason",
    Column.NAME: "Name",
    Column.SIZE: "Size",
    Column.SPEED: "GiB/min",
}


@record
class RowContext:
    """What every cell of a row needs besides the task: the time, and how to draw."""

    now: datetime
    palette: Palette = DEFAULT_PALETTE
    bar_width: int = 10


def row_estimate(
    tracked: TrackedTask, as_of: datetime | None, state: MonitorState | None = None
) -> Estimate:
    """The task's estimate as of its last confirmation (no estimate without one); with
    ``state``, a task whose own rate rests on too few points yet takes its bucket's
    history instead, until its own progress takes over."""
    if as_of is None or tracked.task.state != TaskState.IN_PROGRESS:
        return Estimate()
    est = estimate(tracked, as_of)
    weak = est.rate is None or est.approximate
    if state is not None and weak and not est.stalled and state.bucket_rates:
        task = tracked.task
        image = state.image(task)
        rate = state.bucket_rates.get((task.target, task.bucket or ""))
        prior = history_estimate(tracked, as_of, image.size_gib if image else None, rate)
        if prior is not None:
            return prior
    return est


def image_name(image: ImageInfo | None) -> str:
    """The AMI's name as shown: ``(deregistered)`` once DescribeImages no longer knows it,
    empty while unknown."""
    if image is None:
        return ""
    if not image.found:
        return "(deregistered)"
    return safe(image.name) or "(no name)"


def size_words(image: ImageInfo | None) -> str:
    """``120 GiB`` of snapshot data (not the compressed object's size)."""
    if image is None or image.size_gib is None:
        return ""
    return f"{image.size_gib:,} GiB"


def speed_words(gib_per_minute: float | None) -> str:
    """``1.4 GiB/min``; empty when unknown."""
    if gib_per_minute is None:
        return ""
    if gib_per_minute >= 10:
        return f"{gib_per_minute:.0f} GiB/min"
    return f"{gib_per_minute:.1f} GiB/min" if gib_per_minute >= 0.1 else "<0.1 GiB/min"


def speed_number(gib_per_minute: float | None) -> str:
    """``1.4`` for a column headed GiB/min; empty when unknown."""
    return speed_words(gib_per_minute).removesuffix(" GiB/min")


def cell(
    column: Column,
    tracked: TrackedTask,
    est: Estimate,
    now: datetime,
    ctx: RowContext,
    image: ImageInfo | None = None,
) -> Text:
    """One cell. ``now`` is the row's clock: frozen at the last good poll while stale."""
    task = tracked.task
    gone = tracked.vanished_at is not None
    palette = ctx.palette
    if column is Column.NAME:
        style = palette.muted if image is not None and not image.found else ""
        return Text(image_name(image), style=style)
    if column is Column.SIZE:
        return Text(size_words(image))
    if column is Column.SPEED:
        if task.state != TaskState.IN_PROGRESS or gone:
            return Text("")
        size = image.size_gib if image is not None else None
        rate = None  # from the task's own progress only: history's rate is not this task's
        if est.rate is not None and not est.from_history and size is not None:
            rate = est.rate * size / 100
        return Text(speed_number(rate))
    if column is Column.PROFILE:
        return Text(task.target.profile or "-")
    if column is Column.REGION:
        return Text(task.target.region or "-")
    if column is Column.AMI:
        return text(task.ami_id)
    if column is Column.BUCKET:
        return text(task.bucket)
    if column is Column.STATE:
        return state_text(task.state, palette, vanished=gone)
    if column is Column.PROGRESS:
        return progress_text(task.progress, task.state, palette, ctx.bar_width)
    if column is Column.ETA:
        if task.state != TaskState.IN_PROGRESS or gone:
            return Text("")
        words = eta_words(est, now)
        style = palette.warning if est.stalled else palette.muted if words == "…" else ""
        return Text(words, style=style)
    if column is Column.AGE:
        return Text(duration(ctx.now - task.start_time) if task.start_time else "-")
    if column is Column.STARTED:
        return Text(timestamp(task.start_time)[:16] if task.start_time else "-")
    if column is Column.KEY:
        return text(task.object_key, style=palette.muted)
    return Text(first_line(task.failure_reason, 200), style=palette.muted)


def row(
    tracked: TrackedTask,
    columns: Sequence[Column],
    ctx: RowContext,
    as_of: datetime | None,
    frozen_at: datetime | None = None,
    image: ImageInfo | None = None,
    *,
    state: MonitorState | None = None,
    retried: bool = False,
) -> list[Text]:
    """The cells of one task for ``columns``; a stale row's ETA is frozen at ``frozen_at``
    and the whole row is dimmed, like a failure stored again since (``retried``)."""
    est = row_estimate(tracked, as_of, state)
    now = ctx.now if frozen_at is None else min(ctx.now, frozen_at)
    cells = [cell(c, tracked, est, now, ctx, image) for c in columns]
    if tracked.vanished_at is not None or frozen_at is not None or retried:
        for one in cells:
            one.stylize(ctx.palette.muted)
    return cells

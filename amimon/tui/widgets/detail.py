"""The detail panel: every field of the selected task and its whole failure reason; scrolls."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from rich.text import Text
from textual.geometry import Region, Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip

from amimon import derive, render
from amimon.model import ImageInfo, TaskState, TrackedTask
from amimon.render import Palette
from amimon.state import MonitorState
from amimon.tui.clock import earliest, since_changes, until_changes

LABEL = 11  # the width of a field's label


def break_path(value: str, width: int) -> list[str]:
    """``value`` in lines of at most ``width`` cells, broken after a ``/`` where it can be
    (an S3 URI breaks between names, never inside one); a name longer than a line is cut
    where it must be."""
    width = max(1, width)
    lines: list[str] = []
    line = ""
    for part in value.replace("/", "/\0").split("\0"):
        while len(part) > width:
            if line:
                lines.append(line)
                line = ""
            lines.append(part[:width])
            part = part[width:]
        if len(line) + len(part) > width:
            lines.append(line)
            line = ""
        line += part
    if line or not lines:
        lines.append(line)
    return lines


def break_words(value: str, width: int) -> list[str]:
    """API text (made safe) in lines of at most ``width`` cells, broken between words; a
    word longer than a line is cut where it must be."""
    import textwrap

    safe = render.safe(value)  # no control characters left: only spaces break lines
    return textwrap.wrap(safe, max(1, width), break_on_hyphens=False) or [safe]


def detail_text(
    tracked: TrackedTask | None,
    now: datetime,
    palette: Palette,
    state: MonitorState,
    width: int,
    *,
    retried: bool = False,
) -> Text:
    """Every field of the selected task; the failure reason in full, as plain text."""
    if tracked is None:
        return Text("No task selected.", style=palette.muted)
    # Not needed for the first frame (no task is selected before the first poll).
    from amimon.ended import describe, ending, gib_rate

    task = tracked.task
    est = render.row_estimate(tracked, state.seen_at(task.target), state)
    image = state.image(task)
    text = Text()
    text.append(render.safe(task.ami_id) or "(no AMI id)", style="bold")
    text.append("\n")
    if image is not None:
        text.append(render.image_name(image), style=palette.muted if not image.found else "")
        text.append("\n")
    gone = tracked.vanished_at is not None
    text.append_text(render.state_text(task.state, palette, vanished=gone))
    if gone:
        text.append(f" (last seen {render.state_word(task.state)})", style=palette.muted)
    text.append("  ")
    text.append_text(render.progress_text(task.progress, task.state, palette, 10))
    text.append("\n")
    if task.state == TaskState.FAILED or task.failure_reason:
        # The reason first: it is why anyone selects a failed task. The panel scrolls.
        text.append("Failure reason\n", style=f"bold {palette.failed}")
        text.append(render.safe(task.failure_reason, multiline=True) or "(AWS gave no reason)")
        text.append("\n")
    if task.state == TaskState.FAILED:
        if retried:
            text.append("Retried: the AMI was stored again since.\n", style=palette.muted)
        else:
            text.append("Press a to copy the command that stores it again.\n", style=palette.muted)

    def field(label: str, value: str | Text) -> None:
        text.append(f"{label:<{LABEL}}", style=palette.muted)
        text.append_text(value if isinstance(value, Text) else Text(value))
        text.append("\n")

    uri = break_path(render.safe(task.s3_uri) or "-", width - LABEL)
    field("Object", ("\n" + " " * LABEL).join(uri))
    field("Region", task.target.region or "default")
    if task.target.profile:
        field("Profile", task.target.profile)
    _image_fields(field, image, task.target in state.images_denied, width)
    field("Started", render.timestamp(task.start_time))
    if task.start_time is not None:
        field("Elapsed", render.duration(now - task.start_time))
    size = image.size_gib if image is not None else None
    if task.state == TaskState.IN_PROGRESS and not gone:
        if est.from_history:
            field("Rate", "none of its own yet")
        else:
            speed = derive.throughput(est, size)
            field("Rate", render.rate(est.rate) + (f", {gib_rate(speed)}" if speed else ""))
        if est.stalled:
            field("ETA", Text("stalled: no progress for a while", style=palette.warning))
        elif est.remaining(now) is not None and est.eta_at is not None:
            about = "roughly" if est.approximate else "about"
            field("ETA", f"{render.eta_words(est, now)} ({about} {render.clock_time(est.eta_at)})")
            if est.from_history:
                rate = state.bucket_rates.get((task.target, task.bucket or ""))
                field("", f"estimate from this bucket's history ({gib_rate(rate)} median)")
        else:
            field("ETA", "not enough progress seen yet")
    end = ending(tracked)
    if end is not None:
        label = "Failed" if task.state == TaskState.FAILED else "Completed"
        field(label, describe(end, task.state, size).split(" ", 1)[1])
    field("First seen", render.timestamp(tracked.first_seen))
    if gone:
        field("Gone", f"no longer returned since {render.timestamp(tracked.vanished_at)}")
    text.rstrip()
    return text


def _image_fields(
    field: Callable[[str, str | Text], None], image: ImageInfo | None, denied: bool, width: int
) -> None:
    """What DescribeImages said of the AMI."""
    if denied and image is None:
        field("AMI", "name and size need ec2:DescribeImages (optional)")
        return
    if image is None:
        return
    if not image.found:
        field("AMI", "deregistered (DescribeImages no longer knows it)")
        return
    if image.size_gib is not None:
        field("Size", f"{image.size_gib:,} GiB of snapshots")
    if image.architecture:
        field("Arch", render.safe(image.architecture))
    if image.description:
        field("About", ("\n" + " " * LABEL).join(break_words(image.description, width - LABEL)))


def next_change(tracked: TrackedTask | None, now: datetime, state: MonitorState) -> datetime | None:
    """When the panel's elapsed time or ETA next reads differently."""
    if tracked is None or tracked.task.start_time is None:
        return None
    moments: list[datetime | None] = [since_changes(tracked.task.start_time, now)]
    est = render.row_estimate(tracked, state.seen_at(tracked.task.target), state)
    if est.eta_at is not None and not est.stalled:
        moments.append(until_changes(est.eta_at, now))
    return earliest(moments)


class Detail(ScrollView, can_focus=True):
    """The panel: its text wrapped to its width, drawn line by line; scrolls when taller
    than the panel (a long reason, a narrow terminal). A new text repaints it, and changes
    only the scrollbar: the screen is not laid out again."""

    class Resized(Message):
        """The panel's width changed: its text (URIs broken at ``/``) needs building again."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.text = Text()
        self._lines: list[Strip] = []
        self._shown: tuple[str, object] | None = None
        self._showing: object = None
        self._width = 0
        # Each paragraph's lines as drawn, for the width and style they were drawn with.
        self._paragraphs: dict[object, list[Strip]] = {}
        self._drawn_as: tuple[int, object] | None = None
        self._blank = Strip([])

    @property
    def text_width(self) -> int:
        return max(20, self.scrollable_content_region.width)

    def show(self, text: Text, task: object) -> None:
        """Show ``text``; back to the top when another task is shown."""
        shown = (text.plain, text.spans)
        if shown == self._shown and self._width == self.text_width:
            return
        self._shown, self.text = shown, text
        self._wrap()
        if task != self._showing:
            self._showing = task
            self.scroll_to(y=0, animate=False, immediate=True)

    def _wrap(self) -> None:
        """The text as lines of the panel's width. Lines are wrapped one paragraph at a
        time and kept: when only an ETA or an elapsed time moved, only its paragraph is
        wrapped and drawn again (the whole text took milliseconds each time)."""
        width = self._width = self.text_width
        console = self.app.console
        base = self.rich_style  # once per text: it walks every ancestor's styles
        known = self._paragraphs if self._drawn_as == (width, base) else {}
        paragraphs: dict[object, list[Strip]] = {}
        lines: list[Strip] = []
        for paragraph in self.text.split(allow_blank=True):
            key = (paragraph.plain, tuple(paragraph.spans), paragraph.style)
            strips = paragraphs.get(key) or known.get(key)
            if strips is None:
                strips = [
                    Strip(line.render(console)).adjust_cell_length(width).apply_style(base)
                    for line in paragraph.wrap(console, width)
                ]
            paragraphs[key] = strips
            lines += strips
        self._paragraphs, self._drawn_as = paragraphs, (width, base)
        self._blank = Strip.blank(width, base)
        old, self._lines = self._lines, lines
        size = Size(width, len(self._lines))
        if self.is_mounted and self.size and size != self.virtual_size:
            self.set_reactive(Detail.virtual_size, size)
            self._scroll_update(size)
        elif size != self.virtual_size:
            self.virtual_size = size
        # Repaint only the lines that read differently (an ETA, an elapsed time).
        top = int(self.scroll_y)
        for y in range(self.size.height):
            index = top + y
            before = old[index] if index < len(old) else None
            after = self._lines[index] if index < len(self._lines) else None
            if before is after:  # the same paragraph's line, or blank both times
                continue
            if before is None or after is None or list(before) != list(after):
                self.refresh(Region(0, y, self.size.width, 1))

    def restyle(self) -> None:
        """The theme changed: draw the text again with its colours."""
        self._shown = None
        self._drawn_as = None
        self._blank = Strip([])

    def on_resize(self) -> None:
        if self.text_width != self._width:
            self.post_message(self.Resized())

    def render_line(self, y: int) -> Strip:
        index = int(self.scroll_y) + y
        if 0 <= index < len(self._lines):
            return self._lines[index]
        if self._blank.cell_length != self.scrollable_content_region.width:
            self._blank = Strip.blank(self.scrollable_content_region.width, self.rich_style)
        return self._blank

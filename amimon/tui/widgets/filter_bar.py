"""The filter bar: bucket, state and search fields, and a line saying what is shown."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.suggester import Suggester
from textual.widgets import Input, Static

from amimon.model import KNOWN_STATES
from amimon.view import Sort, TaskFilter, describe_shown

ALL = "all"


class _BucketSuggester(Suggester):
    """Suggests the buckets seen so far."""

    def __init__(self, buckets: Callable[[], Iterable[str]]) -> None:
        super().__init__(use_cache=False, case_sensitive=True)
        self._buckets = buckets

    async def get_suggestion(self, value: str) -> str | None:
        last = value.rsplit(",", 1)[-1].strip()
        for bucket in sorted(self._buckets()):
            if last and bucket.startswith(last):
                return value + bucket[len(last) :]
        return None


def _state_value(states: frozenset[str]) -> str:
    return ",".join(s for s in KNOWN_STATES if s in states) or ALL


def _state_label(value: str) -> str:
    return "All states" if value == ALL else value.replace(",", " or ")


def buckets_from(value: str, known: Iterable[str]) -> frozenset[str]:
    """The buckets a typed value means: comma-separated names, each exact if such a bucket
    was seen, else every seen bucket it starts (or the name as typed if none)."""
    seen = set(known)
    chosen: set[str] = set()
    for part in (p.strip() for p in value.split(",")):
        if not part:
            continue
        if part in seen:
            chosen.add(part)
        else:
            chosen |= {b for b in seen if b.startswith(part)} or {part}
    return frozenset(chosen)


class StateToggle(Static):
    """The state filter: one of a few choices, cycled with ``s`` or a click. Cheaper than a
    Select: a change repaints one line and lays nothing out."""

    def __init__(self, choices: list[str], value: str, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.choices = choices
        self.value = value if value in choices else ALL

    def on_mount(self) -> None:
        self._show()

    def _show(self) -> None:
        self.update(Text(f"state: {_state_label(self.value)} ▸"), layout=False)

    def set(self, value: str) -> None:
        if value != self.value:
            self.value = value
            self._show()

    def cycle(self) -> str:
        index = self.choices.index(self.value) if self.value in self.choices else -1
        self.set(self.choices[(index + 1) % len(self.choices)])
        return self.value

    def on_click(self) -> None:
        self.post_message(self.Changed(self.cycle()))

    class Changed(Message):
        def __init__(self, value: str) -> None:
            super().__init__()
            self.value = value


class FilterBar(Vertical):
    """Owns the filter; posts ``FilterBar.Changed`` whenever it changes."""

    class Changed(Message):
        def __init__(self, task_filter: TaskFilter) -> None:
            super().__init__()
            self.task_filter = task_filter

    def __init__(
        self,
        initial: TaskFilter,
        buckets_seen: Callable[[], Iterable[str]],
        *,
        id: str | None = None,
    ) -> None:
        super().__init__(id=id)
        self.task_filter = initial
        self._buckets_seen = buckets_seen
        self._states = [ALL, *KNOWN_STATES]
        if len(initial.states) > 1:
            self._states.append(_state_value(initial.states))
        self._status = Text()
        self._status_of: tuple[int, int, Sort, Text | None] | None = None
        # What was typed in the bucket field (not what a flag gave, which is exact): a
        # prefix means the buckets it starts, also those seen after it was typed.
        self._typed_buckets = ""

    def compose(self) -> ComposeResult:
        with Horizontal(id="filters"):
            yield Input(
                ", ".join(sorted(self.task_filter.buckets)),
                placeholder="bucket (b)",
                id="bucket",
                compact=True,
                suggester=_BucketSuggester(self._buckets_seen),
            )
            yield StateToggle(self._states, _state_value(self.task_filter.states), id="state")
            yield Input(self.task_filter.text, placeholder="search (/)", id="search", compact=True)
        yield Static(id="filter-status")

    def show_status(self, shown: int, total: int, sort: Sort, quota: Text | None = None) -> None:
        """Say what is shown: the filter in words, how many of how many, the sort; then the
        store quota in use. Of those after the count, the most needed that fit the width
        are kept: the quota, then the hint that Esc clears, then the sort (the header marks
        it)."""
        self._status_of = (shown, total, sort, quota)
        arrow = "↓" if sort.descending else "↑"
        status = self.query_one("#filter-status", Static)
        width = status.content_region.width or self.app.size.width - 2
        said = Text(describe_shown(shown, total, self.task_filter))
        if said.cell_len > width and self.task_filter.active:
            # A long search or bucket list: its words are cut, the count stays.
            count = f" · {shown:,} of {total:,} shown"
            said = Text(self.task_filter.describe())
            said.truncate(max(1, width - len(count)), overflow="ellipsis")
            said.append(count)
        parts = [
            said,
            Text(f"sorted by {sort.column} {arrow}"),
            Text("Esc clears") if self.task_filter.active else None,
            quota or None,
        ]

        def line(indices: set[int]) -> Text:
            return Text(" · ").join(part for i, part in enumerate(parts) if i in indices and part)

        kept = {0}
        for wanted in (3, 2, 1):  # the most needed first, each if it still fits
            if parts[wanted] is not None and line(kept | {wanted}).cell_len <= width:
                kept.add(wanted)
        words = line(kept)
        if words != self._status:
            self._status = words
            status.update(words, layout=False)

    def on_resize(self) -> None:
        if self._status_of is not None:
            self.show_status(*self._status_of)

    def _set(self, task_filter: TaskFilter) -> TaskFilter:
        if task_filter != self.task_filter:
            self.task_filter = task_filter
            self.post_message(self.Changed(task_filter))
        return task_filter

    @on(Input.Changed, "#bucket")
    def _bucket_changed(self, event: Input.Changed) -> None:
        event.stop()
        self._typed_buckets = event.value
        f = self.task_filter
        buckets = buckets_from(event.value, self._buckets_seen())
        self._set(TaskFilter(buckets, f.states, f.text))

    def buckets_seen_changed(self) -> None:
        """A poll may have brought buckets a typed prefix starts (one typed before the
        first answer matched nothing): resolve it again, as if typed now."""
        if self._typed_buckets:
            f = self.task_filter
            buckets = buckets_from(self._typed_buckets, self._buckets_seen())
            self._set(TaskFilter(buckets, f.states, f.text))

    @on(Input.Changed, "#search")
    def _search_changed(self, event: Input.Changed) -> None:
        event.stop()
        f = self.task_filter
        self._set(TaskFilter(f.buckets, f.states, event.value))

    @on(StateToggle.Changed)
    def _state_changed(self, event: StateToggle.Changed) -> None:
        event.stop()
        self._set_states(event.value)

    def _set_states(self, value: str) -> TaskFilter:
        states = frozenset() if value == ALL else frozenset(value.split(","))
        f = self.task_filter
        return self._set(TaskFilter(f.buckets, states, f.text))

    def cycle_state(self) -> TaskFilter:
        """The next state filter; returned at once so the table can answer in this frame
        (``Changed`` is posted too)."""
        return self._set_states(self.query_one(StateToggle).cycle())

    def focus_field(self, name: str) -> None:
        # Focus now, not after the queued messages (``focus()`` waits for them): keys typed
        # or pasted right after ``/`` are already queued and must reach the field, not run
        # as the table's commands (``/pq`` used to quit).
        field = self.query_one(f"#{name}", Input)
        self.screen.set_focus(field)

    def clear(self, field: Input | None = None) -> TaskFilter:
        """Clear one field (the one being edited), or every filter; returns the filter."""
        if field is not None:
            field.value = ""
            return self.task_filter
        self.query_one("#bucket", Input).value = ""
        self.query_one("#search", Input).value = ""
        self.query_one(StateToggle).set(ALL)
        return self._set(TaskFilter())

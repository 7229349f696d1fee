"""What the scriptable commands share: error reports, a progress line, task tables."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from datetime import datetime

from rich.console import Console
from rich.table import Table
from rich.text import Text

from amimon import render
from amimon.context import Context, Exit
from amimon.model import ErrorKind, PollFailure, Snapshot, TrackedTask
from amimon.render import Column, RowContext
from amimon.state import MonitorState


class Stdout(Console):
    """Rich's console on stdout, whose reader going away (``amimon list | head``) ends the
    command as amimon says everywhere, exit 141: Rich's own exits 1, which for ``wait``
    means a task failed."""

    def on_broken_pipe(self) -> None:
        self.quiet = True
        raise BrokenPipeError


def stderr() -> Console:
    return Console(stderr=True, highlight=False, soft_wrap=True)


def exit_for(failures: Sequence[PollFailure]) -> Exit:
    """Exit 2 when every failure is a configuration problem, else 4."""
    return Exit.USAGE if all(f.kind is ErrorKind.CONFIG for f in failures) else Exit.AWS


def report(failures: Sequence[PollFailure]) -> None:
    """One line per failure on stderr, with the request id when AWS gave one."""
    err = stderr()
    for failure in failures:
        rid = f" (request id {failure.request_id})" if failure.request_id else ""
        err.print(Text(f"amimon: error: {render.safe(failure.message)}{rid}"))


class Progress:
    """A progress line on stderr while a long listing runs: only on a terminal, and
    erased when done, so nothing extra reaches a pipe or a log."""

    def __init__(self, what: str, *, enabled: bool | None = None) -> None:
        self.what = what
        self.enabled = sys.stderr.isatty() if enabled is None else enabled
        self.tasks = 0
        self.pages = 0
        self._shown = False

    def page(self, snapshot: Snapshot) -> None:
        """Hears each page of a listing (``Ec2TaskSource.fetch(on_page=...)``)."""
        self.pages += 1
        self.tasks += len(snapshot.tasks)
        if self.enabled:
            sys.stderr.write(
                f"\r\x1b[K{self.what}: {self.tasks:,} tasks so far ({self.pages} pages)…"
            )
            sys.stderr.flush()
            self._shown = True

    def done(self) -> None:
        if self._shown:
            sys.stderr.write("\r\x1b[K")
            sys.stderr.flush()
            self._shown = False


def task_columns(context: Context, extra: Sequence[Column]) -> list[Column]:
    """Profile and region columns when more than one is watched, then ``extra``."""
    columns = []
    if context.several_profiles:
        columns.append(Column.PROFILE)
    if context.several_regions:
        columns.append(Column.REGION)
    return [*columns, *extra]


def task_table(
    rows: Sequence[TrackedTask],
    columns: Sequence[Column],
    state: MonitorState,
    now: datetime,
    *,
    caption: str | None = None,
) -> Table:
    """A Rich table of tasks, built from the same cells as the monitor's table."""
    table = Table(box=None, header_style="bold", pad_edge=False, caption=caption)
    for column in columns:
        wrap = column is Column.REASON
        table.add_column(
            render.HEADERS[column], overflow="fold" if wrap else "ellipsis", no_wrap=not wrap
        )
    ctx = RowContext(now)
    for tracked in rows:
        as_of = state.seen_at(tracked.task.target)
        image = state.image(tracked.task)
        table.add_row(*render.row(tracked, columns, ctx, as_of, image=image))
    return table

"""The task table's column plan: which columns fit a width, and how wide each one is.

One pure function, ``plan_columns``, from the table's width, the content each column has
and the number of profiles and regions to a ``ColumnPlan``. Adding a column is one entry in
``SPECS`` (and one ``render.Column``).
"""

from __future__ import annotations

from collections.abc import Mapping

from amimon.records import record
from amimon.render import HEADERS, Column
from amimon.view import SortColumn

GAP = 1  # cells between two columns
LEFT = 1  # cells before the first column
AMI_WIDTH = 21  # ami- and 17 hex digits: never cut
BAR_WIDTHS = (10, 5, 0)  # progress bar widths, tried in this order
BUCKET_MIN = 12  # the bar narrows before the bucket gets less than this (or its names)
BUCKET_FLOOR = 8  # Age and ETA give way before the bucket gets less than this
BUCKET_MAX = 63  # S3 bucket names are at most 63 characters


@record
class ColumnSpec:
    """How one column behaves in the plan.

    ``width`` is the width it needs (``None``: as wide as its content, between ``min`` and
    ``max``). ``extra`` columns appear only when the terminal has room for them, in
    ``rank`` order; the others are always there (``when`` says if they depend on the
    number of profiles or regions). ``right`` aligns numbers to the right.
    """

    column: Column
    width: int | None = None
    min: int = 0
    max: int = 0
    extra: bool = False
    rank: int = 0
    when: str = ""
    right: bool = False
    sort: SortColumn | None = None


SPECS: tuple[ColumnSpec, ...] = (
    # Drawn in this order; extras join, as width allows, in ``rank`` order.
    ColumnSpec(Column.PROFILE, min=7, max=20, when="profiles", sort=SortColumn.REGION),
    ColumnSpec(Column.REGION, min=9, max=14, when="regions", sort=SortColumn.REGION),
    ColumnSpec(Column.AMI, width=AMI_WIDTH, sort=SortColumn.AMI),
    ColumnSpec(Column.NAME, min=12, max=48, extra=True, rank=1),
    ColumnSpec(Column.BUCKET, min=BUCKET_MIN, max=BUCKET_MAX, sort=SortColumn.BUCKET),
    ColumnSpec(Column.STATE, width=10, sort=SortColumn.STATE),
    ColumnSpec(Column.PROGRESS, width=4, right=True, sort=SortColumn.PROGRESS),
    ColumnSpec(Column.ETA, width=7, right=True, sort=SortColumn.ETA),
    ColumnSpec(Column.SPEED, width=7, extra=True, rank=2, right=True),
    ColumnSpec(Column.SIZE, width=9, extra=True, rank=3, right=True),
    ColumnSpec(Column.AGE, width=6, right=True, sort=SortColumn.STARTED),
    ColumnSpec(Column.STARTED, width=16, extra=True, rank=4, sort=SortColumn.STARTED),
    ColumnSpec(Column.KEY, min=12, max=60, extra=True, rank=5),
    ColumnSpec(Column.REASON, min=20, max=400, extra=True, rank=6),
)
SPEC: dict[Column, ColumnSpec] = {s.column: s for s in SPECS}


@record
class PlannedColumn:
    """A column as drawn: its width in cells and where it starts."""

    column: Column
    width: int
    x: int
    header: str
    right: bool = False
    sort: SortColumn | None = None


@record
class ColumnPlan:
    """The columns the table draws at one width, and the width of the progress bar."""

    columns: tuple[PlannedColumn, ...]
    bar_width: int
    width: int

    @property
    def names(self) -> tuple[Column, ...]:
        return tuple(c.column for c in self.columns)

    def width_of(self, column: Column) -> int:
        """The width of ``column``, 0 when it is not shown."""
        return next((c.width for c in self.columns if c.column is column), 0)

    def at(self, x: int) -> PlannedColumn | None:
        """The column under cell ``x`` (a gap belongs to the column on its left)."""
        found = None
        for planned in self.columns:
            if x >= planned.x - GAP:
                found = planned
        return found


def _content(spec: ColumnSpec, content: Mapping[Column, int]) -> int:
    """What a flexible column would like: its content, within its bounds."""
    return max(spec.min, min(spec.max, content.get(spec.column, 0)))


def plan_columns(
    width: int, content: Mapping[Column, int], *, profiles: int = 1, regions: int = 1
) -> ColumnPlan:
    """The columns for a table ``width`` cells wide.

    ``content`` is the widest text each column has (0 or missing: none at all; an extra
    column appears only with content). The AMI id is never cut; the
    bucket takes what is left and is the one cut (with ``…``) when space runs short; the
    progress bar narrows before that, and below 80 columns Age, then ETA give way. Wider
    tables add GiB/min, Size and Name (when DescribeImages told them), Started, S3 key and
    the failure reason. Profile and Region show when more
    than one is watched.
    """
    base = [
        s
        for s in SPECS
        if not s.extra
        and (s.when != "profiles" or profiles > 1)
        and (s.when != "regions" or regions > 1)
    ]
    # Region and profile names are identifiers too: as wide as their content from the start.
    widths = {s.column: s.width if s.width is not None else _content(s, content) for s in base}
    widths[Column.BUCKET] = 0

    def left(bar: int) -> int:
        """Cells left for the bucket with this bar."""
        return width - (LEFT + sum(widths.values()) + GAP * (len(widths) - 1) + _bar_cells(bar))

    # Whole identifiers before a long bar: the bar narrows while the bucket's names do not
    # fit; below 80 columns Age, then ETA give way before the bucket goes under its floor.
    wanted = _content(SPEC[Column.BUCKET], content)
    bar = next((b for b in BAR_WIDTHS if left(b) >= wanted), BAR_WIDTHS[-1])
    for leaving in (Column.AGE, Column.ETA):
        if left(bar) < BUCKET_FLOOR and leaving in widths:
            del widths[leaving]
    widths[Column.BUCKET] = max(1, left(bar))

    # Room to spare beyond the bucket's names: extras join in rank order, each with what
    # it needs, then grow to their content; what is still left stays blank at the end.
    spare = widths[Column.BUCKET] - wanted
    if spare > 0:
        widths[Column.BUCKET] -= spare
        for spec in sorted((s for s in SPECS if s.extra), key=lambda s: s.rank):
            if not content.get(spec.column):
                continue  # a column with nothing to show takes no room
            # With its whole content if it fits (a name is worth more whole than three
            # columns cut), else with the least it needs.
            fixed = spec.width is not None
            for cells in (spec.width,) if fixed else (_content(spec, content), spec.min):
                assert cells is not None
                if cells + GAP <= spare:
                    widths[spec.column] = cells
                    spare -= cells + GAP
                    break
        for spec in SPECS:
            if spec.extra and spec.width is None and spec.column in widths:
                spare = _grow(widths, spec.column, _content(spec, content), spare)

    planned: list[PlannedColumn] = []
    x = LEFT
    for spec in SPECS:
        if spec.column not in widths:
            continue
        cells = widths[spec.column] + (_bar_cells(bar) if spec.column is Column.PROGRESS else 0)
        header = HEADERS[spec.column] if len(HEADERS[spec.column]) <= cells else "%"
        planned.append(PlannedColumn(spec.column, cells, x, header, spec.right, spec.sort))
        x += cells + GAP
    return ColumnPlan(tuple(planned), bar, width)


def _bar_cells(bar: int) -> int:
    return bar + 1 if bar else 0


def _grow(widths: dict[Column, int], column: Column, limit: int, spare: int) -> int:
    """Widen ``column`` towards ``limit`` out of ``spare``; returns what is left."""
    grow = max(0, min(spare, limit - widths[column]))
    widths[column] += grow
    return spare - grow

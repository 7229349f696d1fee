"""The column plan as a table of widths: what fits, what is cut, what joins on wide screens."""

from __future__ import annotations

import pytest

from amimon.render import Column as C
from amimon.tui.columns import AMI_WIDTH, plan_columns

# Today's demo: buckets up to 17 characters, keys of 25, reasons up to 120.
DEMO = {C.BUCKET: 17, C.STARTED: 16, C.KEY: 25, C.REASON: 120}
BASE = [C.AMI, C.BUCKET, C.STATE, C.PROGRESS, C.ETA, C.AGE]


@pytest.mark.parametrize(
    ("width", "regions", "columns", "bucket", "bar"),
    [
        # 80 columns (less the scrollbar): every column of today, the whole id and bucket.
        (79, 1, BASE, 17, 5),
        (79, 2, [C.REGION, *BASE], 15, 0),
        (89, 1, BASE, 17, 10),
        (99, 1, [*BASE, C.STARTED], 17, 10),
        (111, 1, [*BASE, C.STARTED], 17, 10),
        (159, 1, [*BASE, C.STARTED, C.KEY, C.REASON], 17, 10),
        (159, 2, [C.REGION, *BASE, C.STARTED, C.KEY, C.REASON], 17, 10),
        (219, 1, [*BASE, C.STARTED, C.KEY, C.REASON], 17, 10),
        # Below 80 Age, then ETA give way before the bucket gets too short.
        (64, 1, BASE, 10, 0),
        (60, 1, [C.AMI, C.BUCKET, C.STATE, C.PROGRESS, C.ETA], 13, 0),
        (50, 1, [C.AMI, C.BUCKET, C.STATE, C.PROGRESS], 11, 0),
    ],
)
def test_the_plan_at_each_width(
    width: int, regions: int, columns: list[C], bucket: int, bar: int
) -> None:
    plan = plan_columns(width, DEMO, regions=regions)
    assert list(plan.names) == columns
    assert plan.width_of(C.AMI) == AMI_WIDTH
    assert plan.width_of(C.BUCKET) == bucket
    assert plan.bar_width == bar
    last = plan.columns[-1]
    assert last.x + last.width <= width


@pytest.mark.parametrize("width", range(40, 260, 7))
def test_the_id_is_never_cut_and_nothing_overflows(width: int) -> None:
    for regions in (1, 2):
        for content in ({}, DEMO, {C.BUCKET: 63, C.KEY: 200, C.REASON: 400}):
            plan = plan_columns(width, content, regions=regions, profiles=regions)
            assert plan.width_of(C.AMI) == AMI_WIDTH
            last = plan.columns[-1]
            if width >= 79:
                assert last.x + last.width <= width
                assert {C.STATE, C.PROGRESS, C.ETA, C.AGE} <= set(plan.names)


def test_a_long_bucket_is_cut_last_and_uses_all_the_room_there_is() -> None:
    plan = plan_columns(120, {C.BUCKET: 63})
    assert C.STARTED not in plan.names  # the whole bucket name before an extra column
    assert plan.width_of(C.BUCKET) == 63


def test_extras_need_content_and_profiles_show_when_several() -> None:
    assert C.KEY not in plan_columns(219, {C.BUCKET: 10}).names
    assert C.REASON not in plan_columns(219, {C.BUCKET: 10, C.KEY: 20}).names
    plan = plan_columns(159, {C.PROFILE: 8, C.REGION: 9}, profiles=2, regions=2)
    assert plan.names[:3] == (C.PROFILE, C.REGION, C.AMI)
    assert plan.width_of(C.PROFILE) == 8 and plan.width_of(C.REGION) == 9


# With AMI details (DescribeImages allowed): names of up to 34 characters, sizes, speeds.
DETAILS = {**DEMO, C.NAME: 34, C.SIZE: 9, C.SPEED: 7}


@pytest.mark.parametrize(
    ("width", "extras", "name"),
    [
        (79, [], 0),  # 80 columns: today's columns first, the whole id and bucket
        (99, [C.NAME], 16),  # the name joins first: which image is it
        (111, [C.NAME, C.SPEED], 20),
        (130, [C.NAME, C.SPEED], 34),  # a name whole before one more column
        (159, [C.NAME, C.SPEED, C.SIZE, C.STARTED], 34),
        (219, [C.NAME, C.SPEED, C.SIZE, C.STARTED, C.KEY, C.REASON], 34),
    ],
)
def test_ami_details_join_by_rank_and_the_name_is_drawn_after_the_id(
    width: int, extras: list[C], name: int
) -> None:
    plan = plan_columns(width, DETAILS)
    assert [c for c in plan.names if c not in BASE] == extras
    assert plan.width_of(C.NAME) == name
    assert plan.width_of(C.AMI) == AMI_WIDTH and plan.width_of(C.BUCKET) == 17
    if name:
        assert plan.names.index(C.NAME) == plan.names.index(C.AMI) + 1


def test_no_details_no_detail_columns() -> None:
    plan = plan_columns(219, DEMO)
    assert not {C.NAME, C.SIZE, C.SPEED} & set(plan.names)

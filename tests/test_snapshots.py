"""What the monitor looks like at four sizes, from the simulator with a frozen clock."""

from __future__ import annotations

from typing import Any

import pytest

from amimon.render import Column as C
from amimon.tui.widgets.task_table import TaskTable
from tests.scenes import SCENES, SIZES, scene

BASE = [C.AMI, C.BUCKET, C.STATE, C.PROGRESS, C.ETA, C.AGE]


@pytest.mark.parametrize("size", list(SIZES.values()), ids=list(SIZES))
@pytest.mark.parametrize("name", SCENES)
def test_scene(snap_compare: Any, name: str, size: tuple[int, int]) -> None:
    with scene(name) as (app, setup):
        assert snap_compare(app, terminal_size=size, run_before=setup)


async def test_one_resize_is_enough_for_the_column_plan() -> None:
    """160x45 → 90x30 → 80x24 → 220x60 in one run: after each single resize the plan is
    made for the new width, the id is whole and nothing runs off the screen."""
    with scene("normal") as (app, setup):
        async with app.run_test(size=(160, 45)) as pilot:
            await setup(pilot)
            table = app.query_one(TaskTable)
            expected = {
                (90, 30): [C.AMI, C.BUCKET, C.STATE, C.PROGRESS, C.ETA, C.AGE],
                (80, 24): [C.AMI, C.BUCKET, C.STATE, C.PROGRESS, C.ETA, C.AGE],
                (220, 60): [
                    C.AMI,
                    C.NAME,
                    C.BUCKET,
                    C.STATE,
                    C.PROGRESS,
                    C.ETA,
                    C.SPEED,
                    C.SIZE,
                    C.AGE,
                    C.STARTED,
                ],
            }
            for size, columns in expected.items():
                await pilot.resize_terminal(*size)
                await pilot.pause()
                plan = table.plan
                assert plan is not None
                assert plan.width == table.scrollable_content_region.width
                assert table.region.right <= size[0]
                assert list(plan.names) == columns, size
                assert plan.width_of(C.AMI) == 21
                row = table.row_text(0)
                assert row[0] == "ami-09b4f65846ce3c8da"
                assert row[2 if C.NAME in plan.names else 1] == "dr-backups-eu"
                assert plan.columns[-1].x + plan.columns[-1].width <= plan.width

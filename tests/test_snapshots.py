"""What the monitor looks like, at 80x24 and 160x45, from the simulator with a frozen clock."""

from __future__ import annotations

from typing import Any

import pytest

from tests.scenes import SCENES, scene


@pytest.mark.parametrize("size", [(80, 24), (160, 45)], ids=["80x24", "160x45"])
@pytest.mark.parametrize("name", SCENES)
def test_scene(snap_compare: Any, name: str, size: tuple[int, int]) -> None:
    with scene(name) as (app, setup):
        assert snap_compare(app, terminal_size=size, run_before=setup)

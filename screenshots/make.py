"""Regenerate screenshots/*.svg from the simulator with a frozen clock.

python screenshots/make.py
"""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from tests.scenes import SCENES, scene  # noqa: E402

SIZES = {"wide": (160, 45), "narrow": (80, 24), "huge": (220, 60)}


async def shoot(name: str, label: str, size: tuple[int, int]) -> Path:
    with scene(name) as (app, setup):
        async with app.run_test(size=size) as pilot:
            await setup(pilot)
            path = HERE / f"{name}-{label}.svg"
            app.save_screenshot(filename=path.name, path=str(HERE))
            return path


def main() -> None:
    # The same scenes as the snapshot tests, with the caller's terminal settings kept out.
    for variable in ("COLUMNS", "LINES", "NO_COLOR", "FORCE_COLOR"):
        os.environ.pop(variable, None)
    for name in SCENES:
        for label, size in SIZES.items():
            if label == "huge" and name != "normal":
                continue
            print(asyncio.run(shoot(name, label, size)).relative_to(HERE.parent))


if __name__ == "__main__":
    main()

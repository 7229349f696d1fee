"""The Rich helpers: bars, durations, and API text that is never markup."""

from __future__ import annotations

from datetime import timedelta

import pytest
from rich.console import Console

from amimon.render import bar, duration, plain, progress_text, rate, state_text


@pytest.mark.parametrize(
    ("progress", "expected"),
    [
        (0, "          "),
        (50, "█████     "),
        (100, "██████████"),
        (47, "████▊     "),
        (None, "··········"),
    ],
)
def test_bar(progress: int | None, expected: str) -> None:
    assert bar(progress, 10) == expected


@pytest.mark.parametrize(
    ("seconds", "expected"),
    [(5, "5s"), (90, "1m"), (3599, "59m"), (3900, "1h05m"), (90000, "1d01h"), (-5, "0s")],
)
def test_duration(seconds: int, expected: str) -> None:
    assert duration(timedelta(seconds=seconds)) == expected


def test_rate_wording() -> None:
    assert (rate(None), rate(0.125), rate(2.5), rate(12.0)) == (
        "-",
        "0.12%/min",
        "2.5%/min",
        "12%/min",
    )


def test_api_text_is_printed_literally() -> None:
    console = Console(record=True, width=80, color_system=None)
    console.print(plain("[bold]x[/] [link=http://evil]y[/link]"))
    assert "[bold]x[/] [link=http://evil]y[/link]" in console.export_text()


def test_progress_and_state_cells() -> None:
    assert progress_text(47, "InProgress").plain.endswith(" 47%")
    assert state_text("Weird").plain == "Weird"
    assert state_text("Completed", vanished=True).plain == "Completed (gone)"

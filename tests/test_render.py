"""The Rich helpers: bars, durations, and API text that is never markup."""

from __future__ import annotations

from datetime import timedelta

import pytest
from rich.console import Console

from amimon.durations import parse_duration
from amimon.render import bar, duration, progress_text, rate, state_text, text


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
    console.print(text("[bold]x[/] [link=http://evil]y[/link]"))
    assert "[bold]x[/] [link=http://evil]y[/link]" in console.export_text()


def test_progress_and_state_cells() -> None:
    assert progress_text(47, "InProgress").plain.endswith(" 47%")
    assert state_text("Weird").plain == "Weird"
    assert state_text("Completed", vanished=True).plain == "gone"
    assert state_text(None).plain == "Unknown"


@pytest.mark.parametrize("seconds", [0, 5, 59, 60, 90, 3599, 3600, 3900, 86399, 90000, 10**6])
def test_every_duration_amimon_prints_reads_back(seconds: int) -> None:
    printed = duration(timedelta(seconds=seconds))
    assert parse_duration(printed, allow_zero=True) == pytest.approx(
        seconds, abs=60 if seconds >= 60 else 0, rel=0.05
    )


@pytest.mark.parametrize(
    ("text_in", "seconds"),
    [
        ("90", 90),
        ("90s", 90),
        ("45m", 2700),
        ("1h30m", 5400),
        ("1h05m", 3900),
        ("3d04h", 273600),
        ("1.5h", 5400),
        ("2D", 172800),
    ],
)
def test_one_duration_grammar(text_in: str, seconds: float) -> None:
    assert parse_duration(text_in) == seconds


@pytest.mark.parametrize("bad", ["", "soon", "1x", "h", "-5m", "inf", "nan", "0"])
def test_bad_durations_say_so(bad: str) -> None:
    with pytest.raises(ValueError):
        parse_duration(bad)

"""Pure pieces of the monitor: when clock texts change, where a URI breaks, what the header
keeps at 80 columns."""

from __future__ import annotations

from datetime import timedelta

import pytest

from amimon.durations import format_duration
from amimon.tui.clock import LAZY, since_changes, until_changes
from amimon.tui.widgets.detail import break_path
from amimon.tui.widgets.header import HeaderInfo, header_text
from tests.factories import T0

S = timedelta(seconds=1)


@pytest.mark.parametrize("elapsed", [0, 1, 59.5, 60, 61, 3599, 3600, 86399, 86400, 90000])
def test_since_changes_is_the_next_moment_the_duration_reads_differently(elapsed: float) -> None:
    start = T0
    now = T0 + elapsed * S
    at = since_changes(start, now, lazy=False)
    assert at > now
    shown = format_duration(now - start)
    assert format_duration(at - start) != shown
    assert format_duration(at - start - 0.01 * S) == shown


@pytest.mark.parametrize("left", [1.5, 30.2, 59.99, 60, 65.3, 3601, 86400.5, 90000])
def test_until_changes_is_the_next_moment_a_countdown_reads_differently(left: float) -> None:
    now = T0
    end = T0 + left * S
    at = until_changes(end, now, lazy=False)
    assert at is not None and at > now
    shown = format_duration(end - now)
    assert format_duration(end - at) != shown
    assert format_duration(end - at + 0.02 * S) == shown


def test_minutes_may_be_late_by_a_little_so_rows_repaint_together() -> None:
    assert since_changes(T0, T0 + 90 * S) == T0 + 120 * S + LAZY
    assert since_changes(T0, T0 + 30 * S) == T0 + 31 * S  # seconds are never late
    assert until_changes(T0, T0) is None
    assert until_changes(T0 + 0.5 * S, T0) is None  # reads 0s to the end


@pytest.mark.parametrize("width", [10, 20, 30, 60])
def test_an_s3_uri_breaks_after_a_slash_never_inside_a_name(width: int) -> None:
    uri = "s3://dr-backups-eu/images/2026/ami-0a8db29ee9a2f5b18.bin"
    lines = break_path(uri, width)
    assert "".join(lines) == uri
    assert all(len(line) <= width for line in lines)
    names = set(uri.replace("s3://", "").split("/"))
    for line in lines[:-1]:
        if len(line) < width:  # only a name longer than a line is cut inside
            assert line.endswith("/")
    if width >= 30:
        assert all(
            any(part == name for name in names) or part in ("s3:", "")
            for line in lines
            for part in line.split("/")
        )


def test_the_header_keeps_the_badge_and_the_poll_state_at_80_columns() -> None:
    info = HeaderInfo(
        targets="us-east-1, eu-west-1, ap-southeast-2",
        demo=True,
        loaded=True,
        tally=(("Completed", 9_500), ("Failed", 20), ("InProgress", 480)),
        age="5s ago",
        stale=True,
        paused=True,
    )
    text = header_text(info, 78).plain
    assert len(text) <= 78
    assert text.startswith("amimon · DEMO · ")
    assert text.endswith("STALE · PAUSED")
    assert "480 running" in text or "480 run" in text

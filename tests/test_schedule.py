"""The poll schedule: the interval when healthy, exponential backoff with jitter when throttled."""

from __future__ import annotations

import pytest

from amimon.schedule import next_delay


def test_healthy_polls_use_the_interval() -> None:
    assert next_delay(15, 0) == 15


@pytest.mark.parametrize(("n", "low", "high"), [(1, 15, 30), (2, 30, 60), (3, 60, 120)])
def test_backoff_doubles_with_jitter(n: int, low: float, high: float) -> None:
    assert next_delay(15, n, rand=lambda: 0.0) == low
    assert next_delay(15, n, rand=lambda: 1.0) == high


def test_backoff_is_capped() -> None:
    assert next_delay(15, 50, rand=lambda: 1.0) == 300
    assert next_delay(15, 50, rand=lambda: 0.0) == 150

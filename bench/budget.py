"""Requests the real monitor spends: per hour at the default interval, and the pacing of a
long listing, counted by the simulator (``bench/simcount.py``) in its own process.

``python bench/budget.py [--quick]``. Not a test. Two measures, both with the simulator
throttling like AWS (``--throttle``: refused requests are counted and amimon retries them):

1. Requests per hour: ``amimon`` in a pty at 160x45, at the default interval (15 s),
   1,000 tasks with 10 running. The first load is counted apart; then a window of whole
   intervals, extrapolated to an hour, where one poll of the 240 is the hourly full listing
   (its extra pages are the first load's, less one scoped poll).
2. Pacing of a full 10,000-task listing: the arithmetic from ``amimon.aws.paging`` (the
   pacer) and ``amimon.sim.throttle`` (AWS's bucket), then the same listing as the monitor
   makes it at start-up: requests, refusals, the fewest tokens the account's bucket held,
   and how long the listing took. The monitor is then left loaded for ``table.key_answers``.
"""

from __future__ import annotations

import argparse
import math
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import simcount  # noqa: E402
import table  # noqa: E402

from amimon.aws.paging import STORE_TASKS_BURST, STORE_TASKS_RATE  # noqa: E402
from amimon.aws.source import MAX_PAGE_SIZE  # noqa: E402
from amimon.schedule import FULL_EVERY  # noqa: E402
from amimon.sim.throttle import LIMITS  # noqa: E402

TASKS_ACTION = "DescribeStoreImageTasks"
IMAGES_ACTION = "DescribeImages"
DEFAULT_INTERVAL = 15.0  # amimon's default (no --interval, no config file)


def _sent(counts: dict[str, Any], action: str) -> int:
    """Requests that reached the simulator: served plus refused (each refusal is retried)."""
    return int(counts["requests"].get(action, 0) + counts["throttled"].get(action, 0))


def per_hour(work: Path, window: float, *, throttle: bool = True) -> dict[str, Any]:
    """Requests of a monitor at the default interval over ``window`` seconds (rounded to
    whole intervals), 1,000 tasks with 10 running, and that extrapolated to an hour."""
    polls = max(1, round(window / DEFAULT_INTERVAL))
    spec = table.scenario(work / "budget.toml", 1000, 10, running_for="3h")
    with (
        simcount.counting(spec, throttle=throttle, env=table.env()) as sim,
        table.monitor(sim.url) as term,
    ):
        table.loaded(term, 1000)
        term.pump(DEFAULT_INTERVAL / 2)  # start mid-interval: the window holds `polls` polls
        first = sim.counts()
        sim.reset()
        began = time.perf_counter()
        term.pump(polls * DEFAULT_INTERVAL)
        elapsed = time.perf_counter() - began
        got = sim.counts()
    scale = 3600 / elapsed
    full = _sent(first, TASKS_ACTION)
    tasks = _sent(got, TASKS_ACTION)
    images = _sent(got, IMAGES_ACTION)
    per_poll = tasks / polls
    polls_per_hour = 3600 / DEFAULT_INTERVAL
    out: dict[str, Any] = {
        "window_s": elapsed,
        "window_polls": polls,
        "first_load": {"tasks": full, "images": _sent(first, IMAGES_ACTION)},
        "window": {"tasks": tasks, "images": images},
        "throttled": {"first_load": first["throttled"], "window": got["throttled"]},
        "min_tokens": {"first_load": first["min_tokens"], "window": got["min_tokens"]},
        "tasks_per_poll": per_poll,
        # An hour is 240 polls at 15 s; one of them (FULL_EVERY) is a full listing.
        "tasks_per_hour": tasks * scale + (full - per_poll) * polls_per_hour / FULL_EVERY,
        "images_per_hour": images * scale,
        "naive_per_hour": full * polls_per_hour,
    }
    return out


def pacing_arithmetic(total: int = 10_000) -> dict[str, float]:
    """A full listing of ``total`` tasks as the pacer sends it, against AWS's bucket."""
    pages = math.ceil(total / MAX_PAGE_SIZE)
    account = LIMITS[TASKS_ACTION]
    burst = min(pages, int(STORE_TASKS_BURST))
    paced = pages - burst
    seconds = paced / STORE_TASKS_RATE  # the paced pages, one per 1/rate seconds
    # The account's bucket loses `burst` at once, then gains as fast as the pacer spends.
    lowest = account.burst - burst + max(0.0, account.refill - STORE_TASKS_RATE) * seconds
    return {
        "pages": pages,
        "requests": pages,
        "burst_pages": burst,
        "paced_pages": paced,
        "listing_s": seconds,
        "account_burst": account.burst,
        "account_refill": account.refill,
        "min_tokens": lowest,
    }


def full_listing(work: Path, total: int = 10_000, rounds: int = 8) -> dict[str, Any]:
    """The monitor's first listing of ``total`` tasks (5% running) against the throttling
    simulator: requests, refusals, fewest tokens left, seconds to the loaded header; then,
    on that monitor, filter and sort changes (``table.key_answers``, ``rounds`` each)."""
    spec = table.scenario(work / f"listing-{total}.toml", total, total // 20)
    with (
        simcount.counting(spec, throttle=True, env=table.env()) as sim,
        table.monitor(sim.url) as term,
    ):
        table.loaded(term, total)
        took = term.last_byte - term.started
        counts = sim.counts()
        keys = table.key_answers(term, rounds)
    return {
        "requests": _sent(counts, TASKS_ACTION),
        "throttled": counts["throttled"].get(TASKS_ACTION, 0),
        "min_tokens": counts["min_tokens"].get(TASKS_ACTION),
        "loaded_s": took,
        **keys,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="a 1-minute window")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="amimon-bench-"))
    try:
        hour = per_hour(work, 60 if args.quick else 180)
        print(f"requests per hour, 1,000 tasks, 10 running, every {DEFAULT_INTERVAL:g} s:")
        for key, value in hour.items():
            print(f"  {key:<20} {value}")
        print("a full 10,000-task listing, by the pacer's arithmetic:")
        for key, value in pacing_arithmetic().items():
            print(f"  {key:<20} {value}")
        print("the same listing by the monitor against `amimon sim --throttle`:")
        for key, value in full_listing(work).items():
            print(f"  {key:<20} {value}")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()

"""What amimon observed, kept in SQLite across restarts and past AWS's 31-day window.

For the monitor, in this order::

    store = HistoryStore.open(context.history_path, days=config.history_days, warn=...)
    state = seed(store, context.targets)          # before the first frame: rates, ETAs, windows
    ...
    state, events = reduce(before, snapshot, now) # in the poll worker, as today
    store.record(before, state, now)              # same thread; returns at once (writer thread)
    ...
    ending(tracked) -> Ending | None              # detail panel: describe(end, state, size)
    throughput(store, bucket) -> Throughput       # median GiB/min: an ETA prior for new tasks
    store.record_images([ImageInfo(...)])         # when DescribeImages says name and size
    store.close()                                 # at exit: writes what is queued

``HistoryStore.open(None)`` is a store that does nothing (history off), so callers need not
branch. Nothing here raises into the caller: problems reach ``warn`` (from the writer
thread, for writes) as one line, and where the file cannot be used history turns off.
"""

from __future__ import annotations

from amimon.history.ended import Ending, describe, ending, gib_rate
from amimon.history.files import default_path
from amimon.history.queries import (
    FINAL_STATES,
    BucketSummary,
    PastTask,
    Throughput,
    past_tasks,
    summarize,
    throughput,
)
from amimon.history.rows import ImageInfo, PollRows, poll_rows
from amimon.history.seed import seed
from amimon.history.store import DEFAULT_DAYS, HistoryStore

__all__ = [
    "DEFAULT_DAYS",
    "FINAL_STATES",
    "BucketSummary",
    "Ending",
    "HistoryStore",
    "ImageInfo",
    "PastTask",
    "PollRows",
    "Throughput",
    "default_path",
    "describe",
    "ending",
    "gib_rate",
    "past_tasks",
    "poll_rows",
    "seed",
    "summarize",
    "throughput",
]

"""What amimon observed, kept in SQLite across restarts and past AWS's 31-day window.

For the monitor, in this order::

    store = HistoryStore.open(context.history_path, days=config.history_days, warn=...)
    state = seed(store, context.targets)       # before the first frame: rates, ETAs, windows
    ...                                        # once per poll, with the state it replaced:
    store.record(before, state, now)           # ~0.5 ms at 1,000 tasks, then a writer thread
    ...
    ending(tracked) -> Ending | None           # detail panel: describe(end, state, size_gib)
    throughput(store, bucket) -> Throughput    # median GiB/min: an ETA prior for new tasks
    store.record_images([ImageInfo(...)])      # when DescribeImages tells name and size
    store.close()                              # at exit: writes what is queued

``open`` takes milliseconds (up to the busy timeout, 5 s, when another process holds the
file locked); ``seed`` about 30 ms for 1,000 tasks. Call ``record`` once per accepted
poll with the state before it and after it (for a listing reduced page by page: before
the first page, after the last), wherever the new state is accepted, so a reduction that
is thrown away is never written. ``warn`` gets one line per problem, from the writer thread
for writes: hand it to the UI thread (``App.call_from_thread``).

``HistoryStore.open(None)`` is a store that does nothing (history off), so callers need not
branch. Nothing here raises into the caller: problems reach ``warn`` (from the writer
thread, for writes) as one line, and where the file cannot be used history turns off.
"""

from __future__ import annotations

from amimon.ended import Ending, describe, ending, gib_rate
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

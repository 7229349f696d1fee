"""When to poll next: the interval, or an exponential backoff with jitter after throttling."""

from __future__ import annotations

import random
from collections.abc import Callable

from amimon.model import FULL_POLL, PollPlan, TaskState
from amimon.reducer import MonitorState

MAX_BACKOFF = 300.0


def next_delay(
    interval: float,
    throttled_polls: int,
    *,
    cap: float = MAX_BACKOFF,
    rand: Callable[[], float] = random.random,
) -> float:
    """Seconds until the next poll.

    After ``n`` throttled polls in a row: ``interval * 2**n`` capped at ``cap``, with "equal
    jitter" (half fixed, half random) so that many clients sharing the account's limit do
    not retry in step, and never less than the interval.
    """
    if throttled_polls <= 0:
        return interval
    ceiling = min(cap, interval * (2 ** min(throttled_polls, 16)))
    return float(max(interval, ceiling / 2 + rand() * ceiling / 2))


# What to ask for -------------------------------------------------------------------------

# Between full listings, list only running and failed tasks: one page instead of one per
# 200 tasks. Failed stays in scope so a task that fails seconds after starting is not missed.
CHEAP_SCOPE: frozenset[str] = frozenset({TaskState.IN_PROGRESS.value, TaskState.FAILED.value})
# A full listing at least this often (hourly at the default 15 s): it finds tasks that
# started and completed between two polls and tasks that left the 31-day window.
FULL_EVERY = 240


def plan_poll(
    state: MonitorState,
    *,
    image_ids: bool = False,
    states: tuple[str, ...] = (),
    full_every: int = FULL_EVERY,
) -> PollPlan:
    """What the next poll should ask for.

    A full listing when nothing is known yet, when a task left the cheap scope unexplained,
    every ``full_every`` polls, and always with image ids (AWS ignores filters then) or a
    state filter without InProgress. Otherwise the cheap scope, plus a look-up by id of
    every task now running: one that is no longer listed has finished, and its AMI's
    look-up says how (one request for up to 20 AMIs, instead of a full listing).
    """
    if image_ids or state.full_poll_due or state.polls_since_full + 1 >= full_every:
        return FULL_POLL
    if states and TaskState.IN_PROGRESS.value not in states:
        return FULL_POLL
    running = frozenset(
        (t.task.target, t.task.ami_id)
        for t in state.tasks.values()
        if t.task.state == TaskState.IN_PROGRESS and t.vanished_at is None
    )
    return PollPlan(CHEAP_SCOPE, running)

"""When to poll next (the interval, or backoff with jitter after throttling), and what to ask
each target for (a full listing, or only running and failed tasks)."""

from __future__ import annotations

import random
from collections.abc import Callable

from amimon.model import FULL_POLL, PollPlan, Target, TaskState
from amimon.state import MonitorState

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


# Between full listings, list only running and failed tasks: one page instead of one per
# 200 tasks. Failed stays in scope so a task that fails seconds after starting is not missed.
CHEAP_SCOPE: frozenset[str] = frozenset({TaskState.IN_PROGRESS.value, TaskState.FAILED.value})
# A full listing at least this often (hourly at the default 15 s): it finds tasks that
# started and completed between two polls and tasks that left the 31-day window.
FULL_EVERY = 240


def plan_for(state: MonitorState, target: Target, *, full_every: int = FULL_EVERY) -> PollPlan:
    """What the next poll should ask ``target`` (a resolved target) for.

    A full listing until the target has answered one, when a task of it left the cheap
    scope unexplained, and every ``full_every`` polls. Otherwise the cheap scope, plus a
    look-up by id of every task of it now running: one that is no longer listed has
    finished, and its AMI's look-up says how (one request per 20 AMIs).

    The user's bucket and state filters play no part: they choose what is shown, and
    every task is followed to its end whatever they hide.
    """
    if target not in state.answered_at or target in state.full_due:
        return FULL_POLL
    if state.polls_since_full.get(target, 0) + 1 >= full_every:
        return FULL_POLL
    running = frozenset(
        t.task.ami_id
        for t in state.tasks.values()
        if t.task.target == target
        and t.task.state == TaskState.IN_PROGRESS
        and t.vanished_at is None
        and t.task.ami_id
    )
    return PollPlan(CHEAP_SCOPE, running)


def planner(state: MonitorState, *, full: bool = False) -> Callable[[Target], PollPlan]:
    """The plan for each target of the next poll (``full`` forces full listings)."""
    if full:
        return lambda target: FULL_POLL
    return lambda target: plan_for(state, target)

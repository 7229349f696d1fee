"""Spending fewer requests without losing exactness: cheap polls of running and failed
tasks, a look-up by id of running tasks that leave that listing, a full listing hourly;
all planned per target."""

from __future__ import annotations

from datetime import timedelta

import pytest

from amimon.model import FULL_POLL, ErrorKind, PollFailure, Snapshot, TargetPoll
from amimon.reducer import MonitorState, TaskCompleted, TaskVanished, reduce
from amimon.schedule import CHEAP_SCOPE, FULL_EVERY, plan_for, planner
from amimon.sim import Scenario, TaskSpec
from tests.factories import EAST, WEST, at, snap, task
from tests.simulator import ami, clock, running, source


def scoped(*tasks: object, target: object = EAST) -> Snapshot:
    return Snapshot((TargetPoll(target, tuple(tasks), CHEAP_SCOPE),))  # type: ignore[arg-type]


def test_a_running_task_missing_from_a_cheap_poll_is_not_vanished_but_asks_for_a_full_one() -> None:
    state, _ = reduce(
        MonitorState(),
        snap(task("ami-00000001", 50), task("ami-00000002", 100, "Completed")),
        at(0),
    )
    assert EAST not in state.full_due
    state, events = reduce(state, scoped(), at(0.25))
    assert not any(isinstance(e, TaskVanished) for e in events)
    assert all(t.vanished_at is None for t in state.tasks.values())
    assert EAST in state.full_due
    assert plan_for(state, EAST) == FULL_POLL


def test_completed_tasks_are_outside_a_cheap_poll_and_stay() -> None:
    state, _ = reduce(MonitorState(), snap(task("ami-00000001", 100, "Completed")), at(0))
    state, events = reduce(state, scoped(), at(0.25))
    assert events == ()
    assert EAST not in state.full_due
    assert state.polls_since_full[EAST] == 1


@pytest.mark.parametrize(
    ("answered", "polls_since_full", "due", "expected"),
    [
        (False, 0, False, None),  # nothing known yet
        (True, 0, False, CHEAP_SCOPE),
        (True, FULL_EVERY - 1, False, None),  # periodic full listing
        (True, 0, True, None),  # a task left the cheap scope unexplained
    ],
)
def test_plan_for_a_target(
    answered: bool, polls_since_full: int, due: bool, expected: object
) -> None:
    state = MonitorState(
        answered_at={EAST: at(0)} if answered else {},
        polls_since_full={EAST: polls_since_full},
        full_due=frozenset({EAST}) if due else frozenset(),
    )
    assert plan_for(state, EAST).scope == expected


def test_the_cheap_plan_looks_up_exactly_the_running_tasks_of_that_target() -> None:
    state, _ = reduce(
        MonitorState(),
        Snapshot(
            (
                TargetPoll(EAST, (task("ami-00000001", 5), task("ami-00000002", 100, "Completed"))),
                TargetPoll(WEST, (task("ami-00000003", 7, target=WEST),)),
            )
        ),
        at(0),
    )
    assert plan_for(state, EAST).expect == {"ami-00000001"}
    assert plan_for(state, WEST).expect == {"ami-00000003"}


def test_one_failing_region_does_not_make_the_others_list_everything() -> None:
    """Issue 10 #5: planning is per target, so a failure in one region costs only it."""
    state, _ = reduce(
        MonitorState(),
        Snapshot((TargetPoll(EAST, (task("ami-00000001", 5),)),)),
        at(0),
    )
    failing = PollFailure(ErrorKind.NETWORK, "down", WEST)
    for minute in range(1, 6):
        state, _ = reduce(state, Snapshot((TargetPoll(EAST, ()),), (failing,)), at(minute))
        plan = planner(state)
        assert plan(EAST).scope == CHEAP_SCOPE
        assert plan(WEST) == FULL_POLL  # it has never answered: it must list everything


def test_a_cheap_poll_looks_up_running_tasks_that_left_the_listing() -> None:
    finishing = TaskSpec(ami(1), "archive", -timedelta(minutes=9), timedelta(minutes=10))
    older = TaskSpec(ami(2), "archive", -timedelta(days=1), timedelta(minutes=10))
    with running(Scenario((finishing, older))) as sim:
        src = source(sim)
        state, _ = reduce(MonitorState(), src.fetch(planner(MonitorState())), at(0))
        clock(sim).advance(120)  # ami 1 completes
        sim.reset_counts()
        target = next(iter(state.answered_at))
        assert plan_for(state, target).scope == CHEAP_SCOPE
        state, events = reduce(state, src.fetch(planner(state)), at(2))
        assert [type(e).__name__ for e in events] == ["TaskProgressed", "TaskCompleted"]
        assert not state.full_due
        assert sim.requests["DescribeStoreImageTasks"] == 2  # the listing, one look-up


def budget_scenario() -> Scenario:
    """1,000 tasks: 990 finished over the last 30 days, 10 running that finish over the hour."""
    done = [
        TaskSpec(ami(n), "archive", -timedelta(minutes=40 * (n + 1)), timedelta(minutes=30))
        for n in range(10, 1000)
    ]
    live = [
        TaskSpec(ami(n), "archive", -timedelta(minutes=5), timedelta(minutes=10 + 5 * n))
        for n in range(10)
    ]
    return Scenario(tuple(live + done))


def test_an_hour_of_cheap_polls_is_exact_and_costs_at_least_4_5x_fewer_requests() -> None:
    interval = 15
    with running(budget_scenario()) as naive_sim, running(budget_scenario()) as smart_sim:
        naive_src, smart_src = source(naive_sim), source(smart_sim)
        naive, smart = MonitorState(), MonitorState()
        naive_done: dict[str, object] = {}
        smart_done: dict[str, object] = {}
        for _ in range(3600 // interval):
            now = clock(naive_sim).now()
            naive, events = reduce(naive, naive_src.fetch(), now)
            naive_done.update(
                {e.task.task.ami_id: e.at for e in events if isinstance(e, TaskCompleted)}
            )
            smart, events = reduce(smart, smart_src.fetch(planner(smart)), now)
            smart_done.update(
                {e.task.task.ami_id: e.at for e in events if isinstance(e, TaskCompleted)}
            )
            for sim in (naive_sim, smart_sim):
                clock(sim).advance(interval)
        # One last full listing: the two views must be the same, task for task.
        now = clock(naive_sim).now()
        naive, _ = reduce(naive, naive_src.fetch(), now)
        smart, _ = reduce(smart, smart_src.fetch(), now)

        def project(state: MonitorState) -> dict[object, object]:
            # The two simulators listen on different ports: compare by AMI and start.
            return {
                (k.ami_id, k.start_time): (t.task.state, t.task.progress, t.vanished_at)
                for k, t in state.tasks.items()
            }

        assert project(smart) == project(naive)
        # Every completion was seen, at most one poll later than by polling everything.
        assert set(smart_done) == set(naive_done) == {ami(n) for n in range(10)}
        for name, seen in naive_done.items():
            assert smart_done[name] - seen <= timedelta(seconds=interval)  # type: ignore[operator]
        # Every request the sources sent reached the simulator (no hidden retries).
        naive_requests = naive_sim.requests["DescribeStoreImageTasks"]
        smart_requests = smart_sim.requests["DescribeStoreImageTasks"]
        assert naive_requests == naive_src.requests.sent
        assert smart_requests == smart_src.requests.sent
        # A full listing of 1,000 tasks is 5 pages; any poll that keeps running tasks fresh
        # costs at least 1, so 5x is the ceiling. amimon gets within 10% of it.
        assert naive_requests >= 4.5 * smart_requests, (naive_requests, smart_requests)

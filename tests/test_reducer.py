"""reduce(): given a state and a poll, the events and the new state; plus the estimates."""

from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from amimon.estimate import estimate
from amimon.model import Snapshot, TargetPoll
from amimon.reducer import (
    MonitorState,
    PollFailed,
    PollRecovered,
    Settings,
    TaskAppeared,
    TaskProgressed,
    reduce,
)
from amimon.view import counts
from tests.factories import EAST, WEST, at, failed_poll, snap, task


def run(*polls: Snapshot, step: float = 0.25) -> tuple[MonitorState, list[list[object]]]:
    """Reduce polls one after another, ``step`` minutes apart; return state and events."""
    state = MonitorState()
    history = []
    for i, poll in enumerate(polls):
        state, events = reduce(state, poll, at(i * step))
        history.append([type(e).__name__ for e in events])
    return state, history


CASES = [
    pytest.param(
        [snap(task(progress=10))],
        [["TaskAppeared"]],
        id="given-nothing-when-a-task-is-first-seen-then-appeared",
    ),
    pytest.param(
        [snap(task(progress=10)), snap(task(progress=12))],
        [["TaskAppeared"], ["TaskProgressed"]],
        id="given-a-running-task-when-progress-moves-then-progressed",
    ),
    pytest.param(
        [snap(task(progress=99)), snap(task(progress=100, state="Completed"))],
        [["TaskAppeared"], ["TaskProgressed", "TaskCompleted"]],
        id="given-a-running-task-when-it-completes-then-progressed-and-completed",
    ),
    pytest.param(
        [snap(task(progress=40)), snap(task(progress=40, state="Failed", reason="boom"))],
        [["TaskAppeared"], ["TaskFailed"]],
        id="given-a-running-task-when-it-fails-then-failed",
    ),
    pytest.param(
        [snap(task()), snap()],
        [["TaskAppeared"], ["TaskVanished"]],
        id="given-a-task-when-no-longer-returned-then-vanished",
    ),
    pytest.param(
        [snap(task()), failed_poll()],
        [["TaskAppeared"], ["PollFailed"]],
        id="given-data-when-a-poll-fails-then-poll-failed-and-no-vanish",
    ),
    pytest.param(
        [snap(task()), failed_poll(), failed_poll(), snap(task())],
        [["TaskAppeared"], ["PollFailed"], [], ["PollRecovered"]],
        id="given-a-failing-source-when-it-answers-again-then-recovered-once",
    ),
    pytest.param(
        [snap(task()), failed_poll("network"), failed_poll("throttled", "slow down")],
        [["TaskAppeared"], ["PollFailed"], ["PollFailed"]],
        id="given-a-failing-source-when-the-failure-changes-kind-then-reported-again",
    ),
    pytest.param(
        [snap(task(progress=10)), snap(task(progress=10, state="Paused"))],
        [["TaskAppeared"], ["TaskStateChanged"]],
        id="given-a-task-when-it-moves-to-an-unknown-state-then-state-changed",
    ),
    pytest.param(
        [snap(task("ami-00000001")), snap(task("ami-00000001"), task("ami-00000002", 0, "Failed"))],
        [["TaskAppeared"], ["TaskAppeared", "TaskFailed"]],
        id="given-a-watched-target-when-a-new-task-appears-already-failed-then-failed-too",
    ),
]


@pytest.mark.parametrize(("polls", "expected"), CASES)
def test_events(polls: list[Snapshot], expected: list[list[str]]) -> None:
    _, history = run(*polls)
    assert history == expected


def test_first_poll_marks_tasks_as_initial_and_reports_no_completions() -> None:
    state, events = reduce(MonitorState(), snap(task("ami-00000001", 100, "Completed")), at(0))
    assert [type(e) for e in events] == [TaskAppeared]
    assert isinstance(events[0], TaskAppeared) and events[0].initial
    tracked = next(iter(state.tasks.values()))
    assert tracked.completed_seen_at is None  # completed before amimon saw it


def test_completion_time_is_the_poll_that_first_saw_it() -> None:
    state, _ = run(
        snap(task(progress=90)),
        snap(task(progress=95)),
        snap(task(progress=100, state="Completed")),
    )
    (tracked,) = state.tasks.values()
    assert tracked.completed_seen_at == at(0.5)


def test_same_ami_stored_again_is_a_new_task() -> None:
    first = task("ami-00000001", 30, "Failed", started=at(0))
    second = task("ami-00000001", 0, "InProgress", started=at(60))
    state, history = run(snap(first), snap(first, second))
    assert len(state.tasks) == 2
    assert history[1] == ["TaskAppeared"]


def test_failed_poll_keeps_every_task_and_marks_data_stale() -> None:
    state, _ = run(snap(task("ami-00000001"), task("ami-00000002")), failed_poll())
    assert len(state.tasks) == 2
    assert all(t.vanished_at is None for t in state.tasks.values())
    assert state.stale_since == at(0.25)
    assert state.last_success == at(0)


def test_one_region_failing_keeps_its_tasks_while_the_other_updates() -> None:
    east, west = task("ami-00000001", target=EAST), task("ami-00000002", 5, target=WEST)
    both = snap(east, west, covered=(EAST, WEST))
    west_moves = Snapshot(
        (TargetPoll(WEST, (task("ami-00000002", 9, target=WEST),)),),
        failed_poll(target=EAST).failures,
    )
    state, history = run(both, west_moves)
    assert history[1] == ["TaskProgressed", "PollFailed"]
    assert {t.task.progress for t in state.tasks.values()} == {0, 9}
    assert all(t.vanished_at is None for t in state.tasks.values())


def test_vanished_tasks_are_dropped_after_a_while() -> None:
    s = Settings(forget_after=timedelta(minutes=30))
    state, _ = reduce(MonitorState(), snap(task()), at(0), s)
    state, _ = reduce(state, snap(), at(1), s)
    assert len(state.tasks) == 1
    state, _ = reduce(state, snap(), at(20), s)
    assert len(state.tasks) == 1
    state, _ = reduce(state, snap(), at(32), s)
    assert len(state.tasks) == 0


def test_unchanged_tasks_keep_their_identity() -> None:
    state1, _ = reduce(MonitorState(), snap(task("ami-00000001"), task("ami-00000002")), at(0))
    state2, _ = reduce(state1, snap(task("ami-00000001"), task("ami-00000002", 5)), at(1))
    key1 = task("ami-00000001").key
    key2 = task("ami-00000002").key
    assert state2.tasks[key1] is state1.tasks[key1]
    assert state2.tasks[key2] is not state1.tasks[key2]


def test_throttled_polls_are_counted_and_reset() -> None:
    state, _ = run(failed_poll("throttled"), failed_poll("throttled"))
    assert state.throttled_polls == 2
    state, _ = reduce(state, snap(), at(5))
    assert state.throttled_polls == 0


def test_sample_history_is_capped() -> None:
    s = Settings(max_samples=8, rate_window=timedelta(hours=10))
    state = MonitorState()
    for i in range(100):
        state, _ = reduce(state, snap(task(progress=i)), at(i), s)
    (tracked,) = state.tasks.values()
    assert len(tracked.samples) == 8


# Estimates ----------------------------------------------------------------------------


def progress_every(
    minutes_per_percent: float, polls: int, poll_every: float = 0.25
) -> MonitorState:
    """A task gaining 1% every ``minutes_per_percent``, polled every ``poll_every`` minutes,
    first seen at 20%, started long enough ago that 20% is consistent."""
    state = MonitorState()
    started = at(-20 * minutes_per_percent)
    for i in range(polls):
        now = at(i * poll_every)
        progress = 20 + int((i * poll_every) / minutes_per_percent)
        state, _ = reduce(state, snap(task(progress=progress, started=started)), now)
    return state


def test_rate_from_whole_percent_steps_is_close_to_the_truth() -> None:
    # 1% every 2 minutes, polled every 15 s for 12 minutes.
    state = progress_every(2.0, polls=48)
    (tracked,) = state.tasks.values()
    est = estimate(tracked, at(47 * 0.25))
    assert est.rate == pytest.approx(0.5, rel=0.15)
    remaining = est.remaining(at(47 * 0.25))
    assert remaining is not None
    # 26% done -> about 74% left at 0.5%/min, about 148 minutes.
    assert remaining.total_seconds() / 60 == pytest.approx(148, rel=0.15)
    assert not est.stalled


def test_no_eta_without_history_or_start_time() -> None:
    state, _ = reduce(MonitorState(), snap(task(progress=0)), at(0))
    (tracked,) = state.tasks.values()
    assert estimate(tracked, at(0)).eta_at is None


def test_falls_back_to_average_since_start() -> None:
    state, _ = reduce(MonitorState(), snap(task(progress=50, started=at(-100))), at(0))
    (tracked,) = state.tasks.values()
    est = estimate(tracked, at(0))
    # Whole percent rounds down: at "50%" the task is on average half a point further.
    assert est.rate == pytest.approx(50.5 / 100)
    remaining = est.remaining(at(0))
    assert remaining is not None and remaining.total_seconds() / 60 == pytest.approx(99, abs=0.5)
    assert not est.approximate  # 50 points of progress is firm ground


def test_a_task_that_stops_moving_is_flagged_stalled_and_its_rate_decays() -> None:
    state = progress_every(1.0, polls=40)  # 1%/min for 10 minutes
    (tracked,) = state.tasks.values()
    fresh = estimate(tracked, at(10))
    # Polls keep seeing it at the same percent for half an hour.
    for minute in range(11, 41):
        state, _ = reduce(state, snap(tracked.task), at(minute))
    (tracked,) = state.tasks.values()
    later = estimate(tracked, at(40))
    assert not fresh.stalled
    assert later.stalled
    assert later.rate is not None and fresh.rate is not None and later.rate < fresh.rate


def test_progress_going_backwards_restarts_the_estimate() -> None:
    state = progress_every(1.0, polls=40)
    (tracked,) = state.tasks.values()
    state, events = reduce(state, snap(task(progress=5, started=tracked.task.start_time)), at(11))
    assert any(isinstance(e, TaskProgressed) and e.new == 5 for e in events)
    (tracked,) = state.tasks.values()
    assert len(tracked.samples) == 1


def test_finished_tasks_have_no_estimate() -> None:
    state, _ = reduce(MonitorState(), snap(task(progress=100, state="Completed")), at(0))
    (tracked,) = state.tasks.values()
    assert estimate(tracked, at(0)).eta_at is None


# Properties ---------------------------------------------------------------------------

amis = st.sampled_from([f"ami-0000000{i}" for i in range(1, 6)])
states = st.sampled_from(["InProgress", "Completed", "Failed", "Weird"])
tasks_st = st.builds(
    lambda ami, p, s, start: task(ami, p, s, started=at(start)),
    amis,
    st.none() | st.integers(0, 100),
    states,
    st.integers(-600, 0),
)
snapshots = st.one_of(
    st.lists(tasks_st, max_size=8).map(lambda ts: snap(*ts)),
    st.sampled_from(["network", "throttled"]).map(lambda k: failed_poll(k, k)),
)


@settings(max_examples=150, deadline=None)
@given(st.lists(snapshots, min_size=1, max_size=8))
def test_reducing_the_same_snapshot_twice_yields_no_new_events(polls: list[Snapshot]) -> None:
    state = MonitorState()
    for i, poll in enumerate(polls):
        state, _ = reduce(state, poll, at(i))
    _, again = reduce(state, polls[-1], at(len(polls)))
    assert [e for e in again if not isinstance(e, PollFailed | PollRecovered)] == []
    assert again == ()


@settings(max_examples=150, deadline=None)
@given(st.lists(snapshots, min_size=1, max_size=8))
def test_counts_always_add_up(polls: list[Snapshot]) -> None:
    state = MonitorState()
    for i, poll in enumerate(polls):
        state, _ = reduce(state, poll, at(i))
        live = [t for t in state.tasks.values() if t.vanished_at is None]
        assert sum(counts(state.tasks.values()).values()) == len(live)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.tuples(st.floats(0.05, 30), st.integers(0, 100)), min_size=1, max_size=20),
    st.floats(0, 600),
)
def test_an_eta_is_never_negative(steps: list[tuple[float, int]], later: float) -> None:
    state = MonitorState()
    now = at(0)
    for gap, progress in steps:
        now += timedelta(minutes=gap)
        state, _ = reduce(state, snap(task(progress=progress, started=at(-30))), now)
    (tracked,) = state.tasks.values()
    check = now + timedelta(minutes=later)
    est = estimate(tracked, check)
    remaining = est.remaining(check)
    assert remaining is None or remaining >= timedelta(0)
    assert est.eta_at is None or est.eta_at >= check
    assert est.rate is None or est.rate > 0

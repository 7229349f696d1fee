"""visible(), counts and the words for the active filter."""

from __future__ import annotations

from amimon.reducer import MonitorState, reduce
from amimon.view import (
    Sort,
    SortColumn,
    TaskFilter,
    counts,
    describe_counts,
    describe_shown,
    visible,
)
from tests.factories import at, snap, task


def state_of(*tasks: object) -> MonitorState:
    state, _ = reduce(MonitorState(), snap(*tasks), at(0))  # type: ignore[arg-type]
    return state


STATE = state_of(
    task("ami-00000001", 40, "InProgress", bucket="archive", started=at(-10)),
    task("ami-00000002", 100, "Completed", bucket="archive", started=at(-30)),
    task(
        "ami-00000003", 17, "Failed", bucket="dr-bucket", reason="Disk read error", started=at(-20)
    ),
    task("ami-00000004", 90, "InProgress", bucket="dr-bucket", started=at(-5)),
)


def amis(rows: list) -> list[str]:  # type: ignore[type-arg]
    return [r.task.ami_id for r in rows]


def test_default_is_everything_newest_first() -> None:
    assert amis(visible(STATE)) == ["ami-00000004", "ami-00000001", "ami-00000003", "ami-00000002"]


def test_filter_by_bucket_and_state_combine() -> None:
    f = TaskFilter(buckets=frozenset({"dr-bucket"}), states=frozenset({"Failed"}))
    assert amis(visible(STATE, f)) == ["ami-00000003"]


def test_text_matches_ami_bucket_key_and_reason_ignoring_case() -> None:
    assert amis(visible(STATE, TaskFilter(text="DISK READ"))) == ["ami-00000003"]
    assert amis(visible(STATE, TaskFilter(text="0002.bin"))) == ["ami-00000002"]
    assert len(visible(STATE, TaskFilter(text="dr-"))) == 2


def test_sort_by_progress_ascending() -> None:
    rows = visible(STATE, sort=Sort(SortColumn.PROGRESS, descending=False))
    assert [r.task.progress for r in rows] == [17, 40, 90, 100]


def test_sort_by_state_puts_running_then_failed_first() -> None:
    rows = visible(STATE, sort=Sort(SortColumn.STATE, descending=False))
    assert [r.task.state for r in rows][:3] == ["InProgress", "InProgress", "Failed"]


def test_counts_and_their_words() -> None:
    tally = counts(STATE.tasks.values())
    assert tally == {"InProgress": 2, "Completed": 1, "Failed": 1}
    assert describe_counts(tally) == "4 tasks: 2 running · 1 done · 1 failed"


def test_unknown_states_are_counted_by_name() -> None:
    state = state_of(task("ami-00000001", 3, "Paused"))
    assert (
        describe_counts(counts(state.tasks.values()))
        == "1 task: 0 running · 0 done · 0 failed · 1 Paused"
    )


def test_filter_described_in_words() -> None:
    assert TaskFilter().describe() == "all tasks"
    f = TaskFilter(buckets=frozenset({"archive"}), states=frozenset({"Failed"}), text="disk")
    assert f.describe() == 'Failed tasks in bucket archive matching "disk"'
    assert (
        describe_shown(1, 4, f) == 'Failed tasks in bucket archive matching "disk" · 1 of 4 shown'
    )


FILTERS = [
    TaskFilter(),
    TaskFilter(states=frozenset({"InProgress"})),
    TaskFilter(states=frozenset({"Failed", "Completed"})),
    TaskFilter(buckets=frozenset({"archive"})),
    TaskFilter(buckets=frozenset({"archive"}), states=frozenset({"Completed"})),
    TaskFilter(text="  dr-  "),
    TaskFilter(text="read", states=frozenset({"Failed"})),
    TaskFilter(text="nothing matches this"),
]


def test_keep_lets_through_exactly_what_matches_says_in_the_same_order() -> None:
    """The table's filter runs one comprehension per part that is set (fast at 10,000
    tasks); it must agree with the filter's own word on each task."""
    tasks = list(STATE.tasks.values())
    for task_filter in FILTERS:
        assert task_filter.keep(tasks) == [t for t in tasks if task_filter.matches(t)]


def test_the_tables_order_shows_what_visible_shows_for_every_filter_and_sort() -> None:
    from amimon.tui.order import order

    for task_filter in FILTERS:
        for column in SortColumn:
            for descending in (True, False):
                sort = Sort(column, descending)
                want = [t.key for t in visible(STATE, task_filter, sort)]
                assert order(STATE, task_filter, sort).keys == want, (task_filter, sort)

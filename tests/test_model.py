"""StoreTask parsing (strings kept exactly), and safe text where it meets a terminal."""

from __future__ import annotations

import dataclasses
import inspect
import unicodedata
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from amimon.model import (
    StoreTask,
    Target,
    TaskKey,
    TaskState,
    _parse_progress,
    _parse_time,
    _text,
    new_task,
    normalize_state,
    parse_task,
    validate_ami_id,
)
from amimon.render import first_line, safe

TARGET = Target(None, "us-east-1")
START = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)


def test_parses_every_field_boto3_returns() -> None:
    task = parse_task(
        {
            "AmiId": "ami-0abc1234def567890",
            "TaskStartTime": START,
            "Bucket": "archive",
            "S3objectKey": "ami-0abc1234def567890.bin",
            "ProgressPercentage": 47,
            "StoreTaskState": "InProgress",
        },
        TARGET,
    )
    assert task.ami_id == "ami-0abc1234def567890"
    assert task.start_time == START
    assert task.s3_uri == "s3://archive/ami-0abc1234def567890.bin"
    assert task.progress == 47
    assert task.state == TaskState.IN_PROGRESS
    assert task.failure_reason is None  # absent, not empty
    assert task.key == (TARGET, "ami-0abc1234def567890", START)


def test_accepts_the_cli_docs_spelling_of_the_object_key() -> None:
    task = parse_task({"AmiId": "ami-1", "S3ObjectKey": "k.bin"}, TARGET)
    assert task.object_key == "k.bin"


def test_every_field_may_be_missing() -> None:
    task = parse_task({}, TARGET)
    assert (task.ami_id, task.start_time, task.progress, task.state) == (None, None, None, None)


def test_an_empty_reason_stays_an_empty_string() -> None:
    # AWS has been seen to send StoreTaskFailureReason "" on a Completed task.
    task = parse_task({"AmiId": "ami-1", "StoreTaskFailureReason": ""}, TARGET)
    assert task.failure_reason == ""


def test_unknown_state_is_kept_not_rejected() -> None:
    task = parse_task({"AmiId": "ami-1", "StoreTaskState": "Paused"}, TARGET)
    assert task.state == "Paused"
    assert not task.is_known_state


@pytest.mark.parametrize(
    ("raw", "kept", "shown"),
    [
        (150, 150, 100),
        (-3, -3, 0),
        ("42", 42, 42),
        ("x", None, None),
        (True, None, None),
        (None, None, None),
    ],
)
def test_progress_is_kept_and_clamped_only_for_display(
    raw: object, kept: int | None, shown: int | None
) -> None:
    task = parse_task({"ProgressPercentage": raw}, TARGET)
    assert (task.progress, task.percent) == (kept, shown)


def test_string_timestamps_are_read_as_utc() -> None:
    task = parse_task({"TaskStartTime": "2026-11-27T12:00:00.000Z"}, TARGET)
    assert task.start_time == START


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("plain text", "plain text"),
        ("red \x1b[31mALERT\x1b[0m", "red ␛[31mALERT␛[0m"),
        ("title \x1b]0;pwned\x07 done", "title ␛]0;pwned␇ done"),
        ("bell\x07 nul\x00 del\x7f c1\x85", "bell␇ nul␀ del␡ c1⟨U+0085⟩"),
        ("line one\nline two\tTabbed", "line one␊line two␉Tabbed"),
        ("cr\r\nlf", "cr␍␊lf"),
        ("bidi \u202eevil\u202c", "bidi ⟨U+202E⟩evil⟨U+202C⟩"),
        ("[bold]markup[/] stays literal", "[bold]markup[/] stays literal"),
        ("日本語 ✓ émoji 🚀", "日本語 ✓ émoji 🚀"),
        (None, ""),
    ],
)
def test_safe_text_shows_each_control_character_as_a_placeholder(
    raw: str | None, expected: str
) -> None:
    assert safe(raw) == expected


def test_text_after_a_c1_character_is_not_lost() -> None:
    # U+009D turns up in mojibake of curly quotes: everything after it must survive.
    mojibake = "The bucket policy says \u00e2\u0080\u009cDeny\u00e2\u0080\u009d for PutObject"
    shown = safe(mojibake)
    assert shown.endswith("Deny\u00e2⟨U+0080⟩⟨U+009D⟩ for PutObject")
    assert "\x9d" not in shown


def test_multiline_text_keeps_its_line_breaks_and_tabs() -> None:
    assert safe("one\r\ntwo\tthree\x1b", multiline=True) == "one\ntwo\tthree␛"


def test_first_line_of_a_long_reason_is_cut_with_an_ellipsis() -> None:
    assert first_line("short") == "short"
    assert first_line("one\ntwo") == "one…"
    assert first_line("x" * 300, 20) == "x" * 19 + "…"
    assert first_line("a\x1bb") == "a␛b"


@given(st.text())
def test_safe_text_is_always_printable_and_never_shorter(text: str) -> None:
    shown = safe(text)
    hidden = {"Cc", "Cf", "Zl", "Zp", "Cs"}
    assert not any(unicodedata.category(ch) in hidden for ch in shown)
    assert len(shown) >= len(text)


def test_every_string_field_is_kept_exactly() -> None:
    evil = "x\x1b[2J\x1b[H\x9d tail"
    task = parse_task(
        {
            "AmiId": evil,
            "Bucket": evil,
            "S3objectKey": evil,
            "StoreTaskState": evil,
            "StoreTaskFailureReason": evil,
        },
        TARGET,
    )
    assert {task.ami_id, task.bucket, task.object_key, task.state, task.failure_reason} == {evil}


def test_store_task_init_takes_the_fields_a_dataclass_init_would() -> None:
    # StoreTask writes its own __init__ (speed): it must take every init field, in order,
    # with its default, and set every field, the key last.
    fields = [f for f in dataclasses.fields(StoreTask) if f.init]
    params = list(inspect.signature(StoreTask.__init__).parameters.values())[1:]
    assert [(p.name, p.default) for p in params] == [
        (f.name, inspect.Parameter.empty if f.default is dataclasses.MISSING else f.default)
        for f in fields
    ]
    task = StoreTask(TARGET, "ami-1", START, "b", "k", 5, "Failed", "r")
    assert list(vars(task)) == [f.name for f in dataclasses.fields(StoreTask)]
    assert type(task.key) is TaskKey and task.key == (TARGET, "ami-1", START)
    assert dataclasses.replace(task, ami_id="ami-2").key == (TARGET, "ami-2", START)
    assert task == StoreTask(TARGET, "ami-1", START, "b", "k", 5, "Failed", "r")
    assert hash(task) == hash(StoreTask(TARGET, "ami-1", START, "b", "k", 5, "Failed", "r"))
    with pytest.raises(dataclasses.FrozenInstanceError):
        task.state = "Completed"  # type: ignore[misc]
    made = new_task(TARGET, "ami-1", START, "b", "k", 5, "Failed", "r")
    assert type(made) is StoreTask and made == task
    assert [(k, type(v), v) for k, v in vars(made).items()] == [
        (k, type(v), v) for k, v in vars(task).items()
    ]


def parse_task_as_written_first(item: dict[str, object], target: Target) -> StoreTask:
    """parse_task before its fast path: every value through its helper."""
    key = item.get("S3objectKey")
    if key is None:
        key = item.get("S3ObjectKey")
    return StoreTask(
        target=target,
        ami_id=_text(item.get("AmiId")),
        start_time=_parse_time(item.get("TaskStartTime")),
        bucket=_text(item.get("Bucket")),
        object_key=_text(key),
        progress=_parse_progress(item.get("ProgressPercentage")),
        state=_text(item.get("StoreTaskState")),
        failure_reason=_text(item.get("StoreTaskFailureReason")),
    )


class Text(str):
    pass


class Number(int):
    pass


_values = st.one_of(
    st.none(),
    st.text(max_size=5),
    st.text(max_size=5).map(Text),
    st.integers(-5, 200),
    st.integers(-5, 200).map(Number),
    st.booleans(),
    st.floats(allow_nan=False),
    st.datetimes(timezones=st.sampled_from([UTC, timezone(timedelta(hours=2))])),
    st.datetimes(),  # naive
    st.sampled_from(["2026-11-27T12:00:00.000Z", "42", " 7 ", ""]),
)


@given(
    st.dictionaries(
        st.sampled_from(
            [
                "AmiId",
                "TaskStartTime",
                "Bucket",
                "S3objectKey",
                "S3ObjectKey",
                "ProgressPercentage",
                "StoreTaskState",
                "StoreTaskFailureReason",
                "Unknown",
            ]
        ),
        _values,
    )
)
def test_parse_task_gives_what_its_helpers_give_for_any_values(item: dict[str, object]) -> None:
    ours, theirs = parse_task(item, TARGET), parse_task_as_written_first(item, TARGET)
    assert ours == theirs
    assert [(k, type(v), v) for k, v in vars(ours).items()] == [
        (k, type(v), v) for k, v in vars(theirs).items()
    ]
    if isinstance(ours.start_time, datetime):
        assert ours.start_time.utcoffset() == theirs.start_time.utcoffset()  # type: ignore[union-attr]


@pytest.mark.parametrize(
    "raw", ["inprogress", "IN_PROGRESS", "in-progress", " Completed ", "FAILED"]
)
def test_states_are_accepted_in_any_case(raw: str) -> None:
    assert normalize_state(raw) in {"InProgress", "Completed", "Failed"}


def test_unknown_state_names_the_value() -> None:
    with pytest.raises(ValueError, match="'Done'"):
        normalize_state("Done")


@pytest.mark.parametrize("good", ["ami-12345678", "ami-0abc1234def567890"])
def test_well_formed_ami_ids(good: str) -> None:
    assert validate_ami_id(good) == good


@pytest.mark.parametrize(
    "bad", ["ami-123", "ami-XYZ45678", "i-12345678", "", "ami-0abc1234def5678901"]
)
def test_malformed_ami_ids_are_rejected_naming_the_value(bad: str) -> None:
    with pytest.raises(ValueError, match="malformed AMI id"):
        validate_ami_id(bad)

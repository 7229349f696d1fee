"""StoreTask parsing and the one sanitizer every API string goes through."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from amimon.model import (
    Target,
    TaskState,
    normalize_state,
    parse_task,
    sanitize,
    validate_ami_id,
)

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
    assert task.failure_reason == ""
    assert task.key == (TARGET, "ami-0abc1234def567890", START)


def test_accepts_the_cli_docs_spelling_of_the_object_key() -> None:
    task = parse_task({"AmiId": "ami-1", "S3ObjectKey": "k.bin"}, TARGET)
    assert task.object_key == "k.bin"


def test_every_field_may_be_missing() -> None:
    task = parse_task({}, TARGET)
    assert (task.ami_id, task.start_time, task.progress, task.state) == ("", None, None, "")


def test_unknown_state_is_kept_not_rejected() -> None:
    task = parse_task({"AmiId": "ami-1", "StoreTaskState": "Paused"}, TARGET)
    assert task.state == "Paused"
    assert not task.is_known_state


@pytest.mark.parametrize(
    ("raw", "expected"),
    [(150, 100), (-3, 0), ("42", 42), ("x", None), (True, None), (None, None)],
)
def test_progress_is_clamped_or_dropped(raw: object, expected: int | None) -> None:
    assert parse_task({"ProgressPercentage": raw}, TARGET).progress == expected


def test_string_timestamps_are_read_as_utc() -> None:
    task = parse_task({"TaskStartTime": "2026-11-27T12:00:00.000Z"}, TARGET)
    assert task.start_time == START


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("plain text", "plain text"),
        ("line one\nline two\tTabbed", "line one\nline two\tTabbed"),
        ("red \x1b[31mALERT\x1b[0m", "red ALERT"),
        ("title \x1b]0;pwned\x07 done", "title  done"),
        ("link \x1b]8;;http://evil\x1b\\click\x1b]8;;\x1b\\", "link click"),
        ("bell\x07 nul\x00 del\x7f c1\x85", "bell nul del c1"),
        ("cr\r\nlf", "cr\nlf"),
        ("bidi \u202eevil\u202c", "bidi evil"),
        ("[bold]markup[/] stays literal", "[bold]markup[/] stays literal"),
        ("日本語 ✓ émoji 🚀", "日本語 ✓ émoji 🚀"),
        (None, ""),
    ],
)
def test_sanitize_removes_control_characters_and_escapes(raw: object, expected: str) -> None:
    assert sanitize(raw) == expected


@given(st.text())
def test_sanitize_never_leaves_a_control_character(text: str) -> None:
    cleaned = sanitize(text)
    assert "\x1b" not in cleaned
    assert all(ch in "\n\t" or not (ord(ch) < 32 or 0x7F <= ord(ch) <= 0x9F) for ch in cleaned)


def test_sanitizes_every_string_field() -> None:
    evil = "x\x1b[2J\x1b[H"
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
    assert {task.ami_id, task.bucket, task.object_key, task.state, task.failure_reason} == {"x"}


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

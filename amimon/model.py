"""The data amimon works on: store tasks parsed from DescribeStoreImageTasks items, made safe."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import NamedTuple


class TaskState(StrEnum):
    """The store task states AWS documents; any other value is kept as a plain string."""

    IN_PROGRESS = "InProgress"
    COMPLETED = "Completed"
    FAILED = "Failed"


KNOWN_STATES: tuple[str, ...] = tuple(s.value for s in TaskState)


def normalize_state(value: str) -> str:
    """Return the API spelling of a state typed in any case; raise ValueError if unknown."""
    wanted = value.strip().lower().replace("-", "").replace("_", "").replace(" ", "")
    for state in TaskState:
        if state.value.lower() == wanted:
            return state.value
    raise ValueError(f"unknown state {value!r}: expected one of {', '.join(KNOWN_STATES)}")


AMI_ID_RE = re.compile(r"^ami-(?:[0-9a-f]{8}|[0-9a-f]{17})$")


def validate_ami_id(value: str) -> str:
    """Return ``value`` if it is a well-formed AMI id (``ami-`` and 8 or 17 hex digits)."""
    if not AMI_ID_RE.match(value):
        raise ValueError(
            f"malformed AMI id {value!r}: expected 'ami-' followed by 8 or 17 lower-case hex digits"
        )
    return value


@dataclass(frozen=True, order=True)
class Target:
    """Where tasks come from: an AWS profile and region, optionally through another endpoint."""

    profile: str | None = None
    region: str | None = None
    endpoint_url: str | None = None

    @property
    def label(self) -> str:
        """A short human name: the region, with the profile when one is set."""
        region = self.region or "default region"
        return f"{self.profile}/{region}" if self.profile else region


# ESC-introduced sequences: CSI (ESC [ ... final), OSC/DCS/SOS/PM/APC strings up to BEL or ST,
# and two-character escapes. Removed whole so their parameters do not leak in as text.
_ESCAPE_RE = re.compile(
    r"""
    \x1b\[[0-?]*[ -/]*[@-~]?            # CSI
    | \x1b[\]PX^_].*?(?:\x07|\x1b\\|$)  # OSC, DCS, SOS, PM, APC
    | \x9b[0-?]*[ -/]*[@-~]?            # 8-bit CSI
    | [\x9d\x90\x98\x9e\x9f].*?(?:\x07|\x9c|$)  # 8-bit string introducers
    | \x1b[ -/]*[0-~]?                  # other escapes
    """,
    re.VERBOSE | re.DOTALL,
)
# C0 except tab and newline, DEL, C1, and the Unicode bidi overrides that can reorder
# what a person reads ("Trojan Source").
_CONTROL_RE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def sanitize(text: object) -> str:
    """Make API text safe to show: remove escape sequences and control characters.

    Newlines and tabs stay (failure reasons can be multi-line). The result is still to be
    shown as plain text, never parsed as markup.
    """
    if text is None:
        return ""
    value = text if isinstance(text, str) else str(text)
    if value.isprintable():
        return value
    value = value.replace("\r\n", "\n")
    return _CONTROL_RE.sub("", _ESCAPE_RE.sub("", value))


class TaskKey(NamedTuple):
    """A task's identity: the same AMI stored again is a new task."""

    target: Target
    ami_id: str
    start_time: datetime | None


@dataclass(frozen=True)
class StoreTask:
    """One store task as the API last reported it. Every string is sanitized."""

    target: Target
    ami_id: str
    start_time: datetime | None = None
    bucket: str = ""
    object_key: str = ""
    progress: int | None = None
    state: str = ""
    failure_reason: str = ""
    key: TaskKey = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "key", TaskKey(self.target, self.ami_id, self.start_time))

    @property
    def s3_uri(self) -> str:
        """``s3://bucket/key`` (or as much of it as is known)."""
        if not self.bucket:
            return ""
        return f"s3://{self.bucket}/{self.object_key}"

    @property
    def is_known_state(self) -> bool:
        return self.state in KNOWN_STATES


def iso_ms(moment: datetime) -> str:
    """``2022-01-01T01:01:01.001Z``: how the EC2 API and the AWS CLI write timestamps."""
    utc = moment.astimezone(UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"


def _parse_time(value: object) -> datetime | None:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, str) and value:
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    return None


def _parse_progress(value: object) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return max(0, min(100, value))
    if isinstance(value, str):
        try:
            return max(0, min(100, int(value.strip())))
        except ValueError:
            return None
    return None


def parse_task(item: Mapping[str, object], target: Target) -> StoreTask:
    """Build a StoreTask from one ``StoreImageTaskResults`` item; any field may be missing.

    Takes ``S3objectKey`` (what boto3 returns) or ``S3ObjectKey`` (the CLI docs' spelling).
    Progress is clamped to 0-100; an unknown state is kept as text.
    """
    key = item.get("S3objectKey")
    if key is None:
        key = item.get("S3ObjectKey")
    return StoreTask(
        target=target,
        ami_id=sanitize(item.get("AmiId")),
        start_time=_parse_time(item.get("TaskStartTime")),
        bucket=sanitize(item.get("Bucket")),
        object_key=sanitize(key),
        progress=_parse_progress(item.get("ProgressPercentage")),
        state=sanitize(item.get("StoreTaskState")),
        failure_reason=sanitize(item.get("StoreTaskFailureReason")),
    )


@dataclass(frozen=True)
class PollFailure:
    """Why a poll of one target (or of all, when target is None) failed."""

    kind: str
    message: str
    target: Target | None = None
    request_id: str | None = None
    code: str | None = None


@dataclass(frozen=True)
class Snapshot:
    """What one poll saw.

    ``covered`` are the targets that answered: a known task of a covered target that is
    missing from ``tasks`` has vanished. Tasks of targets in ``failures`` are kept as they were.
    ``scope`` is None for a full listing; otherwise the poll listed only tasks in these
    states and says nothing about others, except the (target, AMI) pairs in ``checked``,
    which were looked up by id: for those AMIs the snapshot is complete.
    """

    tasks: tuple[StoreTask, ...]
    covered: frozenset[Target]
    failures: tuple[PollFailure, ...] = ()
    scope: frozenset[str] | None = None
    checked: frozenset[tuple[Target, str]] = frozenset()


@dataclass(frozen=True)
class PollPlan:
    """What one poll asks for: a full listing (``scope`` None), or only tasks in ``scope``
    plus a look-up by id of the ``expect``-ed AMIs the scoped listing no longer returns."""

    scope: frozenset[str] | None = None
    expect: frozenset[tuple[Target, str]] = frozenset()


FULL_POLL = PollPlan()

"""The data amimon works on: store tasks exactly as the API gave them, targets, poll results."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import field
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import NamedTuple

from amimon.records import record


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


class Target(NamedTuple):
    """Where tasks come from: an AWS profile and region, optionally through another endpoint.

    The region is resolved before any poll (flags, AWS_REGION, the profile's config), so it
    is None only for a target whose region only botocore could work out. A named tuple,
    not a dataclass: every task key holds one, and a poll hashes thousands of them (a
    dataclass hashes in Python, a tuple in C).
    """

    profile: str | None = None
    region: str | None = None
    endpoint_url: str | None = None

    @property
    def label(self) -> str:
        """A short human name: the region, with the profile when one is set."""
        region = self.region or "(region from AWS config)"
        return f"{self.profile}/{region}" if self.profile else region


class ErrorKind(StrEnum):
    """What went wrong with a poll, in the terms a person acts on."""

    THROTTLED = "throttled"
    CREDENTIALS = "credentials"
    PERMISSION = "permission"
    NETWORK = "network"
    SERVER = "server error"
    BAD_REQUEST = "bad request"
    BAD_RESPONSE = "bad response"
    CONFIG = "config"
    UNKNOWN = "unknown"

    @property
    def transient(self) -> bool:
        """True when waiting and trying again can fix it."""
        return self in _TRANSIENT


_TRANSIENT = frozenset(
    {
        ErrorKind.THROTTLED,
        ErrorKind.NETWORK,
        ErrorKind.SERVER,
        ErrorKind.BAD_RESPONSE,
        ErrorKind.UNKNOWN,
    }
)


class TaskKey(NamedTuple):
    """A task's identity: the same AMI stored again is a new task."""

    target: Target
    ami_id: str | None
    start_time: datetime | None


_set_attribute = object.__setattr__
_new_object = object.__new__
_new_tuple = tuple.__new__


@record(init=False)
class StoreTask:
    """One store task as the API last reported it.

    Strings are exactly as received (None when the field was absent, ``""`` when it was an
    empty string): they are made safe where they meet a terminal (``amimon.render``), and
    JSON and CSV carry them unchanged.
    """

    target: Target
    ami_id: str | None
    start_time: datetime | None = None
    bucket: str | None = None
    object_key: str | None = None
    progress: int | None = None
    state: str | None = None
    failure_reason: str | None = None
    key: TaskKey = field(init=False, repr=False, compare=False)

    def __init__(
        self,
        target: Target,
        ami_id: str | None,
        start_time: datetime | None = None,
        bucket: str | None = None,
        object_key: str | None = None,
        progress: int | None = None,
        state: str | None = None,
        failure_reason: str | None = None,
    ) -> None:
        # What the generated __init__ does (every field, then the key), in one step: a frozen
        # dataclass sets each field through object.__setattr__, and at 2-3 us a task that
        # was half the CPU of turning a page into tasks. A test keeps the two alike.
        _fill(self, target, ami_id, start_time, bucket, object_key, progress, state, failure_reason)

    @property
    def s3_uri(self) -> str:
        """``s3://bucket/key`` (or as much of it as is known)."""
        if not self.bucket:
            return ""
        return f"s3://{self.bucket}/{self.object_key or ''}"

    @property
    def is_known_state(self) -> bool:
        return self.state in KNOWN_STATES

    @property
    def percent(self) -> int | None:
        """Progress clamped to 0-100 for display and estimates (the raw value is kept)."""
        return None if self.progress is None else max(0, min(100, self.progress))


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
        return value
    if isinstance(value, str):
        try:
            return int(value.strip())
        except ValueError:
            return None
    return None


def _text(value: object) -> str | None:
    if value is None or isinstance(value, str):
        return value
    return str(value)


def parse_task(item: Mapping[str, object], target: Target) -> StoreTask:
    """Build a StoreTask from one ``StoreImageTaskResults`` item; any field may be missing.

    Takes ``S3objectKey`` (what boto3 returns) or ``S3ObjectKey`` (the CLI docs' spelling).
    Strings are kept exactly; an unknown state is kept as text.
    """
    get = item.get
    key = get("S3objectKey")
    if key is None:
        key = get("S3ObjectKey")
    return make_task(
        target,
        get("AmiId"),
        get("TaskStartTime"),
        get("Bucket"),
        key,
        get("ProgressPercentage"),
        get("StoreTaskState"),
        get("StoreTaskFailureReason"),
    )


def make_task(
    target: Target,
    ami_id: object,
    start_time: object,
    bucket: object,
    object_key: object,
    progress: object,
    state: object,
    failure_reason: object,
) -> StoreTask:
    """A StoreTask from an item's values (None where absent), as ``parse_task`` reads them.

    Values as botocore types them (str, int, an aware datetime) are taken as they are,
    without a call each: this runs for every task of every page.
    """
    if start_time is not None and (type(start_time) is not datetime or start_time.tzinfo is None):
        start_time = _parse_time(start_time)
    if progress is not None and type(progress) is not int:
        progress = _parse_progress(progress)
    if not (
        (ami_id is None or type(ami_id) is str)
        and (bucket is None or type(bucket) is str)
        and (object_key is None or type(object_key) is str)
        and (state is None or type(state) is str)
        and (failure_reason is None or type(failure_reason) is str)
    ):
        ami_id, bucket, object_key = _text(ami_id), _text(bucket), _text(object_key)
        state, failure_reason = _text(state), _text(failure_reason)
    return new_task(target, ami_id, start_time, bucket, object_key, progress, state, failure_reason)


def new_task(
    target: Target,
    ami_id: str | None,
    start_time: datetime | None,
    bucket: str | None,
    object_key: str | None,
    progress: int | None,
    state: str | None,
    failure_reason: str | None,
) -> StoreTask:
    """``StoreTask(...)`` without the call to ``__init__`` (a quarter of the cost, once per
    task of every page): the same instance, as a test checks."""
    task: StoreTask = _new_object(StoreTask)
    _fill(task, target, ami_id, start_time, bucket, object_key, progress, state, failure_reason)
    return task


def _fill(
    task: StoreTask,
    target: Target,
    ami_id: str | None,
    start_time: datetime | None,
    bucket: str | None,
    object_key: str | None,
    progress: int | None,
    state: str | None,
    failure_reason: str | None,
) -> None:
    """Every field of a new ``StoreTask`` and its key, in one step."""
    _set_attribute(
        task,
        "__dict__",
        {
            "target": target,
            "ami_id": ami_id,
            "start_time": start_time,
            "bucket": bucket,
            "object_key": object_key,
            "progress": progress,
            "state": state,
            "failure_reason": failure_reason,
            "key": _new_tuple(TaskKey, (target, ami_id, start_time)),
        },
    )


# What amimon learns over time ---------------------------------------------------------


@record
class Settings:
    """Tuning for the estimates and for how long things are remembered."""

    # Whole-percent steps seen every 15 s need minutes of history to give a steady rate.
    rate_window: timedelta = timedelta(minutes=10)
    # An estimate from less than this much history is noise, not a rate.
    min_span: timedelta = timedelta(seconds=60)
    max_samples: int = 32
    # A task is stalled when it has not moved for this long and for 3x its usual step time.
    stall_after: timedelta = timedelta(minutes=15)
    # A vanished task is shown for this long, then dropped.
    forget_after: timedelta = timedelta(hours=1)


DEFAULT_SETTINGS = Settings()


@record
class Sample:
    """Progress seen at a poll. ``edge`` means the value had just changed, so ``at`` is
    within one poll of when the task really reached it; only edges anchor a rate."""

    at: datetime
    progress: int
    edge: bool


@record
class TrackedTask:
    """A task as amimon knows it: the last report plus what amimon saw over time."""

    task: StoreTask
    first_seen: datetime
    last_change: datetime
    samples: tuple[Sample, ...] = ()
    # The API has no completion time: this is the poll at which Completed was first seen,
    # None when the task was already Completed when amimon first saw it.
    completed_seen_at: datetime | None = None
    # The last poll that still saw the previous state, when a state change was observed:
    # with ``last_change`` it bounds when the change really happened.
    before_change: datetime | None = None
    vanished_at: datetime | None = None
    # The poll at which the task was first seen stalled (reported once), None while moving.
    stalled_at: datetime | None = None

    @property
    def key(self) -> TaskKey:
        return self.task.key


@record
class ImageInfo:
    """What DescribeImages says of an AMI, strings as received. ``found`` is False when
    the AMI no longer exists (usually deregistered after it was archived: the point of
    storing it); then every other field is None."""

    target: Target
    ami_id: str
    found: bool = True
    name: str | None = None
    description: str | None = None
    architecture: str | None = None
    owner_id: str | None = None
    # Sum of the EBS volume sizes of its block device mappings: GiB of snapshot data,
    # not the size of the (compressed) object in S3.
    size_gib: int | None = None


def _volume_size(mapping: object) -> int | None:
    if not isinstance(mapping, Mapping):
        return None
    ebs = mapping.get("Ebs")
    if not isinstance(ebs, Mapping):
        return None
    size = ebs.get("VolumeSize")
    return size if isinstance(size, int) and not isinstance(size, bool) else None


def parse_image(item: Mapping[str, object], target: Target) -> ImageInfo:
    """Build an ImageInfo from one DescribeImages ``Images`` item; any field may be missing."""
    mappings = item.get("BlockDeviceMappings")
    sizes = [_volume_size(m) for m in mappings] if isinstance(mappings, list) else []
    known = [s for s in sizes if s is not None]
    return ImageInfo(
        target=target,
        ami_id=_text(item.get("ImageId")) or "",
        name=_text(item.get("Name")),
        description=_text(item.get("Description")),
        architecture=_text(item.get("Architecture")),
        owner_id=_text(item.get("OwnerId")),
        size_gib=sum(known) if known else None,
    )


@record
class ImageLookup:
    """What one round of DescribeImages look-ups found: an ImageInfo per AMI asked for
    (``found`` False for AMIs that no longer exist), a failure per target not answered."""

    images: tuple[ImageInfo, ...] = ()
    failures: tuple[PollFailure, ...] = ()


@record
class PollFailure:
    """Why a poll of one target (or of all, when target is None) failed."""

    kind: ErrorKind
    message: str
    target: Target | None = None
    request_id: str | None = None
    code: str | None = None


@record
class TargetPoll:
    """What one target answered in one poll.

    ``scope`` is None for a full listing: a known task of this target that is missing has
    vanished. Otherwise only tasks in the ``scope`` states were listed, plus every task of
    the AMIs in ``checked`` (looked up by id): for those AMIs the answer is complete too.
    ``partial`` marks the pages of a listing still running (rows appear page by page): its
    tasks are news, its absences mean nothing yet.
    """

    target: Target
    tasks: tuple[StoreTask, ...]
    scope: frozenset[str] | None = None
    checked: frozenset[str] = frozenset()
    partial: bool = False

    def complete_for(self, task: StoreTask) -> bool:
        """Whether this answer would have included ``task`` if it still existed as it was."""
        return not self.partial and (self.scope is None or task.ami_id in self.checked)


@record
class Snapshot:
    """What one poll saw: an answer per target that answered, a failure per one that did not."""

    polls: tuple[TargetPoll, ...] = ()
    failures: tuple[PollFailure, ...] = ()

    @property
    def tasks(self) -> tuple[StoreTask, ...]:
        return tuple(t for p in self.polls for t in p.tasks)

    @property
    def covered(self) -> frozenset[Target]:
        """The targets that answered completely."""
        return frozenset(p.target for p in self.polls if not p.partial)

    @property
    def partial(self) -> bool:
        return any(p.partial for p in self.polls)


@record
class PollPlan:
    """What one poll asks a target for: a full listing (``scope`` None), or only tasks in
    ``scope`` plus a look-up by id of the ``expect``-ed AMIs the scoped listing misses."""

    scope: frozenset[str] | None = None
    expect: frozenset[str] = frozenset()


FULL_POLL = PollPlan()

"""Scenarios: store tasks with a start, a duration and maybe a failure, moved by a clock.

A scenario file is TOML with one ``[[task]]`` table per task::

    [[task]]
    ami_id = "ami-0123456789abcdef0"
    bucket = "archive"
    start = "-2h"        # offset from simulator start: "90s", "-45m", "2h", "-3d" or seconds
    duration = "45m"
    fail_at = 40         # optional: fails on reaching this percent
    reason = "..."       # optional failure reason
    region = "us-east-1" # optional, default us-east-1
"""

from __future__ import annotations

import hashlib
import tomllib
from datetime import timedelta
from pathlib import Path

from amimon.model import validate_ami_id
from amimon.sim.spec import (
    DEFAULT_REGION,
    WINDOW,
    ImageSpec,
    Scenario,
    TaskSpec,
    TaskStatus,
    parse_offset,
    status_at,
)

__all__ = [
    "DEFAULT_REGION",
    "WINDOW",
    "ImageSpec",
    "Scenario",
    "ScenarioError",
    "TaskSpec",
    "TaskStatus",
    "default_scenario",
    "load_scenario",
    "parse_offset",
    "status_at",
]


class ScenarioError(Exception):
    """A bad scenario file: names the file and the problem."""


_KEYS = {"ami_id", "bucket", "start", "duration", "fail_at", "reason", "region", "object_key"}


def _spec(raw: object, index: int) -> TaskSpec:
    if not isinstance(raw, dict):
        raise ValueError("must be a table")
    unknown = set(raw) - _KEYS
    if unknown:
        raise ValueError(f"unknown key {sorted(unknown)[0]!r} (known: {', '.join(sorted(_KEYS))})")
    for required in ("ami_id", "bucket", "start", "duration"):
        if required not in raw:
            raise ValueError(f"missing key {required!r}")
    fail_at = raw.get("fail_at")
    if fail_at is not None and (
        isinstance(fail_at, bool) or not isinstance(fail_at, int) or not 0 <= fail_at <= 99
    ):
        raise ValueError(f"key 'fail_at' must be a whole percent 0-99, got {fail_at!r}")
    for name in ("bucket", "reason", "region", "object_key", "ami_id"):
        if name in raw and not isinstance(raw[name], str):
            raise ValueError(f"key {name!r} must be a string")
    duration = parse_offset(raw["duration"])
    if duration < timedelta(0):
        raise ValueError("key 'duration' must not be negative")
    return TaskSpec(
        ami_id=validate_ami_id(raw["ami_id"]),
        bucket=raw["bucket"],
        start=parse_offset(raw["start"]),
        duration=duration,
        fail_at=fail_at,
        reason=raw.get("reason", "") or ("Store task failed" if fail_at is not None else ""),
        region=raw.get("region", DEFAULT_REGION),
        object_key=raw.get("object_key", ""),
    )


def load_scenario(path: str | Path) -> Scenario:
    """Read a scenario file; any problem is a ScenarioError naming the file and the task."""
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ScenarioError(f"{path}: scenario file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ScenarioError(f"{path}: cannot read scenario file: {exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError(f"{path}: invalid TOML: {exc}") from None
    extra = set(data) - {"task"}
    if extra:
        raise ScenarioError(f"{path}: unknown top-level key {sorted(extra)[0]!r}; use [[task]]")
    raw_tasks = data.get("task", [])
    if not isinstance(raw_tasks, list) or not raw_tasks:
        raise ScenarioError(f"{path}: no [[task]] tables")
    specs = []
    for index, raw in enumerate(raw_tasks, start=1):
        try:
            specs.append(_spec(raw, index))
        except ValueError as exc:
            raise ScenarioError(f"{path}: task {index}: {exc}") from None
    return Scenario(tuple(specs))


# The built-in demo -----------------------------------------------------------------------


def _ami(n: int) -> str:
    return "ami-0" + hashlib.sha256(f"amimon-demo-{n}".encode()).hexdigest()[:16]


_LONG_REASON = (
    "The snapshot data could not be copied to the bucket.\n"
    "Amazon S3 returned AccessDenied for PutObject on s3://dr-backups-eu/.\n"
    "Check that the bucket policy allows the EC2 store service principal and that the\n"
    "bucket is in the same Region as the AMI, then store the AMI again."
)
_MARKUP_REASON = (
    "[bold red]KMS key[/] [link=https://example.com/kms]arn:aws:kms:...[/link] is disabled [/]"
)
_UNICODE_REASON = "Échec : la clé KMS est désactivée — KMS キーが無効です ✗"


def default_scenario() -> Scenario:
    """The demo: 31 tasks over three buckets that visibly move in the first minutes.

    Some finished days ago; one is older than 31 days (never returned); several are in
    progress, two complete and one fails within the first minute; one AMI failed and was
    stored again; failure reasons include a long multi-line one, non-ASCII text and text
    that looks like Rich markup.
    """
    m, h, d = timedelta(minutes=1), timedelta(hours=1), timedelta(days=1)
    s = timedelta(seconds=1)
    archive, dr, mig = "ami-archive-prod", "dr-backups-eu", "migration-staging"
    specs = [
        # Running now; two finish and one fails within the first minute.
        TaskSpec(_ami(1), archive, -(29 * m + 35 * s), 30 * m),
        TaskSpec(_ami(2), dr, -(19 * m + 10 * s), 20 * m),
        TaskSpec(_ami(3), mig, -(10 * m + 30 * s), 30 * m, fail_at=37, reason=_LONG_REASON),
        TaskSpec(_ami(4), archive, -12 * m, 25 * m),
        TaskSpec(_ami(5), archive, -3 * m, 9 * m),
        TaskSpec(_ami(6), dr, -40 * m, 70 * m),
        TaskSpec(_ami(7), mig, -2 * m, 40 * m),
        TaskSpec(_ami(8), archive, -5 * m, 15 * m, fail_at=62, reason=_MARKUP_REASON),
        # Started during the demo.
        TaskSpec(_ami(9), dr, 20 * s, 6 * m),
        TaskSpec(_ami(10), archive, 75 * s, 12 * m),
        # Failed three days ago and stored again an hour ago.
        TaskSpec(_ami(11), dr, -3 * d, 2 * h, fail_at=23, reason=_UNICODE_REASON),
        TaskSpec(_ami(11), dr, -1 * h, 90 * m),
        # Days ago.
        TaskSpec(_ami(12), archive, -1 * d, 50 * m),
        TaskSpec(_ami(13), archive, -2 * d, 35 * m),
        TaskSpec(_ami(14), dr, -2 * d - 3 * h, 2 * h),
        TaskSpec(_ami(15), mig, -4 * d, 25 * m),
        TaskSpec(_ami(16), archive, -5 * d, 3 * h),
        TaskSpec(_ami(17), mig, -6 * d, 40 * m, fail_at=8, reason="InternalError: try again"),
        TaskSpec(_ami(18), dr, -7 * d, 55 * m),
        TaskSpec(_ami(19), archive, -9 * d, 80 * m),
        TaskSpec(_ami(20), mig, -11 * d, 20 * m),
        TaskSpec(_ami(21), archive, -13 * d, 65 * m),
        TaskSpec(_ami(22), dr, -16 * d, 45 * m),
        TaskSpec(_ami(23), archive, -19 * d, 30 * m),
        TaskSpec(_ami(24), mig, -22 * d, 2 * h),
        TaskSpec(_ami(25), archive, -25 * d, 75 * m),
        TaskSpec(_ami(26), dr, -28 * d, 50 * m),
        TaskSpec(_ami(27), archive, -30 * d, 40 * m),
        # Older than 31 days: never returned.
        TaskSpec(_ami(28), archive, -35 * d, 1 * h),
        # In another region, seen with --region eu-west-1.
        TaskSpec(_ami(29), dr, -15 * m, 45 * m, region="eu-west-1"),
        TaskSpec(_ami(30), dr, -3 * d, 1 * h, region="eu-west-1"),
    ]
    return Scenario(tuple(specs))

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

import tomllib
from datetime import timedelta
from pathlib import Path

from amimon.model import validate_ami_id
from amimon.sim.demo import default_scenario
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

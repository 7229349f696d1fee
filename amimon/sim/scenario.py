"""Scenario files: store tasks, facts about their AMIs, and batches of many tasks, in TOML.

Every table is optional, but a scenario needs at least one ``[[task]]`` or ``[[batch]]``::

    account = "111122223333"   # optional: the caller's account (Owner=self), 12 digits

    [[task]]                   # one store task
    ami_id = "ami-0123456789abcdef0"
    bucket = "archive"
    start = "-2h"              # from the simulator's start: "90s", "-45m", "2h", "-3d", seconds
    duration = "45m"
    fail_at = 40               # optional: fails on reaching this percent (0-99)
    reason = "..."             # optional failure reason
    region = "us-east-1"       # optional, default us-east-1
    object_key = "..."         # optional, default "<ami_id>.bin"
    name = "web-frontend-2026.11.03-x86_64"   # optional facts about the AMI, as in [[image]]

    [[image]]                  # facts about one AMI, stored or not
    ami_id = "ami-0123456789abcdef0"
    region = "us-east-1"       # optional: default, where its tasks are (else us-east-1)
    name = "payments-api-prod-20261101"        # 1-128 characters
    description = "Payments API, built by Packer"
    architecture = "arm64"     # x86_64 | arm64 | i386 | x86_64_mac | arm64_mac
    volumes = [8, 100]         # GiB, the root volume first: 1 to 4 volumes of 8 to 2048
    deregistered = true        # archived, then deregistered: DescribeImages no longer has it
    owner = "444455556666"     # owned by another account that shared it directly

    [[batch]]                  # many tasks at once, each storing its own AMI
    count = 10000              # required, 1 to 100000
    buckets = ["a", "b"]       # required: task n goes to buckets[n % len(buckets)]
    running = 10               # optional: the newest this many are in progress (default 0)
    failed_every = 7           # optional: every 7th finished task failed (default 0: none)
    spread = "30d"             # optional: finished tasks started evenly over this (default 30d)
    duration = "1h"            # optional: each task's duration (default 1h), less than spread
    region = "us-east-1"       # optional, default us-east-1
    reason = "..."             # optional: the failure reason (default: AWS's kinds, in turn)
    seed = "nightly"           # optional: names the AMI ids (default: the batch's number)

Image facts not given are derived from the AMI id, so two runs agree. Facts about one AMI
may come from several tables but must not disagree. Any problem is a ScenarioError naming
the file and the table (``task 3``, ``image 1``, ``batch 2``).
"""

from __future__ import annotations

import re
import tomllib
from datetime import timedelta
from pathlib import Path
from typing import Any

from amimon.model import validate_ami_id
from amimon.sim.batch import MAX_BATCH, Batch
from amimon.sim.demo import default_scenario
from amimon.sim.spec import (
    ARCHITECTURES,
    DEFAULT_ACCOUNT,
    DEFAULT_REGION,
    MAX_VOLUME_GIB,
    MAX_VOLUMES,
    MIN_VOLUME_GIB,
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
    "Batch",
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

_ACCOUNT = re.compile(r"^\d{12}$")
_IMAGE_KEYS = {"name", "description", "architecture", "volumes", "deregistered", "owner"}
_TASK_KEYS = {"ami_id", "bucket", "start", "duration", "fail_at", "reason", "region", "object_key"}
_BATCH_KEYS = {
    *("count", "buckets", "running", "failed_every"),
    *("spread", "duration", "region", "reason", "seed"),
}
_TOP = {"account", "task", "image", "batch"}


class ScenarioError(Exception):
    """A bad scenario file: names the file and the problem."""


def _check_keys(raw: object, known: set[str], required: tuple[str, ...]) -> dict[str, Any]:
    if not isinstance(raw, dict):
        raise ValueError("must be a table")
    unknown = set(raw) - known
    if unknown:
        raise ValueError(f"unknown key {sorted(unknown)[0]!r} (known: {', '.join(sorted(known))})")
    for name in required:
        if name not in raw:
            raise ValueError(f"missing key {name!r}")
    return raw


def _string(raw: dict[str, Any], name: str, default: str = "") -> str:
    value = raw.get(name, default)
    if not isinstance(value, str):
        raise ValueError(f"key {name!r} must be a string")
    return value


def _whole(raw: dict[str, Any], name: str, low: int, high: int, default: int = 0) -> int:
    value = raw.get(name, default)
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ValueError(f"key {name!r} must be a whole number {low}-{high}, got {value!r}")
    return value


def _image_facts(raw: dict[str, Any]) -> dict[str, object]:
    facts: dict[str, object] = {}
    for name in ("name", "description", "owner", "architecture"):
        if name in raw:
            facts[name] = _string(raw, name)
    if "name" in facts and not 1 <= len(str(facts["name"])) <= 128:
        raise ValueError("key 'name' must be 1 to 128 characters")
    if "owner" in facts and not _ACCOUNT.match(str(facts["owner"])):
        raise ValueError(f"key 'owner' must be a 12-digit account id, got {facts['owner']!r}")
    if "architecture" in facts and facts["architecture"] not in ARCHITECTURES:
        raise ValueError(f"key 'architecture' must be one of {', '.join(ARCHITECTURES)}")
    if "deregistered" in raw:
        if not isinstance(raw["deregistered"], bool):
            raise ValueError("key 'deregistered' must be true or false")
        facts["deregistered"] = raw["deregistered"]
    if "volumes" in raw:
        volumes = raw["volumes"]
        if (
            not isinstance(volumes, list)
            or not 1 <= len(volumes) <= MAX_VOLUMES
            or any(isinstance(v, bool) or not isinstance(v, int) for v in volumes)
            or not all(MIN_VOLUME_GIB <= v <= MAX_VOLUME_GIB for v in volumes)
        ):
            raise ValueError(
                f"key 'volumes' must list 1 to {MAX_VOLUMES} sizes in GiB, each "
                f"{MIN_VOLUME_GIB} to {MAX_VOLUME_GIB}, got {volumes!r}"
            )
        facts["volumes"] = tuple(volumes)
    return facts


def _task(raw: object) -> tuple[TaskSpec, dict[str, object]]:
    table = _check_keys(raw, _TASK_KEYS | _IMAGE_KEYS, ("ami_id", "bucket", "start", "duration"))
    fail_at = table.get("fail_at")
    if fail_at is not None:
        fail_at = _whole(table, "fail_at", 0, 99)
    duration = parse_offset(table["duration"])
    if duration < timedelta(0):
        raise ValueError("key 'duration' must not be negative")
    reason = _string(table, "reason")
    spec = TaskSpec(
        ami_id=validate_ami_id(_string(table, "ami_id")),
        bucket=_string(table, "bucket"),
        start=parse_offset(table["start"]),
        duration=duration,
        fail_at=fail_at,
        reason=reason or ("Store task failed" if fail_at is not None else ""),
        region=_string(table, "region", DEFAULT_REGION),
        object_key=_string(table, "object_key"),
    )
    return spec, _image_facts(table)


def _image(raw: object) -> tuple[str, dict[str, object]]:
    table = _check_keys(raw, _IMAGE_KEYS | {"ami_id", "region"}, ("ami_id",))
    facts = _image_facts(table)
    if "region" in table:
        facts["region"] = _string(table, "region")
    return validate_ami_id(_string(table, "ami_id")), facts


def _duration(table: dict[str, Any], name: str, default: str) -> timedelta:
    value = parse_offset(table.get(name, default))
    if value <= timedelta(0):
        raise ValueError(f"key {name!r} must be longer than zero")
    return value


def _batch(raw: object, number: int) -> Batch:
    table = _check_keys(raw, _BATCH_KEYS, ("count", "buckets"))
    count = _whole(table, "count", 1, MAX_BATCH)
    buckets = table["buckets"]
    if not isinstance(buckets, list) or not buckets:
        raise ValueError("key 'buckets' must be a list of bucket names")
    if not all(isinstance(b, str) and b for b in buckets):
        raise ValueError("key 'buckets' must hold non-empty strings")
    running = _whole(table, "running", 0, count)
    spread, duration = _duration(table, "spread", "30d"), _duration(table, "duration", "1h")
    if running < count and spread <= duration:
        raise ValueError(f"key 'spread' ({spread}) must be longer than 'duration' ({duration})")
    seed = table.get("seed", number)
    if isinstance(seed, bool) or not isinstance(seed, str | int):
        raise ValueError("key 'seed' must be a string or a whole number")
    return Batch(
        count=count,
        buckets=tuple(buckets),
        running=running,
        failed_every=_whole(table, "failed_every", 0, MAX_BATCH),
        spread=spread,
        duration=duration,
        region=_string(table, "region", DEFAULT_REGION),
        reason=_string(table, "reason"),
        seed=str(seed),
    )


def _merge(
    merged: dict[str, dict[str, tuple[object, str]]], ami: str, facts: dict[str, object], label: str
) -> None:
    known = merged.setdefault(ami, {})
    for key, value in facts.items():
        if key in known and known[key][0] != value:
            other, where = known[key]
            raise ValueError(f"{key} = {value!r} for {ami} disagrees with {where} ({other!r})")
        known.setdefault(key, (value, label))


def _tables(data: dict[str, Any], name: str) -> list[Any]:
    tables = data.get(name, [])
    if not isinstance(tables, list):
        raise ValueError(f"'{name}' must be an array of tables: write [[{name}]]")
    return tables


def _parse(data: dict[str, Any]) -> Scenario:
    extra = set(data) - _TOP
    if extra:
        raise ValueError(
            f"unknown top-level key {sorted(extra)[0]!r}; use [[task]], [[image]], "
            "[[batch]] or account"
        )
    account = data.get("account", DEFAULT_ACCOUNT)
    if not isinstance(account, str) or not _ACCOUNT.match(account):
        raise ValueError(f"'account' must be a 12-digit account id, got {account!r}")
    tasks, batches = _tables(data, "task"), _tables(data, "batch")
    if not tasks and not batches:
        raise ValueError("no [[task]] or [[batch]] tables")
    specs: list[TaskSpec] = []
    merged: dict[str, dict[str, tuple[object, str]]] = {}
    for kind, tables in (("task", tasks), ("image", _tables(data, "image")), ("batch", batches)):
        for index, raw in enumerate(tables, start=1):
            label = f"{kind} {index}"
            try:
                if kind == "task":
                    spec, facts = _task(raw)
                    specs.append(spec)
                    _merge(merged, spec.ami_id, facts, label)
                elif kind == "image":
                    _merge(merged, *_image(raw), label)
                else:
                    specs.extend(_batch(raw, index).tasks())
            except ValueError as exc:
                raise ValueError(f"{label}: {exc}") from None
    images = tuple(
        ImageSpec(ami, **{key: value for key, (value, _) in facts.items()})  # type: ignore[arg-type]
        for ami, facts in merged.items()
        if facts
    )
    return Scenario(tuple(specs), images, account)


def load_scenario(path: str | Path) -> Scenario:
    """Read a scenario file; any problem is a ScenarioError naming the file and the table."""
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ScenarioError(f"{path}: scenario file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ScenarioError(f"{path}: cannot read scenario file: {exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError(f"{path}: invalid TOML: {exc}") from None
    try:
        return _parse(data)
    except ValueError as exc:
        raise ScenarioError(f"{path}: {exc}") from None

"""The trimmed EC2 model: the same shapes as the installed botocore's, for every operation
amimon calls; written once per botocore release; never a reason to fail."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import botocore.session
import pytest
from botocore.model import ServiceModel, Shape

from amimon.aws import trimmed


def describe(shape: Shape | None, seen: set[str] | None = None) -> Any:
    """A shape as plain data, all the way down (recursive shapes once)."""
    if shape is None:
        return None
    seen = set() if seen is None else seen
    if shape.name in seen:
        return {"ref": shape.name}
    seen = seen | {shape.name}
    out: dict[str, Any] = {
        "name": shape.name,
        "type": shape.type_name,
        "serialization": shape.serialization,
        "metadata": shape.metadata,
    }
    if shape.type_name == "structure":
        out["members"] = {k: describe(v, seen) for k, v in shape.members.items()}  # type: ignore[attr-defined]
    elif shape.type_name == "list":
        out["member"] = describe(shape.member, seen)  # type: ignore[attr-defined]
    elif shape.type_name == "map":
        out["key"] = describe(shape.key, seen)  # type: ignore[attr-defined]
        out["value"] = describe(shape.value, seen)  # type: ignore[attr-defined]
    return out


def models(tmp_path: Path) -> tuple[ServiceModel, ServiceModel, Path]:
    full = botocore.session.Session().get_service_model("ec2")
    session = trimmed.install(botocore.session.Session(), tmp_path)
    cut = session.get_service_model("ec2")
    (written,) = tmp_path.rglob("service-2.json")
    return full, cut, written


@pytest.mark.parametrize("operation", trimmed.OPERATIONS)
def test_every_shape_amimon_uses_matches_the_installed_botocore(
    tmp_path: Path, operation: str
) -> None:
    full, cut, _ = models(tmp_path)
    a, b = full.operation_model(operation), cut.operation_model(operation)
    assert describe(a.input_shape) == describe(b.input_shape)
    assert describe(a.output_shape) == describe(b.output_shape)
    assert a.http == b.http and a.metadata == b.metadata
    assert full.metadata == cut.metadata


def test_the_copy_is_small_and_has_only_what_amimon_calls(tmp_path: Path) -> None:
    _, cut, written = models(tmp_path)
    assert sorted(cut.operation_names) == sorted(trimmed.OPERATIONS)
    assert written.stat().st_size < 100_000
    assert "documentation" not in written.read_text()
    json.loads(written.read_text())


def test_it_is_written_once_and_reused(tmp_path: Path) -> None:
    _, _, written = models(tmp_path)
    first = written.stat().st_mtime_ns
    trimmed.install(botocore.session.Session(), tmp_path).get_service_model("ec2")
    assert written.stat().st_mtime_ns == first


def test_a_cache_that_cannot_be_written_leaves_the_full_model(tmp_path: Path) -> None:
    blocked = tmp_path / "file-not-dir"
    blocked.write_text("x")
    session = trimmed.install(botocore.session.Session(), blocked)
    assert "RunInstances" in session.get_service_model("ec2").operation_names


def test_a_damaged_copy_is_left_for_botocores_model_and_written_again(tmp_path: Path) -> None:
    from amimon.aws import loader

    models(tmp_path)
    (written,) = tmp_path.rglob("service-2.json")
    written.write_text('{"operations": {')
    session = trimmed.install(loader.install(botocore.session.Session()), tmp_path)
    assert "RunInstances" in session.get_service_model("ec2").operation_names
    assert not written.exists()
    trimmed.install(loader.install(botocore.session.Session()), tmp_path)
    assert written.exists()

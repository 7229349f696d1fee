"""A trimmed copy of botocore's EC2 service model, with only the operations amimon calls.

botocore's EC2 model has over 800 operations and 4,000 shapes: loading it takes a few
hundred milliseconds and keeps about 14 MB alive, for the three operations amimon uses.
The first time a botocore release is seen, amimon copies those operations and every
shape they reach from the model botocore itself would load, into the user's cache dir,
keyed by botocore's version and the source file; later clients load the copy. So the
copy always matches the installed botocore (a test proves the shapes equal), and when
the cache cannot be written amimon simply uses the full model.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

SERVICE = "ec2"
OPERATIONS = ("DescribeStoreImageTasks", "DescribeImages", "CreateStoreImageTask")


def _shape_refs(shape: Mapping[str, Any]) -> Iterable[str]:
    for key in ("member", "key", "value"):
        ref = shape.get(key)
        if isinstance(ref, Mapping) and "shape" in ref:
            yield ref["shape"]
    for member in (shape.get("members") or {}).values():
        yield member["shape"]


def trim(model: Mapping[str, Any], operations: Iterable[str] = OPERATIONS) -> dict[str, Any]:
    """The model with only ``operations`` and the shapes they reach (documentation kept
    out: botocore never reads it to make or parse a request)."""
    ops = {name: model["operations"][name] for name in operations}
    wanted: list[str] = []
    for op in ops.values():
        for key in ("input", "output"):
            if key in op:
                wanted.append(op[key]["shape"])
        wanted += [error["shape"] for error in op.get("errors", ())]
    shapes: dict[str, Any] = {}
    while wanted:
        name = wanted.pop()
        if name in shapes:
            continue
        shape = model["shapes"][name]
        shapes[name] = shape
        wanted.extend(_shape_refs(shape))
    return {
        "version": model.get("version", "2.0"),
        "metadata": model["metadata"],
        "operations": ops,
        "shapes": dict(sorted(shapes.items())),
    }


def _strip_docs(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _strip_docs(v) for k, v in value.items() if k != "documentation"}
    if isinstance(value, list):
        return [_strip_docs(v) for v in value]
    return value


def cache_root() -> Path:
    from platformdirs import user_cache_path

    return user_cache_path("amimon") / "botocore-models"


def install(session: Any, root: Path | None = None) -> Any:
    """Make ``session`` (a botocore Session) load the trimmed EC2 model, writing it first if
    this botocore release has not been seen; on any problem, leave the session as it was."""
    try:
        loader = session.get_component("data_loader")
        version = loader.determine_latest_version(SERVICE, "service-2")
        relative = os.path.join(SERVICE, version, "service-2")
        source = source_file(loader, relative)
        if source is None:
            return session
        directory = cache_dir(source, root)
        target = directory / relative
        path = target.with_suffix(".json")
        if not path.exists():
            # A loader of its own: the session's would cache the full model it read.
            from botocore.loaders import Loader

            reader = Loader(
                extra_search_paths=list(loader.search_paths), include_default_search_paths=False
            )
            write(path, _strip_docs(trim(reader.load_data(relative))))
        loader.search_paths.insert(0, str(directory))
        loader.copies = directory  # a OneServiceLoader reads botocore's model if it is damaged
    except Exception as exc:  # a cache is an optimisation: never a reason to fail
        log.info("using botocore's full EC2 model: %s", exc)
    return session


def cache_dir(source: Path, root: Path | None = None) -> Path:
    """The cache directory for copies made from ``source``, a file of the installed
    botocore: a new release, or the file changed, gets a directory of its own."""
    import botocore

    stat = source.stat()
    key = hashlib.sha256(
        f"{botocore.__version__}|{source}|{stat.st_size}|{stat.st_mtime_ns}".encode()
    ).hexdigest()[:16]
    return (root or cache_root()) / key


def source_file(loader: Any, relative: str) -> Path | None:
    """The file botocore's ``loader`` would read for ``relative`` (the first search path
    that has it, as ``.json`` or ``.json.gz``)."""
    for base in loader.search_paths:
        for suffix in (".json", ".json.gz"):
            candidate = Path(base) / (relative + suffix)
            if candidate.is_file():
                return candidate
    return None


def write(path: Path, data: Mapping[str, Any]) -> None:
    """``data`` as compact JSON at ``path``, whole or not at all (written aside, then
    moved into place: a reader never sees half a file)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            json.dump(data, out, separators=(",", ":"))
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise

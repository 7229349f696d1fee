"""botocore's endpoint data, with only the services amimon's clients ask about read up front.

Before its first client, a botocore session decodes ``endpoints.json``: 1.2 MB, every
service in every partition, 20 to 30 ms on the way to amimon's first request, for the one
service entry (EC2's) that client reads. The first time a botocore release is seen,
amimon writes a copy with every partition's data but only ``SERVICES``' entries into the
user's cache dir (beside the trimmed EC2 model, keyed the same way); later sessions read
the copy. Any other service's entry (a credential provider's or a plugin's client) loads
the whole file then, once, so every answer is the one botocore's own file gives (a test
compares them). A user's own endpoint file (``AWS_DATA_PATH``), or a cache that cannot
be written, leaves botocore to read its file as it always does.
"""

from __future__ import annotations

import functools
import logging
import os
import threading
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

from amimon.aws import trimmed

log = logging.getLogger(__name__)

NAME = "endpoints"
# EC2's, and those of the clients botocore's credential and token providers make
# (assumed roles, web identity, IAM Identity Center).
SERVICES = ("ec2", "sts", "sso", "sso-oidc")
# Not "endpoints.json": botocore takes a file of that name in a search path (the cache
# dir is one) for the user's own endpoint data and resolves endpoints differently.
COPY = "endpoints-trimmed.json"


class Services(Mapping[str, Any]):
    """One partition's services: the copy's entries, and any other service's from the
    whole file (loaded on first need)."""

    def __init__(self, kept: Mapping[str, Any], whole: Callable[[], Mapping[str, Any]]):
        self._kept = kept
        self._whole = whole

    def __getitem__(self, name: str) -> Any:
        if name in self._kept:
            return self._kept[name]
        return self._whole()[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._whole())

    def __len__(self) -> int:
        return len(self._whole())


class Endpoints:
    """The endpoint data of one botocore file: read from its copy, whole on demand."""

    def __init__(self, copy: Path, source: Path, path: str) -> None:
        self.copy = copy
        self.source = source
        self.path = path  # what botocore's loader returns with the data (its builtin file)
        self._whole: dict[str, Any] | None = None
        self._lock = threading.Lock()

    @property
    def whole_loaded(self) -> bool:
        return self._whole is not None

    def load(self) -> dict[str, Any] | None:
        """Every partition as botocore's file has it, each one's services a ``Services``;
        None if the copy cannot be read (it is removed, to be written again next time)."""
        try:
            data = read(self.copy)
            for partition in data["partitions"]:
                whole = functools.partial(self._services, partition["partition"])
                partition["services"] = Services(partition["services"], whole)
        except Exception as exc:  # a damaged cache: botocore reads its own file
            log.info("using botocore's own endpoint data: %s: %s", self.copy, exc)
            self.copy.unlink(missing_ok=True)
            return None
        return data

    def _services(self, partition: str) -> Mapping[str, Any]:
        with self._lock:
            if self._whole is None:
                self._whole = read(self.source)
        for candidate in self._whole["partitions"]:
            if candidate["partition"] == partition:
                return candidate["services"]  # type: ignore[no-any-return]
        return {}


def read(source: Path) -> dict[str, Any]:
    """botocore's file, decoded as botocore's loader decodes it."""
    from botocore.loaders import JSONFileLoader

    base = str(source).removesuffix(".gz").removesuffix(".json")
    data = JSONFileLoader().load_file(base)
    if data is None:
        raise FileNotFoundError(source)
    return data  # type: ignore[no-any-return]


def cut(data: Mapping[str, Any], services: tuple[str, ...] = SERVICES) -> dict[str, Any]:
    """``data`` with each partition's services narrowed to ``services``."""
    partitions = [
        {
            **partition,
            "services": {k: v for k, v in partition["services"].items() if k in services},
        }
        for partition in data["partitions"]
    ]
    return {**data, "partitions": partitions}


def install(session: Any, root: Path | None = None) -> Any:
    """Make ``session``'s loader (an ``amimon.aws.loader.OneServiceLoader``) read the
    endpoint data from the copy, writing it first if this botocore file has not been seen;
    on any problem, leave the session as it was."""
    try:
        loader = session.get_component("data_loader")
        source = trimmed.source_file(loader, NAME)
        if source is None or not loader.is_builtin_path(str(source)):
            return session
        copy = trimmed.cache_dir(source, root) / COPY
        if not copy.exists():
            trimmed.write(copy, cut(read(source)))
        loader.endpoints = Endpoints(copy, source, os.path.join(source.parent, NAME))
    except Exception as exc:  # a cache is an optimisation: never a reason to fail
        log.info("using botocore's own endpoint data: %s", exc)
    return session

"""botocore sessions and EC2 clients, created lazily in worker threads and reused.

Importing botocore and building an EC2 client cost hundreds of milliseconds: that never
happens on the UI thread or before the first frame. amimon talks to botocore directly:
boto3 adds nothing it uses and another 70 ms of imports (s3transfer).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any, cast

from amimon.aws.errors import classify
from amimon.model import Target
from amimon.records import record

if TYPE_CHECKING:
    from botocore.session import Session
    from mypy_boto3_ec2 import EC2Client


@record
class StaticCredentials:
    """Credentials given to one client only (the demo's dummy keys); never from the user."""

    access_key: str
    secret_key: str


def parse_timestamp(value: Any) -> Any:
    """ISO 8601 via ``datetime.fromisoformat`` (several times faster than botocore's
    dateutil-based default); anything else falls back to botocore's parser."""
    try:
        return datetime.fromisoformat(value)
    except (TypeError, ValueError):
        from botocore.utils import parse_timestamp as slow

        return slow(value)


def tune(session: Any) -> Any:
    """Make clients of this botocore session cheaper: a model loaded without listing every
    service (``amimon.aws.loader``), the EC2 model trimmed to the operations amimon calls
    (``amimon.aws.trimmed``), endpoint data read for EC2 and the credential providers'
    services only (``amimon.aws.endpoints``), timestamps with ``fromisoformat``,
    and DescribeStoreImageTasks results without botocore's per-element walk
    (``amimon.aws.fastparse``; errors and other operations stay botocore's)."""
    from amimon.aws import endpoints, fastparse, loader, trimmed

    factory = session.get_component("response_parser_factory")
    factory.set_parser_defaults(timestamp_parser=parse_timestamp)
    return fastparse.install(trimmed.install(endpoints.install(loader.install(session))))


def isolated_botocore_session() -> Any:
    """A botocore session that reads none of the user's AWS profiles, files or variables
    that could pick a profile: the demo must work (and touch nothing) whatever they say."""
    from botocore.session import Session

    return Session(
        session_vars={
            "profile": (None, None, None, None),
            "config_file": (None, None, os.devnull, None),
            "credentials_file": (None, None, os.devnull, None),
        }
    )


class Clients:
    """One botocore Session per profile and one EC2 client per target, created on first use.

    Thread-safe. botocore's own retries are off: amimon retries each page itself, so every
    request is seen, paced and counted. A client made here delivers its target's
    DescribeStoreImageTasks results as StoreTasks where it can (``fastparse.deliver_tasks``).
    """

    def __init__(
        self,
        credentials: StaticCredentials | None = None,
        *,
        connect_timeout: float = 3.0,
        read_timeout: float = 10.0,
        prepare: Callable[[], None] | None = None,
    ) -> None:
        """``prepare`` runs once before the first client is made (the demo starts its
        simulator there, in the worker, not before the monitor's first frame)."""
        self._credentials = credentials
        self._prepare = prepare
        self._timeouts = (connect_timeout, read_timeout)
        self._lock = threading.Lock()
        self._sessions: dict[str | None, Session] = {}
        self._clients: dict[Target, tuple[Target, EC2Client]] = {}

    def _session(self, profile: str | None) -> Session:
        session = self._sessions.get(profile)
        if session is None:
            if self._credentials is not None:
                session = tune(isolated_botocore_session())
            else:
                from botocore.session import Session

                session = tune(Session(profile=profile))
            self._sessions[profile] = session
        return session

    def get(self, target: Target) -> tuple[Target, EC2Client]:
        """The resolved target (region filled in) and its EC2 client; raises ``AwsError``."""
        with self._lock:
            cached = self._clients.get(target)
            if cached is not None:
                return cached
            if self._prepare is not None:
                self._prepare()
                self._prepare = None
            try:
                from botocore.config import Config

                session = self._session(target.profile)
                region = target.region or session.get_config_variable("region")
                if not region:
                    from botocore.exceptions import NoRegionError

                    raise NoRegionError()
                config = Config(
                    retries={"mode": "standard", "total_max_attempts": 1},
                    connect_timeout=self._timeouts[0],
                    read_timeout=self._timeouts[1],
                    user_agent_extra="amimon",
                )
                kwargs: dict[str, Any] = {}
                if self._credentials is not None:
                    kwargs["aws_access_key_id"] = self._credentials.access_key
                    kwargs["aws_secret_access_key"] = self._credentials.secret_key
                client = cast(
                    "EC2Client",
                    session.create_client(
                        "ec2",
                        region_name=region,
                        endpoint_url=target.endpoint_url,
                        config=config,
                        **kwargs,
                    ),
                )
            except Exception as exc:
                raise classify(exc, target) from exc
            resolved = Target(target.profile, region, target.endpoint_url)
            from amimon.aws.fastparse import deliver_tasks

            deliver_tasks(client, resolved)
            self._clients[target] = (resolved, client)
            return resolved, client

    def put(self, target: Target, client: EC2Client) -> None:
        """Use ``client`` for ``target`` (tests use a stubbed client; embedders their own)."""
        with self._lock:
            self._clients[target] = (target, client)

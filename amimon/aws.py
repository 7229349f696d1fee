"""The AWS edge: fetch store tasks with boto3 and turn every failure into one ``AwsError``.

This is the only module outside ``amimon.sim`` that imports boto3, and it does so lazily:
importing boto3 and building an EC2 client cost hundreds of milliseconds, which must never
happen on the UI thread or before the first frame.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from amimon.model import (
    FULL_POLL,
    PollFailure,
    PollPlan,
    Snapshot,
    StoreTask,
    Target,
    parse_task,
)

if TYPE_CHECKING:
    import boto3
    from mypy_boto3_ec2 import EC2Client

__all__ = [
    "AwsError",
    "Ec2TaskSource",
    "ErrorKind",
    "Query",
    "StaticCredentials",
    "Target",
    "classify",
]

log = logging.getLogger(__name__)

MAX_IMAGE_IDS_PER_REQUEST = 20
MAX_PAGE_SIZE = 200


class ErrorKind(StrEnum):
    """What went wrong, in the terms a person acts on."""

    THROTTLED = "throttled"
    CREDENTIALS = "credentials"
    PERMISSION = "permission"
    NETWORK = "network"
    BAD_REQUEST = "bad request"
    BAD_RESPONSE = "bad response"
    CONFIG = "config"
    UNKNOWN = "unknown"


class AwsError(Exception):
    """A failed AWS call, classified, with a message a person can act on."""

    def __init__(
        self,
        kind: ErrorKind,
        message: str,
        *,
        target: Target | None = None,
        request_id: str | None = None,
        code: str | None = None,
    ) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message
        self.target = target
        self.request_id = request_id
        self.code = code

    def to_failure(self) -> PollFailure:
        return PollFailure(
            kind=self.kind.value,
            message=self.message,
            target=self.target,
            request_id=self.request_id,
            code=self.code,
        )


@dataclass(frozen=True)
class StaticCredentials:
    """Credentials given to one client only (the demo's dummy keys); never from the user."""

    access_key: str
    secret_key: str


@dataclass(frozen=True)
class Query:
    """What to ask for. Bucket and state values use the API's exact, case-sensitive spelling."""

    image_ids: tuple[str, ...] = ()
    buckets: tuple[str, ...] = ()
    states: tuple[str, ...] = ()

    def filters(self) -> list[dict[str, Any]]:
        filters: list[dict[str, Any]] = []
        if self.states:
            filters.append({"Name": "task-state", "Values": list(self.states)})
        if self.buckets:
            filters.append({"Name": "bucket", "Values": list(self.buckets)})
        return filters

    def accepts(self, task: StoreTask) -> bool:
        """The bucket/state filters applied client-side (AWS ignores them with ImageIds)."""
        if self.buckets and task.bucket not in self.buckets:
            return False
        return not (self.states and task.state not in self.states)


# Error classification ------------------------------------------------------------------

_THROTTLE_CODES = {"RequestLimitExceeded", "Throttling", "ThrottlingException"}
_PERMISSION_CODES = {"UnauthorizedOperation", "AccessDenied", "AccessDeniedException"}
_EXPIRED_CODES = {"ExpiredToken", "ExpiredTokenException", "RequestExpired"}
_REJECTED_CODES = {
    "AuthFailure",
    "InvalidClientTokenId",
    "SignatureDoesNotMatch",
    "UnrecognizedClientException",
    "InvalidAccessKeyId",
    "OptInRequired",
}
_SERVER_CODES = {"InternalError", "InternalFailure", "Unavailable", "ServiceUnavailable"}


def _where(target: Target | None) -> str:
    if target is None:
        return ""
    parts = []
    if target.profile:
        parts.append(f"profile {target.profile}")
    if target.region:
        parts.append(target.region)
    return f" ({', '.join(parts)})" if parts else ""


def _login_hint(target: Target | None) -> str:
    profile = target.profile if target and target.profile else None
    sso = f"aws sso login --profile {profile}" if profile else "aws sso login"
    return f"refresh your credentials (for IAM Identity Center: `{sso}`)"


def _classify_client_error(exc: Any, target: Target | None) -> AwsError:
    response = getattr(exc, "response", {}) or {}
    error = response.get("Error", {}) or {}
    code = str(error.get("Code", "") or "")
    aws_message = str(error.get("Message", "") or "").strip()
    meta = response.get("ResponseMetadata", {}) or {}
    request_id = meta.get("RequestId") or None
    status = meta.get("HTTPStatusCode")
    where = _where(target)
    detail = f": {aws_message}" if aws_message else ""

    def make(kind: ErrorKind, message: str) -> AwsError:
        return AwsError(kind, message, target=target, request_id=request_id, code=code or None)

    if code in _THROTTLE_CODES:
        return make(
            ErrorKind.THROTTLED,
            f"AWS is throttling DescribeStoreImageTasks{where}: the limit is shared by every "
            "caller in the account and region; backing off",
        )
    if code in _PERMISSION_CODES:
        return make(
            ErrorKind.PERMISSION,
            f"Not permitted{where}: the identity needs ec2:DescribeStoreImageTasks{detail}",
        )
    if code in _EXPIRED_CODES:
        return make(ErrorKind.CREDENTIALS, f"Credentials expired{where}: {_login_hint(target)}")
    if code in _REJECTED_CODES:
        return make(
            ErrorKind.CREDENTIALS,
            f"AWS rejected the credentials{where} ({code}){detail}; {_login_hint(target)}",
        )
    if code in _SERVER_CODES or (isinstance(status, int) and status >= 500):
        return make(
            ErrorKind.NETWORK,
            f"AWS had a server error{where} (HTTP {status}, {code or 'no code'}); retrying",
        )
    if code.startswith("Invalid") or code in {"MissingParameter", "UnknownParameter"}:
        return make(ErrorKind.BAD_REQUEST, f"AWS refused the request{where} ({code}){detail}")
    return make(ErrorKind.UNKNOWN, f"AWS error{where} ({code or status}){detail}")


def classify(exc: BaseException, target: Target | None = None) -> AwsError:
    """Turn any exception from boto3/botocore into an ``AwsError`` with an actionable message."""
    if isinstance(exc, AwsError):
        return exc
    from botocore import exceptions as bce
    from botocore.parsers import ResponseParserError

    where = _where(target)
    name = type(exc).__name__
    if isinstance(exc, bce.ClientError):
        return _classify_client_error(exc, target)
    if isinstance(exc, ResponseParserError):
        # Neither ClientError nor BotoCoreError: a garbled body, often a proxy's error page.
        return AwsError(
            ErrorKind.BAD_RESPONSE,
            f"AWS sent a response that could not be read{where}; retrying",
            target=target,
        )
    if isinstance(exc, bce.ProfileNotFound):
        return AwsError(
            ErrorKind.CONFIG,
            f"AWS profile {getattr(exc, 'kwargs', {}).get('profile', '?')!r} is not in your "
            "AWS config: check --profile / AWS_PROFILE (`aws configure list-profiles`)",
            target=target,
        )
    if isinstance(exc, bce.NoRegionError):
        return AwsError(
            ErrorKind.CONFIG,
            f"No AWS region{where}: pass --region, set AWS_REGION, or set one for the profile",
            target=target,
        )
    if isinstance(exc, bce.InvalidRegionError):
        return AwsError(ErrorKind.CONFIG, f"Invalid region name{where}: {exc}", target=target)
    sso_errors: tuple[type[BaseException], ...] = (
        bce.SSOTokenLoadError,
        bce.UnauthorizedSSOTokenError,
        bce.TokenRetrievalError,
    )
    if isinstance(exc, sso_errors):
        profile = target.profile if target and target.profile else None
        cmd = f"aws sso login --profile {profile}" if profile else "aws sso login"
        return AwsError(
            ErrorKind.CREDENTIALS,
            f"SSO session expired or missing{where}: run `{cmd}`",
            target=target,
        )
    if isinstance(exc, bce.NoCredentialsError):
        return AwsError(
            ErrorKind.CREDENTIALS,
            f"No AWS credentials found{where}: pass --profile or set AWS_PROFILE, "
            "or run `aws configure` / `aws sso login`",
            target=target,
        )
    if isinstance(exc, bce.PartialCredentialsError | bce.CredentialRetrievalError):
        return AwsError(
            ErrorKind.CREDENTIALS,
            f"Could not load AWS credentials{where} ({name}): {_login_hint(target)}",
            target=target,
        )
    if isinstance(exc, bce.ReadTimeoutError | bce.ConnectTimeoutError):
        return AwsError(
            ErrorKind.NETWORK, f"Timed out talking to AWS{where}; retrying", target=target
        )
    if isinstance(exc, bce.EndpointConnectionError):
        url = getattr(exc, "kwargs", {}).get("endpoint_url", "the endpoint")
        return AwsError(
            ErrorKind.NETWORK,
            f"Could not connect to {url}{where}: check the network, proxy or --endpoint-url",
            target=target,
        )
    if isinstance(exc, bce.HTTPClientError | bce.ConnectionError):
        return AwsError(
            ErrorKind.NETWORK,
            f"Network error talking to AWS{where} ({name}); retrying",
            target=target,
        )
    if isinstance(exc, bce.ParamValidationError):
        return AwsError(ErrorKind.BAD_REQUEST, f"Invalid request{where}: {exc}", target=target)
    return AwsError(ErrorKind.UNKNOWN, f"Unexpected error{where} ({name}): {exc}", target=target)


# The source --------------------------------------------------------------------------


def _parse_timestamp(value: Any) -> Any:
    """ISO 8601 via ``datetime.fromisoformat`` (several times faster than botocore's
    dateutil-based default); anything else falls back to botocore's parser."""
    from datetime import datetime

    try:
        return datetime.fromisoformat(value)
    except (TypeError, ValueError):
        from botocore.utils import parse_timestamp

        return parse_timestamp(value)


def _fast_timestamps(session: Any) -> Any:
    """Make clients of this botocore session parse timestamps with ``_parse_timestamp``."""
    factory = session.get_component("response_parser_factory")
    factory.set_parser_defaults(timestamp_parser=_parse_timestamp)
    return session


def _isolated_botocore_session() -> Any:
    """A botocore session that reads none of the user's AWS profiles, files or variables
    that could pick a profile: the demo must work (and touch nothing) whatever they say."""
    import os

    from botocore.session import Session

    return Session(
        session_vars={
            "profile": (None, None, None, None),
            "config_file": (None, None, os.devnull, None),
            "credentials_file": (None, None, os.devnull, None),
        }
    )


def _chunks(items: Sequence[str], size: int) -> Iterator[Sequence[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


class Ec2TaskSource:
    """Fetches store tasks for one or more targets; the only thing that talks to AWS.

    Thread-safe: ``fetch`` may run in any worker thread. One boto3 Session per profile;
    clients are created on first use and reused.
    """

    def __init__(
        self,
        targets: Sequence[Target],
        query: Query = Query(),
        *,
        credentials: StaticCredentials | None = None,
        page_size: int = MAX_PAGE_SIZE,
        connect_timeout: float = 3.0,
        read_timeout: float = 10.0,
        max_attempts: int = 2,
    ) -> None:
        if not targets:
            raise ValueError("at least one target is needed")
        if not 1 <= page_size <= MAX_PAGE_SIZE:
            raise ValueError(f"page size must be 1-{MAX_PAGE_SIZE}, got {page_size}")
        self.targets = tuple(targets)
        self.query = query
        self._credentials = credentials
        self._page_size = page_size
        self._timeouts = (connect_timeout, read_timeout)
        self._max_attempts = max_attempts
        self._lock = threading.Lock()
        self._sessions: dict[str | None, boto3.Session] = {}
        self._clients: dict[Target, tuple[Target, EC2Client]] = {}
        self._pool: ThreadPoolExecutor | None = None

    # clients

    def _session(self, profile: str | None) -> boto3.Session:
        session = self._sessions.get(profile)
        if session is None:
            import boto3

            if self._credentials is not None:
                core = _isolated_botocore_session()
                session = boto3.Session(botocore_session=_fast_timestamps(core))
            else:
                from botocore.session import Session

                core = _fast_timestamps(Session())
                session = boto3.Session(botocore_session=core, profile_name=profile)
            self._sessions[profile] = session
        return session

    def client(self, target: Target) -> tuple[Target, EC2Client]:
        """The resolved target (region filled in) and its EC2 client, created on first use."""
        with self._lock:
            cached = self._clients.get(target)
            if cached is not None:
                return cached
            try:
                from botocore.config import Config

                session = self._session(target.profile)
                region = target.region or session.region_name
                if not region:
                    from botocore.exceptions import NoRegionError

                    raise NoRegionError()
                config = Config(
                    retries={"mode": "standard", "total_max_attempts": self._max_attempts},
                    connect_timeout=self._timeouts[0],
                    read_timeout=self._timeouts[1],
                    user_agent_extra="amimon",
                )
                kwargs: dict[str, Any] = {}
                if self._credentials is not None:
                    kwargs["aws_access_key_id"] = self._credentials.access_key
                    kwargs["aws_secret_access_key"] = self._credentials.secret_key
                client = session.client(
                    "ec2",
                    region_name=region,
                    endpoint_url=target.endpoint_url,
                    config=config,
                    **kwargs,
                )
            except Exception as exc:
                raise classify(exc, target) from exc
            resolved = Target(target.profile, region, target.endpoint_url)
            self._clients[target] = (resolved, client)
            return resolved, client

    def set_client(self, target: Target, client: EC2Client) -> None:
        """Use ``client`` for ``target`` (tests use a stubbed client; embedders their own)."""
        with self._lock:
            self._clients[target] = (target, client)

    def resolve(self, target: Target) -> Target:
        """The target with its region filled in (creates the client if needed)."""
        return self.client(target)[0]

    # fetching

    def _pages(self, client: EC2Client, **params: Any) -> Iterator[dict[str, Any]]:
        paginator = client.get_paginator("describe_store_image_tasks")
        yield from paginator.paginate(**params)  # type: ignore[misc]

    def _by_ids(
        self, client: EC2Client, resolved: Target, image_ids: Sequence[str], query: Query
    ) -> Iterator[StoreTask]:
        # AWS refuses MaxResults with ImageIds and ignores filters: chunk, filter here.
        for chunk in _chunks(image_ids, MAX_IMAGE_IDS_PER_REQUEST):
            for page in self._pages(client, ImageIds=list(chunk)):
                for item in page.get("StoreImageTaskResults", ()):
                    task = parse_task(item, resolved)
                    if query.accepts(task):
                        yield task

    def _listing(self, client: EC2Client, resolved: Target, query: Query) -> Iterator[StoreTask]:
        params: dict[str, Any] = {"PaginationConfig": {"PageSize": self._page_size}}
        filters = query.filters()
        if filters:
            params["Filters"] = filters
        for page in self._pages(client, **params):
            for item in page.get("StoreImageTaskResults", ()):
                yield parse_task(item, resolved)

    def fetch_target(
        self, target: Target, plan: PollPlan = FULL_POLL
    ) -> tuple[Target, list[StoreTask], frozenset[tuple[Target, str]]]:
        """The tasks of one target matching the query, and the (target, AMI) pairs that were
        looked up by id; raises ``AwsError``.

        With a scoped plan, only tasks in the plan's states are listed, then any expected
        AMI missing from that listing is looked up by id (it finished, or is gone).
        """
        resolved, client = self.client(target)
        query = self.query
        scope = None if query.image_ids else plan.scope
        checked: frozenset[tuple[Target, str]] = frozenset()
        try:
            if query.image_ids:
                tasks = list(self._by_ids(client, resolved, query.image_ids, query))
            elif scope is None:
                tasks = list(self._listing(client, resolved, query))
            else:
                states = tuple(s for s in (query.states or sorted(scope)) if s in scope)
                narrowed = Query(query.image_ids, query.buckets, states)
                tasks = list(self._listing(client, resolved, narrowed))
                listed = {t.ami_id for t in tasks}
                missing = sorted(
                    {ami for t, ami in plan.expect if t == resolved and ami not in listed}
                )
                if missing:
                    tasks += self._by_ids(client, resolved, missing, query)
                    checked = frozenset((resolved, ami) for ami in missing)
        except Exception as exc:
            error = classify(exc, resolved)
            log.warning(
                "DescribeStoreImageTasks failed for %s: %s (code=%s request_id=%s)",
                resolved.label,
                error.kind,
                error.code,
                error.request_id,
            )
            raise error from exc
        return resolved, tasks, checked

    def _fetch_one(
        self, target: Target, plan: PollPlan
    ) -> tuple[Target, list[StoreTask], frozenset[tuple[Target, str]]] | PollFailure:
        try:
            return self.fetch_target(target, plan)
        except AwsError as error:
            return error.to_failure()
        except Exception as exc:  # a bug or an exotic failure must not kill the poll loop
            log.exception("unexpected error fetching %s", target.label)
            return classify(exc, target).to_failure()

    def fetch(self, plan: PollPlan = FULL_POLL) -> Snapshot:
        """Poll every target (concurrently when several); failures go into the snapshot.

        ``plan`` (from ``schedule.plan_poll``) may narrow the poll to some states.
        """
        if self.query.image_ids:
            plan = FULL_POLL
        if len(self.targets) == 1:
            results = [self._fetch_one(self.targets[0], plan)]
        else:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(
                    max_workers=min(8, len(self.targets)), thread_name_prefix="amimon-fetch"
                )
            results = list(self._pool.map(lambda t: self._fetch_one(t, plan), self.targets))
        tasks: list[StoreTask] = []
        covered: set[Target] = set()
        checked: set[tuple[Target, str]] = set()
        failures: list[PollFailure] = []
        for result in results:
            if isinstance(result, PollFailure):
                failures.append(result)
            else:
                covered.add(result[0])
                tasks.extend(result[1])
                checked |= result[2]
        return Snapshot(
            tuple(tasks), frozenset(covered), tuple(failures), plan.scope, frozenset(checked)
        )

    def check_permission(self, target: Target) -> Target:
        """DescribeStoreImageTasks with DryRun; returns the resolved target when permitted,
        raises ``AwsError`` (permission, credentials, network, ...) otherwise."""
        resolved, client = self.client(target)
        try:
            client.describe_store_image_tasks(DryRun=True)
        except Exception as exc:
            code = (getattr(exc, "response", None) or {}).get("Error", {}).get("Code")
            if code == "DryRunOperation":
                return resolved
            raise classify(exc, resolved) from exc
        # A real endpoint never answers a dry run with success; treat it as permitted.
        return resolved

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None

"""The task source: what one poll asks AWS for, per target, and what it got back."""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

from amimon.aws.clients import Clients, StaticCredentials
from amimon.aws.errors import AwsError, classify
from amimon.aws.images import IMAGES_BURST, IMAGES_RATE, lookup_all, lookup_images
from amimon.aws.paging import (
    STORE_TASKS_BURST,
    STORE_TASKS_RATE,
    Cancelled,
    Pacer,
    Requests,
    RetryPolicy,
    Waiter,
    pages,
    request,
)
from amimon.aws.scan import TASKS
from amimon.model import (
    FULL_POLL,
    ErrorKind,
    ImageInfo,
    ImageLookup,
    PollFailure,
    PollPlan,
    Snapshot,
    StoreTask,
    Target,
    TargetPoll,
    parse_task,
)
from amimon.records import record

if TYPE_CHECKING:
    from mypy_boto3_ec2 import EC2Client

log = logging.getLogger(__name__)

MAX_IMAGE_IDS_PER_REQUEST = 20
MAX_PAGE_SIZE = 200

DEFAULT_RETRY = RetryPolicy()

Planner = Callable[[Target], PollPlan]
PageListener = Callable[[Snapshot], None]


def full_listing(target: Target) -> PollPlan:
    return FULL_POLL


@record
class Query:
    """What to ask AWS for. ``image_ids`` narrows what is watched; ``buckets`` and
    ``states`` are server-side filters, for one-off listings only (the monitor filters in
    the view, so that a filter never hides a task's ending). Values use the API's exact,
    case-sensitive spelling; AWS ignores filters when image ids are given."""

    image_ids: tuple[str, ...] = ()
    buckets: tuple[str, ...] = ()
    states: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "image_ids", tuple(dict.fromkeys(self.image_ids)))

    def filters(self) -> list[dict[str, Any]]:
        filters: list[dict[str, Any]] = []
        if self.states:
            filters.append({"Name": "task-state", "Values": list(dict.fromkeys(self.states))})
        if self.buckets:
            filters.append({"Name": "bucket", "Values": list(dict.fromkeys(self.buckets))})
        return filters


def tasks_of(page: Mapping[str, Any], target: Target) -> list[StoreTask]:
    """A page's tasks: as the fast parser delivered them (``fastparse.deliver_tasks``), or
    made from botocore's items (a stubbed client, a body the fast parser left to botocore)."""
    tasks: list[StoreTask] | None = page.get(TASKS)
    if tasks is None:
        return [parse_task(item, target) for item in page.get("StoreImageTaskResults", ())]
    return tasks


def _chunks(items: Sequence[str], size: int) -> Iterator[Sequence[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


class Ec2TaskSource:
    """Fetches store tasks for one or more targets; the only thing that talks to AWS.

    ``fetch`` may run in any worker thread; targets are polled concurrently. Requests are
    paced per target and each page is retried where it stopped (``amimon.aws.paging``).
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
        retry: RetryPolicy = DEFAULT_RETRY,
        waiter: Waiter | None = None,
        burst: float = STORE_TASKS_BURST,
        rate: float = STORE_TASKS_RATE,
        prepare: Callable[[], None] | None = None,
    ) -> None:
        if not targets:
            raise ValueError("at least one target is needed")
        if not 1 <= page_size <= MAX_PAGE_SIZE:
            raise ValueError(f"page size must be 1-{MAX_PAGE_SIZE}, got {page_size}")
        self.targets = tuple(dict.fromkeys(targets))
        self.query = query
        self.clients = Clients(
            credentials,
            connect_timeout=connect_timeout,
            read_timeout=read_timeout,
            prepare=prepare,
        )
        self.requests = Requests()
        self.images_requests = Requests()
        self._page_size = page_size
        self._retry = retry
        self._waiter = waiter or Waiter()
        self._pacers: dict[tuple[Target, str], Pacer] = {}
        self._pace = {"tasks": (burst, rate), "images": (IMAGES_BURST, IMAGES_RATE)}
        self._pool: ThreadPoolExecutor | None = None

    # plumbing

    def set_client(self, target: Target, client: EC2Client) -> None:
        """Use ``client`` for ``target`` (tests use a stubbed client)."""
        self.clients.put(target, client)

    def resolve(self, target: Target) -> Target:
        """The target with its region filled in (creates the client if needed)."""
        return self.clients.get(target)[0]

    def _pacer(self, target: Target, family: str = "tasks") -> Pacer:
        # The budget is per account, region and API family: one pacer per profile, region,
        # endpoint and family (DescribeImages has a bucket of its own).
        key = (target, family)
        pacer = self._pacers.get(key)
        if pacer is None:
            pacer = self._pacers.setdefault(key, Pacer(*self._pace[family], self._waiter))
        return pacer

    def _pages(self, client: EC2Client, target: Target, **params: Any) -> Iterator[Any]:
        return pages(
            client.describe_store_image_tasks,
            params,
            target=target,
            pacer=self._pacer(target),
            policy=self._retry,
            waiter=self._waiter,
            counts=self.requests,
        )

    # fetching

    def _by_ids(
        self, client: EC2Client, target: Target, image_ids: Sequence[str]
    ) -> Iterator[StoreTask]:
        # AWS refuses MaxResults with ImageIds and ignores filters: chunk by 20, no page size.
        for chunk in _chunks(image_ids, MAX_IMAGE_IDS_PER_REQUEST):
            for page in self._pages(client, target, ImageIds=list(chunk)):
                yield from tasks_of(page, target)

    def _listing(
        self,
        client: EC2Client,
        target: Target,
        filters: list[dict[str, Any]],
        on_page: PageListener | None,
    ) -> list[StoreTask]:
        params: dict[str, Any] = {"MaxResults": self._page_size}
        if filters:
            params["Filters"] = filters
        tasks: list[StoreTask] = []
        for page in self._pages(client, target, **params):
            found = tasks_of(page, target)
            tasks += found
            if on_page is not None and page.get("NextToken"):
                on_page(Snapshot((TargetPoll(target, tuple(found), partial=True),)))
        return tasks

    def fetch_target(
        self, target: Target, plan: Planner = full_listing, on_page: PageListener | None = None
    ) -> TargetPoll:
        """What one target answers to its plan; raises ``AwsError``.

        With image ids, every task of those AMIs. Otherwise a full listing, or with a
        scoped plan only the tasks in the plan's states, then a look-up by id of each
        expected AMI the listing missed (it finished, or is gone).
        """
        resolved, client = self.clients.get(target)
        query = self.query
        try:
            if query.image_ids:
                tasks = list(self._by_ids(client, resolved, query.image_ids))
                return TargetPoll(resolved, tuple(tasks), frozenset(), frozenset(query.image_ids))
            wanted = plan(resolved)
            if wanted.scope is None:
                tasks = self._listing(client, resolved, query.filters(), on_page)
                return TargetPoll(resolved, tuple(tasks))
            scope = sorted(wanted.scope)
            filters = [{"Name": "task-state", "Values": scope}]
            tasks = self._listing(client, resolved, filters, None)
            listed = {t.ami_id for t in tasks}
            missing = sorted(ami for ami in wanted.expect if ami not in listed)
            tasks += self._by_ids(client, resolved, missing)
            return TargetPoll(resolved, tuple(tasks), wanted.scope, frozenset(missing))
        except Cancelled:
            raise
        except AwsError as error:
            log.warning(
                "DescribeStoreImageTasks failed for %s: %s: %s (code=%s request_id=%s)",
                resolved.label,
                error.kind,
                error.message,
                error.code,
                error.request_id,
            )
            raise
        except Exception as exc:
            raise classify(exc, resolved) from exc

    def _fetch_one(
        self, target: Target, plan: Planner, on_page: PageListener | None
    ) -> TargetPoll | PollFailure:
        try:
            return self.fetch_target(target, plan, on_page)
        except AwsError as error:
            return error.to_failure()
        except Cancelled:
            return PollFailure(ErrorKind.UNKNOWN, "Cancelled: amimon is closing", target)
        except Exception as exc:  # a bug or an exotic failure must not kill the poll loop
            log.exception("unexpected error fetching %s", target.label)
            return classify(exc, target).to_failure()

    def fetch(self, plan: Planner = full_listing, on_page: PageListener | None = None) -> Snapshot:
        """Poll every target (concurrently when several); failures go into the snapshot.

        ``plan`` (from ``schedule.planner``) says per resolved target what to ask for;
        ``on_page`` hears each page of a long listing as it arrives (a partial snapshot).
        """
        if len(self.targets) == 1:
            results = [self._fetch_one(self.targets[0], plan, on_page)]
        else:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(
                    max_workers=min(8, len(self.targets)), thread_name_prefix="amimon-fetch"
                )
            results = list(
                self._pool.map(lambda t: self._fetch_one(t, plan, on_page), self.targets)
            )
        polls = tuple(r for r in results if isinstance(r, TargetPoll))
        failures = tuple(r for r in results if isinstance(r, PollFailure))
        return Snapshot(polls, failures)

    def _images_of(self, target: Target, amis: Collection[str]) -> list[ImageInfo]:
        resolved, client = self.clients.get(target)
        return lookup_images(
            client,
            resolved,
            amis,
            pacer=self._pacer(resolved, "images"),
            policy=self._retry,
            waiter=self._waiter,
            counts=self.images_requests,
        )

    def describe_images(self, wanted: Mapping[Target, Collection[str]]) -> ImageLookup:
        """Names and sizes of the AMIs wanted per (resolved) target; AMIs that no longer
        exist come back with ``found`` False. Never raises: a target that may not call
        DescribeImages, or fails, is a failure in the result."""
        try:
            return lookup_all(wanted, self._images_of)
        except Cancelled:
            return ImageLookup()

    def check_images_permission(self, target: Target) -> Target:
        """DescribeImages with DryRun, once: the optional permission for names and sizes."""
        resolved, client = self.clients.get(target)
        try:
            request(
                client.describe_images,
                {"DryRun": True, "Owners": ["self"]},
                target=resolved,
                pacer=self._pacer(resolved, "images"),
                policy=RetryPolicy(attempts=1),
                waiter=self._waiter,
                counts=self.images_requests,
                action="DescribeImages",
            )
        except AwsError as error:
            if error.code == "DryRunOperation":
                return resolved
            raise
        return resolved

    def count_unfiltered(self) -> tuple[int, bool]:
        """How many tasks one unfiltered page holds, over all targets, and whether there
        are more: one request per target, to say how many tasks a filter hid."""
        count, more = 0, False
        for target in self.targets:
            try:
                resolved, client = self.clients.get(target)
                page = request(
                    client.describe_store_image_tasks,
                    {"MaxResults": MAX_PAGE_SIZE},
                    target=resolved,
                    pacer=self._pacer(resolved),
                    policy=self._retry,
                    waiter=self._waiter,
                    counts=self.requests,
                )
            except (AwsError, Cancelled):
                continue
            tasks = page.get(TASKS)
            count += len(page.get("StoreImageTaskResults", ()) if tasks is None else tasks)
            more |= bool(page.get("NextToken"))
        return count, more

    def check_permission(self, target: Target) -> Target:
        """DescribeStoreImageTasks with DryRun, once; returns the resolved target when
        permitted, raises ``AwsError`` (permission, credentials, network, ...) otherwise."""
        resolved, client = self.clients.get(target)
        try:
            request(
                client.describe_store_image_tasks,
                {"DryRun": True},
                target=resolved,
                pacer=self._pacer(resolved),
                policy=RetryPolicy(attempts=1),
                waiter=self._waiter,
                counts=self.requests,
            )
        except AwsError as error:
            if error.code == "DryRunOperation":
                return resolved
            raise
        # A real endpoint never answers a dry run with success; treat it as permitted.
        return resolved

    def close(self) -> None:
        """Stop: wake any request waiting its turn, and release the worker threads."""
        self._waiter.stop.set()
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None

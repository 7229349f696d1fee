"""DescribeStoreImageTasks and CreateStoreImageTask, following AWS's rules.

31-day window, newest first, 1-200 page size, at most 20 image ids, filters ignored with
image ids, MaxResults refused with image ids, opaque page tokens, DryRun.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from datetime import datetime

from amimon.model import AMI_ID_RE, KNOWN_STATES, iso_ms
from amimon.sim.protocol import (
    ApiError,
    check_dry_run,
    filters,
    indexed,
    page_size,
    response_xml,
    x,
)
from amimon.sim.spec import TaskStatus
from amimon.sim.world import Simulator

MAX_RESULTS = 200
MAX_IMAGE_IDS = 20
FILTER_NAMES = ("task-state", "bucket")


def malformed(ami: str) -> ApiError:
    return ApiError("InvalidAMIID.Malformed", f'Invalid id: "{ami}" (expecting "ami-...")')


def _task_filters(params: Mapping[str, str]) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for name, values in filters(params, FILTER_NAMES):
        if name == "task-state":
            for value in values:
                if value not in KNOWN_STATES:
                    raise ApiError(
                        "InvalidParameterValue",
                        f"The filter value '{value}' is invalid for filter 'task-state'",
                    )
        # Within a filter values are OR'ed; a name given twice is AND'ed.
        found[name] = found[name] & set(values) if name in found else set(values)
    return found


def describe(sim: Simulator, params: Mapping[str, str], region: str) -> str:
    image_ids = indexed(params, "ImageId")
    for ami in image_ids:
        if not AMI_ID_RE.match(ami):
            raise malformed(ami)
    if len(image_ids) > MAX_IMAGE_IDS:
        raise ApiError(
            "InvalidParameterValue",
            f"A maximum of {MAX_IMAGE_IDS} image IDs can be specified per request.",
        )
    if image_ids and params.get("MaxResults") is not None:
        raise ApiError(
            "InvalidParameterCombination",
            "The parameter ImageIds cannot be used with the parameter MaxResults",
        )
    size = page_size(params, MAX_RESULTS, MAX_RESULTS)
    found = _task_filters(params)
    check_dry_run(params)
    now = sim.clock.now()
    if image_ids:
        wanted = set(image_ids)
        return _describe_xml([t for t in sim.tasks(region, now) if t.spec.ami_id in wanted], None)
    query = json.dumps(sorted((k, sorted(v)) for k, v in found.items()))
    before = None
    token = params.get("NextToken")
    if token:
        when, ami = sim.tokens.read(token, query)
        try:
            before = (datetime.fromisoformat(when), ami)
        except ValueError:
            raise ApiError(
                "InvalidParameterValue", "The specified NextToken is not valid."
            ) from None
    # Keyset paging: only tasks older than the last one sent, so a task that starts
    # meanwhile shifts nothing and repeats nothing.
    states, buckets = found.get("task-state"), found.get("bucket")
    page: list[TaskStatus] = []
    more = False
    for task in sim.tasks(region, now, before):
        if (states is None or task.state in states) and (
            buckets is None or task.spec.bucket in buckets
        ):
            if len(page) == size:
                more = True
                break
            page.append(task)
    next_token = None
    if more:
        last = page[-1]
        next_token = sim.tokens.make([last.start_time.isoformat(), last.spec.ami_id], query)
    return _describe_xml(page, next_token)


def create(sim: Simulator, params: Mapping[str, str], region: str) -> str:
    ami = params.get("ImageId", "")
    bucket = params.get("Bucket", "")
    if not ami or not bucket:
        raise ApiError("MissingParameter", "ImageId and Bucket are required.")
    if not AMI_ID_RE.match(ami):
        raise malformed(ami)
    check_dry_run(params)
    spec = sim.create(region, ami, bucket)
    return response_xml("CreateStoreImageTask", f"<objectKey>{x(spec.key)}</objectKey>")


def _describe_xml(tasks: Iterable[TaskStatus], next_token: str | None) -> str:
    parts = ["<storeImageTaskResultSet>"]
    for t in tasks:
        parts.append(
            f"<item><amiId>{x(t.spec.ami_id)}</amiId>"
            f"<taskStartTime>{iso_ms(t.start_time)}</taskStartTime>"
            f"<bucket>{x(t.spec.bucket)}</bucket><s3objectKey>{x(t.spec.key)}</s3objectKey>"
            f"<progressPercentage>{t.progress}</progressPercentage>"
            f"<storeTaskState>{x(t.state)}</storeTaskState>"
        )
        if t.reason:
            parts.append(f"<storeTaskFailureReason>{x(t.reason)}</storeTaskFailureReason>")
        parts.append("</item>")
    parts.append("</storeImageTaskResultSet>")
    if next_token:
        parts.append(f"<nextToken>{x(next_token)}</nextToken>")
    return response_xml("DescribeStoreImageTasks", "".join(parts))

"""AMI details from DescribeImages: names and sizes, looked up once per AMI, in batches.

Many AMIs are deregistered right after they are stored (that is what archiving is for),
and DescribeImages with ``ImageIds`` fails the whole request with
``InvalidAMIID.NotFound`` if any id no longer exists. So AMIs are asked for with the
``image-id`` filter, where a missing id is simply absent, and shown as deregistered.
The permission is optional: without it amimon works as before, minus these columns.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from amimon.aws.errors import AwsError
from amimon.aws.paging import Pacer, Requests, RetryPolicy, Waiter, pages
from amimon.model import ErrorKind, ImageInfo, ImageLookup, PollFailure, Target, parse_image

if TYPE_CHECKING:
    from mypy_boto3_ec2 import EC2Client

# AWS's documented bucket for DescribeImages (the Describe family): 100 burst, 20/s.
IMAGES_BURST = 50.0
IMAGES_RATE = 10.0
# Values per image-id filter in one request; each request returns up to 1,000 images.
IDS_PER_REQUEST = 100
ACTION = "DescribeImages"


def _chunks(items: Sequence[str], size: int) -> Iterator[Sequence[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def denied_message(target: Target) -> str:
    return (
        f"AMI names and sizes need ec2:DescribeImages{_where(target)}, which this identity "
        "lacks; amimon works without it (the permission is optional)"
    )


def _where(target: Target) -> str:
    from amimon.aws.errors import where

    return where(target)


def lookup_images(
    client: EC2Client,
    target: Target,
    amis: Collection[str],
    *,
    pacer: Pacer,
    policy: RetryPolicy,
    waiter: Waiter,
    counts: Requests,
) -> list[ImageInfo]:
    """ImageInfo for each of ``amis`` (not-found ones included); raises ``AwsError``."""
    wanted = sorted(set(amis))
    found: dict[str, ImageInfo] = {}
    for chunk in _chunks(wanted, IDS_PER_REQUEST):
        params: dict[str, Any] = {
            "Filters": [{"Name": "image-id", "Values": list(chunk)}],
            "IncludeDeprecated": True,
            "MaxResults": 1000,
        }
        for page in pages(
            client.describe_images,
            params,
            target=target,
            pacer=pacer,
            policy=policy,
            waiter=waiter,
            counts=counts,
            action=ACTION,
        ):
            for item in page.get("Images", ()):
                image = parse_image(item, target)
                if image.ami_id in chunk:
                    found[image.ami_id] = image
    return [found.get(ami) or ImageInfo(target, ami, found=False) for ami in wanted]


def lookup_all(
    wanted: Mapping[Target, Collection[str]],
    lookup: Callable[[Target, Collection[str]], list[ImageInfo]],
) -> ImageLookup:
    """Look up each target's AMIs; a denied or failing target becomes a failure."""
    images: list[ImageInfo] = []
    failures: list[PollFailure] = []
    for target, amis in wanted.items():
        if not amis:
            continue
        try:
            images += lookup(target, amis)
        except AwsError as error:
            if error.kind is ErrorKind.PERMISSION:
                failures.append(
                    PollFailure(
                        ErrorKind.PERMISSION, denied_message(target), target, code=error.code
                    )
                )
            else:
                failures.append(error.to_failure())
    return ImageLookup(tuple(images), tuple(failures))

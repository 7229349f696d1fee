"""DescribeImages as EC2 answers it for the images of one account.

``ImageId.N`` (any missing or deregistered id fails the whole request with
``InvalidAMIID.NotFound`` naming them), ``Owner.N``, ``ExecutableBy.N``, ``Filter.N`` with
``*`` and ``?`` wildcards, ``MaxResults`` (1-1000, not with image ids) and ``NextToken``
(without ``MaxResults`` everything comes in one answer, as EC2's unpaginated call does),
``DryRun``. Deregistered images are not returned.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping, Sequence

from amimon.model import AMI_ID_RE, iso_ms
from amimon.sim.images import Image
from amimon.sim.protocol import (
    ApiError,
    check_dry_run,
    filters,
    indexed,
    page_size,
    response_xml,
    x,
    xbool,
)
from amimon.sim.tasks_api import malformed
from amimon.sim.world import Simulator, not_found

MAX_RESULTS = 1000
_ACCOUNT = re.compile(r"^\d{12}$")
_OWNER_ALIASES = ("self", "amazon", "aws-marketplace", "aws-backup-vault")

_FIELDS: Mapping[str, Callable[[Image], Sequence[str]]] = {
    "image-id": lambda i: [i.ami_id],
    "name": lambda i: [i.name],
    "description": lambda i: [i.description],
    "architecture": lambda i: [i.architecture],
    "owner-id": lambda i: [i.owner],
    "state": lambda i: ["available"],
    "image-type": lambda i: ["machine"],
    "is-public": lambda i: ["false"],
    "platform": lambda i: ["windows"] if i.windows else [],
    "root-device-type": lambda i: ["ebs"],
    "root-device-name": lambda i: [i.root_device],
    "virtualization-type": lambda i: ["hvm"],
    "hypervisor": lambda i: ["xen"],
    "creation-date": lambda i: [iso_ms(i.created)],
    "block-device-mapping.device-name": lambda i: [v.device for v in i.volumes],
    "block-device-mapping.snapshot-id": lambda i: [v.snapshot_id for v in i.volumes],
    "block-device-mapping.volume-size": lambda i: [str(v.size) for v in i.volumes],
    "block-device-mapping.volume-type": lambda i: [v.volume_type for v in i.volumes],
    "block-device-mapping.encrypted": lambda i: [xbool(v.encrypted) for v in i.volumes],
    "block-device-mapping.delete-on-termination": lambda i: [
        xbool(v.delete_on_termination) for v in i.volumes
    ],
}


def _wildcard(value: str) -> re.Pattern[str]:
    """EC2's filter values: ``*`` any run, ``?`` one character, ``\\`` escapes them."""
    out, chars = [], iter(value)
    for char in chars:
        if char == "\\":
            out.append(re.escape(next(chars, "\\")))
        else:
            out.append({"*": ".*", "?": "."}.get(char, re.escape(char)))
    return re.compile("".join(out), re.DOTALL)


def _users(params: Mapping[str, str], prefix: str, allowed: Sequence[str]) -> list[str]:
    values = indexed(params, prefix)
    for value in values:
        if value not in allowed and not _ACCOUNT.match(value):
            raise ApiError("InvalidUserID.Malformed", f"User ID '{value}' is invalid")
    return values


def describe(sim: Simulator, params: Mapping[str, str], region: str) -> str:
    image_ids = list(dict.fromkeys(indexed(params, "ImageId")))
    for ami in image_ids:
        if not AMI_ID_RE.match(ami):
            raise malformed(ami)
    owners = _users(params, "Owner", _OWNER_ALIASES)
    executable = _users(params, "ExecutableBy", ("self", "all"))
    if image_ids and params.get("MaxResults") is not None:
        raise ApiError(
            "InvalidParameterCombination",
            "The parameter ImageIds cannot be used with the parameter MaxResults",
        )
    size = page_size(params, 0, MAX_RESULTS)
    wanted = [
        (name, [_wildcard(v) for v in values]) for name, values in filters(params, list(_FIELDS))
    ]
    check_dry_run(params)

    if image_ids:
        found = {ami: sim.image(region, ami) for ami in image_ids}
        missing = [ami for ami, image in found.items() if image is None or image.deregistered]
        if missing:
            raise not_found(missing)
        images = sorted((i for i in found.values() if i is not None), key=lambda i: i.ami_id)
    else:
        images = [i for i in sim.images(region) if not i.deregistered]
    if owners:
        ids = {sim.account if o == "self" else o for o in owners}
        images = [i for i in images if i.owner in ids]
    if executable:
        # Launch permissions: "self" (or one's own id) means AMIs shared with the caller;
        # nothing here is public, and the caller shares nothing with other accounts.
        shared = {"self", sim.account} & set(executable)
        images = [i for i in images if shared and i.owner != sim.account]
    for name, patterns in wanted:
        field = _FIELDS[name]
        images = [i for i in images if any(p.fullmatch(v) for v in field(i) for p in patterns)]

    query = json.dumps([sorted(owners), sorted(executable), filters(params, list(_FIELDS))])
    token = params.get("NextToken")
    if token:
        (after,) = sim.tokens.read(token, query)
        images = [i for i in images if i.ami_id > after]
    next_token = None
    if size and len(images) > size:
        images = images[:size]
        next_token = sim.tokens.make([images[-1].ami_id], query)
    return _describe_xml(images, next_token)


def _volume_xml(image: Image) -> str:
    parts = []
    for v in image.volumes:
        iops = {"gp3": 3000, "io2": 10000}.get(v.volume_type)
        parts.append(
            f"<item><deviceName>{v.device}</deviceName><ebs>"
            f"<deleteOnTermination>{xbool(v.delete_on_termination)}</deleteOnTermination>"
            + (f"<iops>{iops}</iops>" if iops else "")
            + f"<snapshotId>{v.snapshot_id}</snapshotId><volumeSize>{v.size}</volumeSize>"
            f"<volumeType>{v.volume_type}</volumeType>"
            + ("<throughput>125</throughput>" if v.volume_type == "gp3" else "")
            + f"<encrypted>{xbool(v.encrypted)}</encrypted></ebs></item>"
        )
    return "".join(parts)


def _boot_mode(image: Image) -> str:
    if image.architecture == "arm64":
        return "uefi"
    return "legacy-bios" if image.windows else "uefi-preferred"


def _image_xml(i: Image) -> str:
    platform = "<platform>windows</platform>" if i.windows else ""
    return (
        f"<item><imageId>{x(i.ami_id)}</imageId>"
        f"<imageLocation>{x(i.owner)}/{x(i.name)}</imageLocation>"
        f"<imageState>available</imageState><imageOwnerId>{x(i.owner)}</imageOwnerId>"
        f"<creationDate>{iso_ms(i.created)}</creationDate><isPublic>false</isPublic>"
        f"<architecture>{x(i.architecture)}</architecture><imageType>machine</imageType>"
        f"{platform}"
        f"<platformDetails>{'Windows' if i.windows else 'Linux/UNIX'}</platformDetails>"
        f"<usageOperation>{'RunInstances:0002' if i.windows else 'RunInstances'}</usageOperation>"
        f"<name>{x(i.name)}</name><description>{x(i.description)}</description>"
        f"<rootDeviceType>ebs</rootDeviceType><rootDeviceName>{i.root_device}</rootDeviceName>"
        f"<blockDeviceMapping>{_volume_xml(i)}</blockDeviceMapping>"
        "<virtualizationType>hvm</virtualizationType><hypervisor>xen</hypervisor>"
        "<enaSupport>true</enaSupport><sriovNetSupport>simple</sriovNetSupport>"
        f"<bootMode>{_boot_mode(i)}</bootMode>"
        "<imdsSupport>v2.0</imdsSupport><deregistrationProtection>disabled</deregistrationProtection>"
        "</item>"
    )


def _describe_xml(images: list[Image], next_token: str | None) -> str:
    body = "<imagesSet>" + "".join(_image_xml(i) for i in images) + "</imagesSet>"
    if next_token:
        body += f"<nextToken>{x(next_token)}</nextToken>"
    return response_xml("DescribeImages", body)

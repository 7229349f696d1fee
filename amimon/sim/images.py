"""AMIs in the simulated account: a scenario's facts, the rest derived from the AMI id's hash."""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta

from amimon.records import record
from amimon.sim.spec import ImageSpec

_ROOT_SIZES = (8, 8, 8, 10, 16, 20, 30, 30, 50, 64, 100)
_DATA_SIZES = (16, 32, 50, 64, 100, 100, 128, 200, 250, 500, 512, 1000, 1024, 2048)
_VOLUME_COUNTS = (1, 1, 1, 1, 1, 2, 2, 2, 3, 4)  # most AMIs have one volume
_MAX_IMAGE_GIB = 5000  # AWS stores AMIs of up to 5,000 GB
_APPS = (
    "web-frontend",
    "payments-api",
    "checkout-service",
    "search-indexer",
    "batch-worker",
    "auth-gateway",
    "reporting-etl",
    "inventory-api",
    "media-transcoder",
    "kafka-broker",
    "jenkins-agent",
    "grafana",
)
_ENVS = ("prod", "staging", "dev", "qa")
_BASES = ("ubuntu-24.04", "ubuntu-22.04", "al2023", "rhel-9.4", "debian-12", "windows-2022")


def _digest(*parts: str) -> bytes:
    return hashlib.sha256("/".join(parts).encode()).digest()


def snapshot_id(ami_id: str, index: int) -> str:
    """The id of the snapshot behind volume ``index`` (0: the root) of an AMI."""
    return "snap-0" + _digest(ami_id, "snapshot", str(index)).hex()[:16]


@record
class Volume:
    """One EBS block device mapping of an image."""

    device: str
    snapshot_id: str
    size: int  # GiB
    volume_type: str
    delete_on_termination: bool
    encrypted: bool


@record
class Image:
    """An AMI as DescribeImages reports it."""

    ami_id: str
    name: str
    description: str
    architecture: str
    owner: str
    created: datetime
    volumes: tuple[Volume, ...]
    deregistered: bool = False

    @property
    def windows(self) -> bool:
        return "win" in self.name.lower()

    @property
    def size(self) -> int:
        """The snapshot data behind the image, in GiB."""
        return sum(v.size for v in self.volumes)

    @property
    def root_device(self) -> str:
        return self.volumes[0].device


def default_volumes(ami_id: str, windows: bool = False) -> tuple[int, ...]:
    """One to four volume sizes in GiB, 8 to 2048 each, the same for the same AMI id."""
    h = _digest(ami_id, "volumes")
    count = _VOLUME_COUNTS[h[0] % len(_VOLUME_COUNTS)]
    root = _ROOT_SIZES[h[1] % len(_ROOT_SIZES)]
    sizes = [max(root, 30) if windows else root]
    sizes += [_DATA_SIZES[h[2 + i] % len(_DATA_SIZES)] for i in range(count - 1)]
    while sum(sizes) > _MAX_IMAGE_GIB:
        sizes[sizes.index(max(sizes))] = 1000
    return tuple(sizes)


def _default_name(ami_id: str, architecture: str, created: datetime) -> str:
    h = _digest(ami_id, "name")
    app, env = _APPS[h[0] % len(_APPS)], _ENVS[h[1] % len(_ENVS)]
    base = _BASES[h[2] % len(_BASES)]
    kind = h[3] % 4
    if kind == 0:
        return f"{app}-{created:%Y.%m.%d}-{architecture}"
    if kind == 1:
        return f"{app}-{env}-{created:%Y%m%d}"
    if kind == 2:
        return f"{base}-base-hardened-v{10 + h[4] % 60}"
    return f"{app}-{env}-golden-{created:%Y%m%d-%H%M}"


def _default_description(name: str, created: datetime) -> str:
    if "base-hardened" in name:
        return f"CIS level 1 hardened base image, built {created:%Y-%m-%d}"
    return f"{name.split('-20')[0]} image built by Packer on {created:%Y-%m-%d}"


def resolve_image(
    ami_id: str,
    facts: ImageSpec | None,
    account: str,
    first_stored: datetime,
) -> Image:
    """The image behind ``ami_id``: ``facts`` where given, the rest from the id's hash.

    It was created a few days to a few months before ``first_stored``.
    """
    facts = facts or ImageSpec(ami_id)
    h = _digest(ami_id, "image")
    created = first_stored - timedelta(hours=6 + int.from_bytes(h[:4]) % (120 * 24))
    created = created.replace(microsecond=(created.microsecond // 1000) * 1000)
    architecture = facts.architecture or ("arm64" if h[4] % 4 == 0 else "x86_64")
    name = facts.name or _default_name(ami_id, architecture, created)
    description = (
        facts.description if facts.description is not None else _default_description(name, created)
    )
    windows = "win" in name.lower()
    sizes = facts.volumes or default_volumes(ami_id, windows)
    root = "/dev/sda1" if windows or name.startswith("ubuntu") else "/dev/xvda"
    volumes = tuple(
        Volume(
            device=root if i == 0 else f"/dev/sd{'fghijk'[i - 1]}",
            snapshot_id=snapshot_id(ami_id, i),
            size=size,
            volume_type=("gp3", "gp3", "gp3", "gp2", "io2")[h[5 + i] % 5],
            delete_on_termination=i == 0 or h[9 + i] % 2 == 0,
            encrypted=h[13 + i] % 5 < 2,
        )
        for i, size in enumerate(sizes)
    )
    return Image(
        ami_id=ami_id,
        name=name,
        description=description,
        architecture=architecture,
        owner=facts.owner or account,
        created=created,
        volumes=volumes,
        deregistered=facts.deregistered,
    )

"""The built-in demo: what an account that archives its AMIs to S3 looks like."""

from __future__ import annotations

import hashlib
from datetime import timedelta

from amimon.sim.images import snapshot_id
from amimon.sim.spec import ImageSpec, Scenario, TaskSpec

ARCHIVE, DR, MIGRATION = "ami-archive-prod", "dr-ami-backups-use1", "migration-staging"
EU_DR, EU_BUCKET = "dr-ami-backups-euw1", "ami-archive-eu-west-1"
SHARING_ACCOUNT = "444455556666"  # the platform team's account, which shares its base image
STORE_QUOTA_GIB = 1200  # snapshot data that in-progress store tasks may total per account


def _ami(n: int) -> str:
    return "ami-0" + hashlib.sha256(f"amimon-demo-{n}".encode()).hexdigest()[:16]


# name, description, architecture, volume sizes in GiB (root first)
_IMAGES: dict[int, tuple[str, str, str, tuple[int, ...]]] = {
    1: (
        "web-frontend-2026.11.03-x86_64",
        "Web frontend (nginx, Node.js 22), built by Packer",
        "x86_64",
        (30,),
    ),
    2: (
        "payments-api-prod-20261101",
        "Payments API, production release 2026.11.01",
        "arm64",
        (50, 100),
    ),
    3: (
        "legacy-erp-win2019-golden",
        "Legacy ERP on Windows Server 2019, golden image",
        "x86_64",
        (80, 50, 60, 60),
    ),
    4: (
        "ubuntu-24.04-base-hardened-v37",
        "Ubuntu 24.04 LTS base, CIS level 1 hardened",
        "x86_64",
        (8,),
    ),
    5: (
        "data-pipeline-spark-3.5-20261028",
        "Spark 3.5 workers for the nightly data pipeline",
        "arm64",
        (20, 100),
    ),
    6: (
        "jenkins-agent-2026.10.30-arm64",
        "Jenkins build agent with Docker and JDK 21",
        "arm64",
        (50,),
    ),
    7: (
        "postgres-14-primary-2026-10-28",
        "PostgreSQL 14 primary with its data volume",
        "x86_64",
        (16, 64),
    ),
    8: (
        "search-indexer-prod-20261020",
        "Search indexer (OpenSearch ingest workers)",
        "x86_64",
        (64,),
    ),
    9: (
        "auth-gateway-2026.11.04-x86_64",
        "Auth gateway (Envoy with the OIDC filter)",
        "x86_64",
        (16,),
    ),
    10: ("reporting-etl-prod-20261104", "Reporting ETL workers, production", "x86_64", (30, 200)),
    11: (
        "checkout-service-prod-20261015",
        "Checkout service, production release 2026.10.15",
        "x86_64",
        (8, 80),
    ),
    12: (
        "grafana-10.4-2026.10.25-x86_64",
        "Grafana 10.4 with the team dashboards",
        "x86_64",
        (20,),
    ),
    13: (
        "kafka-broker-prod-20261012",
        "Kafka broker, production, with two log volumes",
        "x86_64",
        (16, 500, 500),
    ),
    14: (
        "platform-al2023-base-cis-v12",
        "Amazon Linux 2023 base shared by the platform team",
        "x86_64",
        (8,),
    ),
    15: (
        "media-transcoder-2026.10.02-x86_64",
        "Media transcoder (FFmpeg 7) with scratch space",
        "x86_64",
        (30, 250),
    ),
    16: (
        "analytics-warehouse-2026-09-30",
        "Analytics warehouse node, 2 TiB data volume",
        "x86_64",
        (16, 2048),
    ),
    18: ("inventory-api-prod-20260925", "Inventory API, production", "arm64", (8, 50)),
    19: (
        "windows-2022-iis-base-v14",
        "Windows Server 2022 with IIS, base image",
        "x86_64",
        (50, 100),
    ),
    20: ("batch-worker-staging-20260919", "Batch worker, staging", "arm64", (8,)),
    21: ("crm-frontend-2026.09.15-x86_64", "CRM frontend, built by Packer", "x86_64", (30,)),
    22: ("redis-7-cache-node-v9", "Redis 7 cache node", "arm64", (8,)),
    23: (
        "web-frontend-2026.08.20-x86_64",
        "Web frontend (nginx, Node.js 20), built by Packer",
        "x86_64",
        (30,),
    ),
    24: (
        "oracle-db-19c-migration-2026-08-14",
        "Oracle 19c, copied for the migration",
        "x86_64",
        (100, 1024, 1024),
    ),
    25: (
        "payments-api-prod-20260805",
        "Payments API, production release 2026.08.05",
        "arm64",
        (50, 100),
    ),
    26: (
        "auth-gateway-2026.08.01-x86_64",
        "Auth gateway (Envoy with the OIDC filter)",
        "x86_64",
        (16,),
    ),
    27: (
        "legacy-erp-win2016-golden",
        "Legacy ERP on Windows Server 2016, golden image",
        "x86_64",
        (80, 200),
    ),
    28: (
        "search-indexer-prod-20260715",
        "Search indexer (OpenSearch ingest workers)",
        "x86_64",
        (64,),
    ),
    29: (
        "web-frontend-eu-2026.11.02-x86_64",
        "Web frontend for eu-west-1, built by Packer",
        "x86_64",
        (30,),
    ),
    30: (
        "checkout-service-eu-prod-20261020",
        "Checkout service for eu-west-1, production",
        "x86_64",
        (8, 80),
    ),
}
# Archived to S3, then deregistered: the point of archiving.
_DEREGISTERED = {23, 25, 27, 28}
_SHARED_WITH_US = {14}


def _snapshot_deleted(n: int, volume: int) -> str:
    return (
        f"Snapshot {snapshot_id(_ami(n), volume)} of the AMI was deleted while the store task "
        "was in progress. Keep an AMI's snapshots until its store task completes, then store "
        "the AMI again."
    )


def _snapshot_inaccessible(n: int) -> str:
    return (
        f"Snapshot {snapshot_id(_ami(n), 0)} of the AMI is no longer accessible. Check the "
        "snapshot's permissions and, if it is encrypted, the KMS key that encrypts it."
    )


def _policy_denies(bucket: str) -> str:
    return f"Access Denied: the bucket policy of {bucket} does not allow s3:PutObject."


def _other_region(bucket: str, where: str, region: str) -> str:
    return (
        f"The bucket {bucket} is in {where}. The bucket must be in the Region in which the "
        f"store task is created ({region})."
    )


def _already_stored(n: int, bucket: str) -> str:
    return f"{_ami(n)} is already stored in bucket {bucket}."


def _images() -> tuple[ImageSpec, ...]:
    return tuple(
        ImageSpec(
            _ami(n),
            name=name,
            description=description,
            architecture=architecture,
            volumes=volumes,
            deregistered=n in _DEREGISTERED,
            owner=SHARING_ACCOUNT if n in _SHARED_WITH_US else None,
        )
        for n, (name, description, architecture, volumes) in _IMAGES.items()
    )


def default_scenario() -> Scenario:
    """The demo: 30 tasks over three buckets in us-east-1 and one in eu-west-1.

    At the start, the in-progress tasks of us-east-1 hold 840 GiB of snapshot data, 70% of
    the 1,200 GiB store quota. In the first ~40 s two tasks complete and one fails; one
    starts at +20 s and one at +75 s. One AMI failed three days ago and was stored again;
    finished tasks spread over 30 days and one older than 31 days is never returned. Four
    AMIs were deregistered after they were archived; one belongs to another account that
    shares it with this one. Failure reasons are of the kinds AWS documents.
    """
    m, h, d = timedelta(minutes=1), timedelta(hours=1), timedelta(days=1)
    s = timedelta(seconds=1)
    a = _ami
    specs = [
        # Running now (840 GiB); two finish and one fails within the first ~40 s.
        TaskSpec(a(1), ARCHIVE, -(29 * m + 35 * s), 30 * m),
        TaskSpec(a(2), DR, -(19 * m + 25 * s), 20 * m),
        TaskSpec(a(3), MIGRATION, -(10 * m + 30 * s), 30 * m, 37, _snapshot_deleted(3, 2)),
        TaskSpec(a(4), ARCHIVE, -12 * m, 25 * m),
        TaskSpec(a(5), ARCHIVE, -3 * m, 9 * m),
        TaskSpec(a(6), DR, -40 * m, 70 * m),
        TaskSpec(a(7), MIGRATION, -2 * m, 40 * m),
        TaskSpec(a(8), ARCHIVE, -5 * m, 15 * m, 62, _snapshot_inaccessible(8)),
        # Started during the demo.
        TaskSpec(a(9), DR, 20 * s, 6 * m),
        TaskSpec(a(10), ARCHIVE, 75 * s, 12 * m),
        # Failed three days ago (the bucket policy), stored again an hour ago.
        TaskSpec(a(11), DR, -3 * d, 2 * h, 2, _policy_denies(DR)),
        TaskSpec(a(11), DR, -1 * h, 90 * m),
        # Days ago.
        TaskSpec(a(12), ARCHIVE, -1 * d, 50 * m),
        TaskSpec(a(13), ARCHIVE, -2 * d, 35 * m),
        TaskSpec(a(14), DR, -2 * d - 3 * h, 2 * h),
        TaskSpec(a(15), MIGRATION, -4 * d, 25 * m),
        TaskSpec(a(16), ARCHIVE, -5 * d, 3 * h),
        TaskSpec(a(21), ARCHIVE, -6 * d, 40 * m, 0, _already_stored(21, ARCHIVE)),
        TaskSpec(a(18), DR, -7 * d, 55 * m),
        TaskSpec(a(19), ARCHIVE, -9 * d, 80 * m),
        TaskSpec(
            a(20), EU_BUCKET, -11 * d, 20 * m, 0, _other_region(EU_BUCKET, "eu-west-1", "us-east-1")
        ),
        TaskSpec(a(21), ARCHIVE, -13 * d, 65 * m),
        TaskSpec(a(22), DR, -16 * d, 45 * m),
        TaskSpec(a(23), ARCHIVE, -19 * d, 30 * m),
        TaskSpec(a(24), MIGRATION, -22 * d, 2 * h),
        TaskSpec(a(25), ARCHIVE, -25 * d, 75 * m),
        TaskSpec(a(26), DR, -28 * d, 50 * m),
        TaskSpec(a(27), ARCHIVE, -30 * d, 40 * m),
        # Older than 31 days: never returned.
        TaskSpec(a(28), ARCHIVE, -35 * d, 1 * h),
        # In another region, seen with --region eu-west-1.
        TaskSpec(a(29), EU_DR, -15 * m, 45 * m, region="eu-west-1"),
        TaskSpec(a(30), EU_DR, -3 * d, 1 * h, region="eu-west-1"),
    ]
    return Scenario(tuple(specs), _images())

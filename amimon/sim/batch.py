"""Many store tasks from a few numbers: the meaning of a scenario's ``[[batch]]`` table."""

from __future__ import annotations

import hashlib
from datetime import timedelta

from amimon.records import record
from amimon.sim.spec import DEFAULT_REGION, TaskSpec

MAX_BATCH = 100_000
BATCH_REASONS = (
    "Snapshot data could not be read: a snapshot of the AMI was deleted while the task ran.",
    "Access Denied: the bucket policy does not allow s3:PutObject for this account.",
    "The bucket is not in the Region in which the store task was created.",
)


@record
class Batch:
    """``count`` tasks, each storing its own AMI, newest first:

    - the ``running`` newest are in progress at the start, spread over their ``duration``;
    - the others finished, their starts evenly spaced back to ``spread`` ago;
    - every ``failed_every``-th finished one failed (0: none) with ``reason`` (default:
      AWS's kinds of failure, in turn);
    - task n goes to ``buckets[n % len(buckets)]``; ``seed`` names the AMI ids.
    """

    count: int
    buckets: tuple[str, ...]
    running: int = 0
    failed_every: int = 0
    spread: timedelta = timedelta(days=30)
    duration: timedelta = timedelta(hours=1)
    region: str = DEFAULT_REGION
    reason: str = ""
    seed: str = "1"

    def tasks(self) -> list[TaskSpec]:
        finished = self.count - self.running
        specs = []
        for n in range(self.count):
            digest = hashlib.sha256(f"amimon-batch/{self.seed}/{n}".encode()).hexdigest()
            fail_at, reason = None, ""
            if n < self.running:
                start = -self.duration * (n + 1) / (self.running + 1)
            else:
                k = n - self.running
                start = -(self.duration + (self.spread - self.duration) * (k + 1) / finished)
                if self.failed_every and (k + 1) % self.failed_every == 0:
                    fail_at = 1 + int(digest[17:21], 16) % 99
                    turn = (k // self.failed_every) % len(BATCH_REASONS)
                    reason = self.reason or BATCH_REASONS[turn]
            specs.append(
                TaskSpec(
                    ami_id="ami-0" + digest[:16],
                    bucket=self.buckets[n % len(self.buckets)],
                    start=start,
                    duration=self.duration,
                    fail_at=fail_at,
                    reason=reason,
                    region=self.region,
                )
            )
        return specs

"""Small builders for tasks and snapshots used across tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from amimon.model import ErrorKind, PollFailure, Snapshot, StoreTask, Target, TargetPoll

T0 = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
EAST = Target(None, "us-east-1")
WEST = Target(None, "eu-west-1")


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def task(
    ami: str = "ami-00000001",
    progress: int | None = 0,
    state: str = "InProgress",
    *,
    bucket: str = "archive",
    reason: str = "",
    target: Target = EAST,
    started: datetime = T0,
) -> StoreTask:
    return StoreTask(
        target=target,
        ami_id=ami,
        start_time=started,
        bucket=bucket,
        object_key=f"{ami}.bin",
        progress=progress,
        state=state,
        failure_reason=reason,
    )


def snap(*tasks: StoreTask, covered: tuple[Target, ...] = (EAST,)) -> Snapshot:
    """A full listing of each covered target, holding those of ``tasks`` that are its."""
    return Snapshot(tuple(TargetPoll(t, tuple(x for x in tasks if x.target == t)) for t in covered))


def failed_poll(
    kind: ErrorKind | str = ErrorKind.NETWORK, message: str = "down", target: Target | None = EAST
) -> Snapshot:
    return Snapshot((), (PollFailure(ErrorKind(kind), message, target),))

"""AMI details folded in, and what follows from them: retried failures, the store quota,
throughput, the command that stores an AMI again."""

from __future__ import annotations

import shlex
from dataclasses import replace
from datetime import timedelta

from amimon import render
from amimon.derive import quota_use, retried, retry_command, throughput
from amimon.estimate import Estimate, history_estimate
from amimon.model import (
    ErrorKind,
    ImageInfo,
    ImageLookup,
    PollFailure,
    Target,
    TrackedTask,
    parse_image,
)
from amimon.reducer import ImagesUnavailable, MonitorState, add_images, images_wanted, reduce
from amimon.view import counts, describe_counts
from tests.factories import EAST, T0, WEST, at, snap, task


def state_of(*tasks: object) -> MonitorState:
    state, _ = reduce(MonitorState(), snap(*tasks, covered=(EAST, WEST)), at(0))  # type: ignore[arg-type]
    return state


def test_a_size_is_the_sum_of_the_ebs_volumes() -> None:
    item = {
        "ImageId": "ami-00000001",
        "Name": "web-2026.11.03",
        "BlockDeviceMappings": [
            {"DeviceName": "/dev/xvda", "Ebs": {"VolumeSize": 8}},
            {"DeviceName": "/dev/xvdb", "Ebs": {"VolumeSize": 500}},
            {"DeviceName": "/dev/sdc", "VirtualName": "ephemeral0"},
        ],
    }
    image = parse_image(item, EAST)
    assert (image.name, image.size_gib, image.found) == ("web-2026.11.03", 508, True)
    assert parse_image({"ImageId": "ami-00000001"}, EAST).size_gib is None


def test_a_failure_stored_again_since_is_retried_and_counted_apart() -> None:
    state = state_of(
        task("ami-00000001", 30, "Failed", started=at(-120)),
        task("ami-00000001", 40, "InProgress", started=at(-10)),  # same bucket, later
        task("ami-00000002", 5, "Failed", started=at(-60)),
        task("ami-00000002", 100, "Completed", bucket="other", started=at(-5)),  # other bucket
        task("ami-00000003", 100, "Completed", started=at(-300)),
        task("ami-00000003", 9, "Failed", started=at(-30)),  # the failure is the later one
    )
    keys = retried(state.tasks.values())
    assert {k.ami_id for k in keys} == {"ami-00000001"}
    tally = counts(state.tasks.values(), keys)
    assert describe_counts(tally) == "6 tasks: 1 running · 2 done · 2 failed · 1 retried"


def test_the_quota_gauge_sums_running_snapshot_gib_per_target() -> None:
    state = state_of(
        task("ami-00000001", 30),
        task("ami-00000002", 60),
        task("ami-00000003", 100, "Completed"),
        task("ami-00000004", 10),  # size unknown yet
        task("ami-00000005", 50, target=WEST),
    )
    lookup = ImageLookup(
        (
            ImageInfo(EAST, "ami-00000001", size_gib=600),
            ImageInfo(EAST, "ami-00000002", size_gib=400),
            ImageInfo(EAST, "ami-00000003", size_gib=2048),
            ImageInfo(WEST, "ami-00000005", size_gib=8),
        )
    )
    state, _ = add_images(state, lookup, at(0))
    use = quota_use(state, [EAST, WEST], 1200)
    assert (use[EAST].used_gib, use[EAST].unknown, use[EAST].warning) == (1000, 1, True)
    assert (use[WEST].used_gib, use[WEST].warning) == (8, False)
    assert use[EAST].fraction == 1000 / 1200


def test_images_are_asked_for_once_and_a_denial_is_said_once() -> None:
    state = state_of(task("ami-00000001", 30), task("ami-00000002", 5, target=WEST))
    assert images_wanted(state) == {EAST: ["ami-00000001"], WEST: ["ami-00000002"]}
    denied = PollFailure(ErrorKind.PERMISSION, "needs ec2:DescribeImages", WEST)
    state, events = add_images(
        state, ImageLookup((ImageInfo(EAST, "ami-00000001", found=False),), (denied,)), at(0)
    )
    assert [type(e) for e in events] == [ImagesUnavailable]
    assert images_wanted(state) == {}
    _, again = add_images(state, ImageLookup((), (denied,)), at(1))
    assert again == ()


def test_throughput_from_rate_and_size() -> None:
    assert throughput(Estimate(rate=2.0), 500) == 10.0
    assert throughput(Estimate(rate=None), 500) is None
    assert throughput(Estimate(rate=2.0), None) is None


def test_the_retry_command_is_for_a_shell_and_quotes_what_needs_it() -> None:
    qa = Target("qa", "eu-west-1")
    failed, _ = reduce(
        MonitorState(),
        snap(task("ami-00000001", 3, "Failed", bucket="odd bucket;rm", target=qa), covered=(qa,)),
        at(0),
    )
    (tracked,) = failed.tasks.values()
    command = retry_command(tracked)
    assert shlex.split(command) == [
        "aws",
        "ec2",
        "create-store-image-task",
        "--image-id",
        "ami-00000001",
        "--bucket",
        "odd bucket;rm",
        "--region",
        "eu-west-1",
        "--profile",
        "qa",
    ]


def test_estimates_and_ages_are_not_disturbed_by_images() -> None:
    state = state_of(task("ami-00000001", 30, started=at(-30)))
    state, _ = add_images(
        state, ImageLookup((ImageInfo(EAST, "ami-00000001", size_gib=10),)), at(0)
    )
    (tracked,) = state.tasks.values()
    assert state.image(tracked.task) is not None
    assert tracked.first_seen == at(0) and timedelta(0) == tracked.last_change - at(0)


def test_history_gives_an_eta_to_a_task_with_too_little_progress_of_its_own() -> None:
    new = TrackedTask(task("ami-00000009", 0, bucket="dr"), first_seen=T0, last_change=T0)
    # 100 GiB at the bucket's median 2 GiB/min: 50 minutes, marked as history's.
    est = history_estimate(new, T0, 100, 2.0)
    assert est is not None and est.from_history and est.eta_at == T0 + timedelta(minutes=50)
    assert render.eta_words(est, T0) == "≈50m"
    assert history_estimate(new, T0, None, 2.0) is None  # no size: no estimate
    assert history_estimate(new, T0, 100, None) is None  # no history: none either
    state = MonitorState(
        tasks={new.key: new},
        images={(EAST, "ami-00000009"): ImageInfo(EAST, "ami-00000009", size_gib=100)},
        bucket_rates={(EAST, "dr"): 2.0},
    )
    assert render.row_estimate(new, T0, state).from_history
    assert not render.row_estimate(new, T0, replace(state, bucket_rates={})).from_history

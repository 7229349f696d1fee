"""Scenario files: image facts, the [[batch]] bulk form, their errors, and ``amimon sim``."""

from __future__ import annotations

import subprocess
import sys
from collections import Counter
from datetime import timedelta
from pathlib import Path

import pytest

from amimon.aws import Query
from amimon.sim import ImageSpec, ScenarioError, load_scenario
from amimon.sim.spec import status_at
from tests.factories import T0
from tests.simulator import client, read_lines, running, source

BULK = """
[[batch]]
count = 10000
running = 10
failed_every = 7
buckets = ["a", "b"]
spread = "30d"
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "scenario.toml"
    path.write_text(text)
    return path


def test_a_batch_of_10000_tasks(tmp_path: Path) -> None:
    scenario = load_scenario(write(tmp_path, BULK))
    tasks = scenario.tasks
    assert len(tasks) == 10000
    assert len({t.ami_id for t in tasks}) == 10000
    assert Counter(t.bucket for t in tasks) == {"a": 5000, "b": 5000}
    states = Counter(status_at(t, T0, T0).state for t in tasks)  # type: ignore[union-attr]
    assert states == {"InProgress": 10, "Failed": 9990 // 7, "Completed": 9990 - 9990 // 7}
    assert min(t.start for t in tasks) == -timedelta(days=30)
    assert max(t.start for t in tasks) < timedelta(0)
    assert all(t.reason for t in tasks if t.fail_at is not None)
    assert load_scenario(write(tmp_path, BULK)) == scenario  # the same every run


def test_a_batch_served_pages_and_filters(tmp_path: Path) -> None:
    with running(load_scenario(write(tmp_path, BULK))) as server:
        src = source(server)
        assert len(src.fetch().tasks) == 10000  # all within the 31-day window
        assert server.requests["DescribeStoreImageTasks"] == 50
        running_now = source(server, Query(states=("InProgress",))).fetch().tasks
        assert len(running_now) == 10
        failed = source(server, Query(states=("Failed",), buckets=("a",))).fetch().tasks
        assert 0 < len(failed) < 9990 // 7
        assert {t.bucket for t in failed} == {"a"}


def test_seeds_keep_batches_apart_and_a_spread_beyond_31_days_hides_the_oldest(
    tmp_path: Path,
) -> None:
    text = (
        '[[batch]]\ncount = 40\nbuckets = ["x"]\nspread = "62d"\nduration = "2h"\n'
        '[[batch]]\ncount = 40\nbuckets = ["y"]\nspread = "10d"\nseed = "other"\n'
    )
    scenario = load_scenario(write(tmp_path, text))
    assert len({t.ami_id for t in scenario.tasks}) == 80
    with running(scenario) as server:
        tasks = client(server).describe_store_image_tasks(MaxResults=200)["StoreImageTaskResults"]
    window = [t for t in scenario.tasks if t.bucket == "x" and t.start >= -timedelta(days=31)]
    assert len(window) == 19  # started 2h + k * (62d - 2h) / 40 ago: k = 1..19 within 31 days
    assert Counter(t["Bucket"] for t in tasks) == {"x": 19, "y": 40}


def test_tasks_images_and_batches_together(tmp_path: Path) -> None:
    text = """
account = "999988887777"

[[task]]
ami_id = "ami-0123456789abcdef0"
bucket = "archive"
start = "-1h"
duration = "2h"
name = "payments-api-prod-20261101"
volumes = [8, 100]

[[task]]
ami_id = "ami-0123456789abcdef0"
bucket = "dr"
start = "-3d"
duration = "1h"
architecture = "arm64"

[[image]]
ami_id = "ami-0123456789abcdef0"
description = "Payments API"

[[image]]
ami_id = "ami-0fedcba9876543210"
region = "eu-west-1"
owner = "444455556666"

[[image]]
ami_id = "ami-0aaaaaaaaaaaaaaaa"
deregistered = true

[[batch]]
count = 5
buckets = ["bulk"]
"""
    scenario = load_scenario(write(tmp_path, text))
    assert len(scenario.tasks) == 7
    assert scenario.account == "999988887777"
    facts = scenario.image_facts()
    assert facts["ami-0123456789abcdef0"] == ImageSpec(
        "ami-0123456789abcdef0",
        name="payments-api-prod-20261101",
        description="Payments API",
        architecture="arm64",
        volumes=(8, 100),
    )
    with running(scenario) as server:
        ec2 = client(server)
        (image,) = ec2.describe_images(Owners=["self"], ImageIds=["ami-0123456789abcdef0"])[
            "Images"
        ]
        assert (image["Name"], image["Architecture"]) == ("payments-api-prod-20261101", "arm64")
        assert [d["Ebs"]["VolumeSize"] for d in image["BlockDeviceMappings"]] == [8, 100]
        west = client(server, "eu-west-1").describe_images()["Images"]
        assert [(i["ImageId"], i["OwnerId"]) for i in west] == [
            ("ami-0fedcba9876543210", "444455556666")
        ]
        east = {i["ImageId"] for i in client(server).describe_images()["Images"]}
        assert len(east) == 6 and "ami-0aaaaaaaaaaaaaaaa" not in east


TASK = "[[task]]\nami_id = 'ami-12345678'\nbucket = 'b'\nstart = 0\nduration = 1\n"


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("[[batch]]\ncount = 0\nbuckets = ['a']\n", "batch 1: key 'count' must be a whole number"),
        ("[[batch]]\ncount = 1.5\nbuckets = ['a']\n", "batch 1: key 'count'"),
        ("[[batch]]\ncount = 5\n", "batch 1: missing key 'buckets'"),
        ("[[batch]]\ncount = 5\nbuckets = []\n", "batch 1: key 'buckets'"),
        ("[[batch]]\ncount = 5\nbuckets = ['a', 3]\n", "batch 1: key 'buckets'"),
        ("[[batch]]\ncount = 5\nbuckets = ['a']\nrunning = 6\n", "batch 1: key 'running'"),
        (
            "[[batch]]\ncount = 5\nbuckets = ['a']\n[[batch]]\ncount = 5\nbuckets = ['a']\n"
            "spread = '1h'\nduration = '2h'\n",
            "batch 2: key 'spread'",
        ),
        (
            "[[batch]]\ncount = 5\nbuckets = ['a']\nspread = 'later'\n",
            "batch 1: expected a duration",
        ),
        (
            "[[batch]]\ncount = 5\nbuckets = ['a']\ncolour = 'red'\n",
            "batch 1: unknown key 'colour'",
        ),
        ("[batch]\ncount = 5\nbuckets = ['a']\n", "write [[batch]]"),
        (TASK + "volumes = [4]\n", "task 1: key 'volumes'"),
        (TASK + "volumes = [8, 8, 8, 8, 8]\n", "task 1: key 'volumes'"),
        (TASK + "volumes = [8, 4096]\n", "task 1: key 'volumes'"),
        (TASK + "architecture = 'sparc'\n", "task 1: key 'architecture'"),
        (TASK + "deregistered = 'yes'\n", "task 1: key 'deregistered'"),
        (TASK + "owner = 'bob'\n", "task 1: key 'owner'"),
        (TASK + "[[image]]\nname = 'x'\n", "image 1: missing key 'ami_id'"),
        (TASK + "[[image]]\nami_id = 'ami-1'\n", "image 1: malformed AMI id"),
        (TASK + "[[image]]\nami_id = 'ami-12345678'\nsize = 8\n", "image 1: unknown key 'size'"),
        (
            TASK + "name = 'a'\n" + TASK + "name = 'b'\n",
            "task 2: name = 'b' for ami-12345678 disagrees with task 1 ('a')",
        ),
        (
            TASK + "volumes = [8]\n[[image]]\nami_id = 'ami-12345678'\nvolumes = [16]\n",
            "image 1: volumes = (16,) for ami-12345678 disagrees with task 1 ((8,))",
        ),
        ("account = '123'\n" + TASK, "'account' must be a 12-digit account id"),
        ("[[image]]\nami_id = 'ami-12345678'\n", "no [[task]] or [[batch]] tables"),
    ],
)
def test_bad_scenarios_name_the_file_and_the_table(tmp_path: Path, text: str, words: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ScenarioError) as caught:
        load_scenario(path)
    assert str(caught.value).startswith(f"{path}: ")
    assert words in str(caught.value)


def test_sim_command_serves_a_bulk_scenario(tmp_path: Path) -> None:
    path = write(tmp_path, BULK)
    proc = subprocess.Popen(
        [sys.executable, "-m", "amimon", "sim", "--scenario", str(path), "--throttle"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        lines = read_lines(proc.stdout, 7, timeout=60)
        assert "(10000 tasks, speed 1x, throttled like AWS)" in lines[0]
        url = lines[0].split()[2]
        (images_line,) = [line for line in lines if "aws ec2 describe-images" in line]
        ids = images_line.split("Name=image-id,Values=")[1].split()[0].split(",")
        ec2 = client(url)
        page = ec2.describe_store_image_tasks(MaxResults=200)
        assert len(page["StoreImageTaskResults"]) == 200 and page["NextToken"]
        images = ec2.describe_images(ImageIds=ids)["Images"]
        assert sorted(i["ImageId"] for i in images) == sorted(ids) and len(ids) == 3
    finally:
        proc.terminate()
        proc.wait(timeout=10)

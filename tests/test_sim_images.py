"""DescribeImages on the simulator through the real boto3 client, and the demo's images."""

from __future__ import annotations

import math
from datetime import datetime, timedelta
from typing import Any

import pytest
from botocore.exceptions import ClientError

from amimon.sim import ImageSpec, Scenario, SimServer, TaskSpec, default_scenario
from amimon.sim.demo import STORE_QUOTA_GIB
from amimon.sim.spec import DEFAULT_ACCOUNT
from tests.factories import T0
from tests.simulator import ami, client, many, running, source

OTHER = "444455556666"


def code_of(exc: pytest.ExceptionInfo[ClientError]) -> str:
    return str(exc.value.response["Error"]["Code"])


def message_of(exc: pytest.ExceptionInfo[ClientError]) -> str:
    return str(exc.value.response["Error"]["Message"])


def account() -> Scenario:
    """ami 1-6 stored in us-east-1 (2 deregistered, 3 shared by another account), ami 7 in
    eu-west-1, ami 50 an image nobody stored."""
    day = timedelta(days=1)
    hour = timedelta(hours=1)
    east = [TaskSpec(ami(n), "archive", -n * day, hour) for n in range(1, 7)]
    tasks = (*east, TaskSpec(ami(7), "dr", -day, hour, region="eu-west-1"))
    images = (
        ImageSpec(
            ami(1),
            name="web-frontend-2026.11.03-x86_64",
            description="Web frontend",
            architecture="arm64",
            volumes=(8, 100),
        ),
        ImageSpec(ami(2), deregistered=True),
        ImageSpec(ami(3), owner=OTHER),
        ImageSpec(ami(50), name="never-stored"),
    )
    return Scenario(tasks, images)


def ids(response: dict[str, Any]) -> list[str]:
    return sorted(i["ImageId"] for i in response["Images"])


def test_an_image_by_id_has_the_facts_of_the_scenario() -> None:
    with running(account()) as server:
        (image,) = client(server).describe_images(ImageIds=[ami(1)])["Images"]
    assert image["Name"] == "web-frontend-2026.11.03-x86_64"
    assert image["Description"] == "Web frontend"
    assert image["Architecture"] == "arm64"
    assert image["OwnerId"] == DEFAULT_ACCOUNT
    assert (image["State"], image["RootDeviceType"], image["VirtualizationType"]) == (
        "available",
        "ebs",
        "hvm",
    )
    disks = image["BlockDeviceMappings"]
    assert [d["Ebs"]["VolumeSize"] for d in disks] == [8, 100]
    assert disks[0]["DeviceName"] == image["RootDeviceName"]
    for disk in disks:
        ebs = disk["Ebs"]
        assert ebs["SnapshotId"].startswith("snap-0") and len(ebs["SnapshotId"]) == 22
        assert ebs["VolumeType"] in {"gp2", "gp3", "io2"}
        assert isinstance(ebs["DeleteOnTermination"], bool) and isinstance(ebs["Encrypted"], bool)
    created = datetime.fromisoformat(image["CreationDate"])
    assert created < T0 - timedelta(days=1)  # before its first store task


def test_one_missing_image_id_fails_the_whole_request_naming_it() -> None:
    with running(account()) as server, pytest.raises(ClientError) as caught:
        client(server).describe_images(ImageIds=[ami(1), ami(99)])
    assert code_of(caught) == "InvalidAMIID.NotFound"
    assert message_of(caught) == f"The image id '[{ami(99)}]' does not exist"


def test_several_missing_image_ids_are_all_named() -> None:
    with running(account()) as server, pytest.raises(ClientError) as caught:
        client(server).describe_images(ImageIds=[ami(98), ami(1), ami(2)])
    assert code_of(caught) == "InvalidAMIID.NotFound"
    assert message_of(caught) == f"The image ids '[{ami(98)}, {ami(2)}]' do not exist"


@pytest.mark.parametrize("bad", ["ami-nothex!", "ami-123", "i-0123456789abcdef0", ""])
def test_malformed_image_ids(bad: str) -> None:
    with running(account()) as server, pytest.raises(ClientError) as caught:
        client(server).describe_images(ImageIds=[ami(1), bad])
    assert code_of(caught) == "InvalidAMIID.Malformed"
    assert f'"{bad}"' in message_of(caught)


def test_the_image_id_filter_leaves_missing_ids_out_without_an_error() -> None:
    with running(account()) as server:
        wanted = [ami(1), ami(99), ami(2), ami(3)]
        found = client(server).describe_images(Filters=[{"Name": "image-id", "Values": wanted}])
    assert ids(found) == [ami(1), ami(3)]


def test_deregistered_images_are_gone_but_their_store_tasks_remain() -> None:
    with running(account()) as server:
        ec2 = client(server)
        assert ami(2) not in ids(ec2.describe_images())
        with pytest.raises(ClientError) as caught:
            ec2.describe_images(ImageIds=[ami(2)])
        assert code_of(caught) == "InvalidAMIID.NotFound"
        tasks = ec2.describe_store_image_tasks(ImageIds=[ami(2)])["StoreImageTaskResults"]
        assert [t["StoreTaskState"] for t in tasks] == ["Completed"]


def test_every_image_of_the_region_and_only_of_the_region() -> None:
    with running(account()) as server:
        east = client(server).describe_images()
        west = client(server, "eu-west-1").describe_images()
        with pytest.raises(ClientError):
            client(server).describe_images(ImageIds=[ami(7)])
    assert ids(east) == sorted([ami(1), ami(3), ami(4), ami(5), ami(6), ami(50)])
    assert ids(west) == [ami(7)]
    assert "NextToken" not in east  # no MaxResults: everything in one answer


def test_owners_self_account_ids_and_aliases() -> None:
    with running(account()) as server:
        ec2 = client(server)
        shared = ec2.describe_images(ImageIds=[ami(3)])["Images"][0]
        assert shared["OwnerId"] == OTHER  # not ours, still returned: shared with us directly
        assert ami(3) not in ids(ec2.describe_images(Owners=["self"]))
        assert ids(ec2.describe_images(Owners=["self"])) == ids(
            ec2.describe_images(Owners=[DEFAULT_ACCOUNT])
        )
        assert ids(ec2.describe_images(Owners=[OTHER])) == [ami(3)]
        assert ids(ec2.describe_images(Owners=["self", OTHER])) == ids(ec2.describe_images())
        assert ec2.describe_images(Owners=["amazon"])["Images"] == []
        assert ids(ec2.describe_images(ExecutableUsers=["self"])) == [ami(3)]
        with pytest.raises(ClientError) as caught:
            ec2.describe_images(Owners=["me"])
    assert code_of(caught) == "InvalidUserID.Malformed"


def test_filters_with_wildcards_and_and_between_filters() -> None:
    with running(account()) as server:
        ec2 = client(server)
        web = ec2.describe_images(Filters=[{"Name": "name", "Values": ["web-*-x86_64"]}])
        assert ids(web) == [ami(1)]
        both = ec2.describe_images(
            Filters=[
                {"Name": "architecture", "Values": ["arm64"]},
                {"Name": "block-device-mapping.volume-size", "Values": ["100"]},
            ]
        )
        assert ami(1) in ids(both)
        assert all(i["Architecture"] == "arm64" for i in both["Images"])
        with pytest.raises(ClientError) as caught:
            ec2.describe_images(Filters=[{"Name": "colour", "Values": ["red"]}])
    assert code_of(caught) == "InvalidParameterValue"


def test_pagination_returns_each_image_once() -> None:
    with running(many(60)) as server:
        pages = client(server).get_paginator("describe_images")
        seen = [
            i["ImageId"]
            for p in pages.paginate(PaginationConfig={"PageSize": 7})
            for i in p["Images"]
        ]
        assert sorted(seen) == sorted(ami(n) for n in range(60))
        assert len(seen) == 60
        assert server.requests["DescribeImages"] == math.ceil(60 / 7)


@pytest.mark.parametrize(
    ("params", "code"),
    [
        ({"MaxResults": 0}, "InvalidParameterValue"),
        ({"MaxResults": 1001}, "InvalidParameterValue"),
        ({"ImageIds": [ami(1)], "MaxResults": 5}, "InvalidParameterCombination"),
        ({"MaxResults": 5, "NextToken": "Zm9yZ2Vk"}, "InvalidParameterValue"),
        ({"DryRun": True}, "DryRunOperation"),
    ],
)
def test_rules_of_describe_images(params: dict[str, object], code: str) -> None:
    with running(many(5)) as server, pytest.raises(ClientError) as caught:
        client(server).describe_images(**params)
    assert code_of(caught) == code


def test_a_page_size_of_1000_is_allowed() -> None:
    with running(many(5)) as server:
        assert len(client(server).describe_images(MaxResults=1000)["Images"]) == 5


def test_default_images_are_realistic_and_the_same_every_run() -> None:
    scenario = many(300)
    with running(scenario) as one, running(scenario) as two:
        first = client(one).describe_images()["Images"]
        again = client(two).describe_images()["Images"]
    assert first == again
    counts = [len(i["BlockDeviceMappings"]) for i in first]
    sizes = [d["Ebs"]["VolumeSize"] for i in first for d in i["BlockDeviceMappings"]]
    assert set(counts) == {1, 2, 3, 4}
    assert min(sizes) >= 8 and max(sizes) <= 2048
    assert min(sizes) == 8 and max(sizes) == 2048  # the whole range shows up
    assert {i["Architecture"] for i in first} == {"x86_64", "arm64"}
    assert len({i["Name"] for i in first}) > 250
    assert all(i["Name"] and i["Description"] for i in first)


def test_a_fault_aimed_at_describe_images_leaves_store_tasks_alone() -> None:
    with running(account()) as server:
        ec2 = client(server)
        server.inject("unauthorized", times=1, action="DescribeImages")
        assert ec2.describe_store_image_tasks()["StoreImageTaskResults"]
        with pytest.raises(ClientError) as caught:
            ec2.describe_images()
        assert code_of(caught) == "UnauthorizedOperation"
        assert ec2.describe_images()["Images"]
        assert server.requests["DescribeImages"] == 2


# The demo's images ---------------------------------------------------------------


def in_progress_gib(server: SimServer) -> int:
    """Snapshot data behind the in-progress store tasks of us-east-1, in GiB."""
    ec2 = client(server)
    tasks = source(server).fetch().tasks
    running_amis = sorted({t.ami_id for t in tasks if t.state == "InProgress"})
    images = ec2.describe_images(ImageIds=running_amis)["Images"]
    assert len(images) == len(running_amis)
    return sum(d["Ebs"]["VolumeSize"] for i in images for d in i["BlockDeviceMappings"])


def test_the_demo_starts_with_70_percent_of_the_store_quota_in_progress() -> None:
    with running(default_scenario()) as server:
        total = in_progress_gib(server)
    assert total == 840
    assert total / STORE_QUOTA_GIB == pytest.approx(0.70)


def test_the_demo_images_look_like_a_real_account() -> None:
    scenario = default_scenario()
    with running(scenario) as server:
        ec2 = client(server)
        images = ec2.describe_images()["Images"]
        stored = {t.ami_id for t in scenario.tasks if t.region == "us-east-1"}
        shown = {i["ImageId"] for i in images}
        deregistered = stored - shown
        assert len(deregistered) == 4
        with pytest.raises(ClientError) as caught:
            ec2.describe_images(ImageIds=sorted(deregistered))
        assert code_of(caught) == "InvalidAMIID.NotFound"
        west = client(server, "eu-west-1").describe_images()["Images"]
    assert [i["OwnerId"] for i in images].count(DEFAULT_ACCOUNT) == len(images) - 1
    names = [i["Name"] for i in images + west]
    assert "payments-api-prod-20261101" in names and "legacy-erp-win2019-golden" in names
    assert all(n.isascii() and " " not in n for n in names)
    sizes = [d["Ebs"]["VolumeSize"] for i in images for d in i["BlockDeviceMappings"]]
    assert min(sizes) >= 8 and max(sizes) == 2048
    windows = [i for i in images if "win" in i["Name"]]
    assert windows and all(i["Platform"] == "windows" for i in windows)
    assert all(datetime.fromisoformat(i["CreationDate"]) < T0 for i in images + west)

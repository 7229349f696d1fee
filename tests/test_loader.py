"""The loader that checks one service instead of listing them all loads what botocore's
does, for every kind of file a client reads, and fails as botocore does."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import botocore.session
import pytest
from botocore.exceptions import UnknownServiceError
from botocore.loaders import Loader

from amimon.aws import loader
from amimon.aws.clients import tune


def loaders() -> tuple[Any, Any]:
    mine = loader.install(botocore.session.Session()).get_component("data_loader")
    return botocore.session.Session().get_component("data_loader"), mine


@pytest.mark.parametrize(
    ("service", "kind"),
    [
        ("ec2", "service-2"),
        ("ec2", "endpoint-rule-set-1"),
        ("ec2", "paginators-1"),
        ("s3", "service-2"),
    ],
)
def test_it_loads_what_botocore_loads(service: str, kind: str) -> None:
    theirs, mine = loaders()
    assert isinstance(mine, loader.OneServiceLoader)
    assert mine.search_paths == theirs.search_paths
    assert mine.load_service_model(service, kind) == theirs.load_service_model(service, kind)


def test_it_never_lists_every_service(monkeypatch: pytest.MonkeyPatch) -> None:
    def listed(self: Loader, type_name: str) -> list[str]:
        raise AssertionError(f"listed every service for {type_name}")

    monkeypatch.setattr(Loader, "list_available_services", listed)
    session = tune(botocore.session.Session())
    client = session.create_client(
        "ec2",
        region_name="us-east-1",
        endpoint_url="http://127.0.0.1:9",
        aws_access_key_id="AKIDX",
        aws_secret_access_key="x",
    )
    assert client.meta.service_model.service_name == "ec2"


def test_a_second_load_is_the_first_ones_result() -> None:
    _, mine = loaders()
    assert mine.load_service_model("ec2", "service-2") is mine.load_service_model(
        "ec2", "service-2"
    )


def test_an_unknown_service_gets_botocores_error() -> None:
    _, mine = loaders()
    with pytest.raises(UnknownServiceError, match="ec2"):  # its message lists the known ones
        mine.load_service_model("no-such-service", "service-2")


def test_it_keeps_extra_search_paths_and_an_older_api_version(tmp_path: Path) -> None:
    theirs = botocore.session.Session().get_component("data_loader")
    versions = theirs.list_api_versions("ec2", "service-2")
    mine = loader.OneServiceLoader(extra_search_paths=[str(tmp_path)])
    assert mine.load_service_model("ec2", "service-2", versions[0]) == theirs.load_service_model(
        "ec2", "service-2", versions[0]
    )

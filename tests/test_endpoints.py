"""amimon's copy of botocore's endpoint data: the same answers, without decoding it all."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import botocore.session
import pytest
from botocore.loaders import Loader
from botocore.regions import EndpointResolver

from amimon.aws import endpoints, loader, trimmed
from amimon.aws.clients import tune

# A service kept in the copy, and others read from the whole file when asked about.
OTHERS = ("s3", "iam", "cloudfront", "no-such-service")


def tuned(root: Path) -> Any:
    return endpoints.install(loader.install(botocore.session.Session()), root)


def resolvers(root: Path) -> tuple[EndpointResolver, EndpointResolver, Any]:
    full = botocore.session.Session()._get_internal_component("endpoint_resolver")
    session = tuned(root)
    return full, session._get_internal_component("endpoint_resolver"), session


def answers(resolver: EndpointResolver, service: str, partitions: list[Any]) -> list[Any]:
    out = []
    for partition in partitions:
        regions = [*partition["regions"], "made-up-region-1", None]
        for region in regions:
            for fips, dual in ((False, False), (True, False), (False, True)):
                try:
                    got: Any = resolver.construct_endpoint(
                        service,
                        region,
                        partition_name=partition["partition"],
                        use_fips_endpoint=fips,
                        use_dualstack_endpoint=dual,
                    )
                except Exception as exc:
                    got = type(exc).__name__
                out.append((partition["partition"], region, fips, dual, got))
        out.append(resolver.get_available_endpoints(service, partition["partition"], True))
        out.append(resolver.get_service_endpoints_data(service, partition["partition"]))
    return out


@pytest.mark.parametrize("service", [*endpoints.SERVICES, *OTHERS])
def test_every_answer_is_the_one_botocores_file_gives(tmp_path: Path, service: str) -> None:
    full, cut, _ = resolvers(tmp_path)
    partitions = Loader().load_data("endpoints")["partitions"]
    assert answers(cut, service, partitions) == answers(full, service, partitions)
    assert cut.get_available_partitions() == full.get_available_partitions()
    assert cut.uses_builtin_data and full.uses_builtin_data


def test_an_ec2_client_reads_only_the_copy(tmp_path: Path) -> None:
    session = tune(botocore.session.Session())
    data_loader = session.get_component("data_loader")
    session.create_client(
        "ec2", region_name="eu-west-1", aws_access_key_id="a", aws_secret_access_key="b"
    )
    assert data_loader.endpoints is not None
    assert not data_loader.endpoints.whole_loaded
    (copy,) = Path(data_loader.endpoints.copy.parent).glob(endpoints.COPY)
    assert copy.stat().st_size < 100_000


def test_another_services_client_loads_the_whole_file_once(tmp_path: Path) -> None:
    session = tuned(tmp_path)
    data = session.get_component("data_loader").endpoints
    client = session.create_client(
        "s3", region_name="eu-west-1", aws_access_key_id="a", aws_secret_access_key="b"
    )
    assert data.whole_loaded
    assert client.meta.region_name == "eu-west-1"


def test_it_is_written_once_and_reused(tmp_path: Path) -> None:
    resolvers(tmp_path)
    (copy,) = tmp_path.rglob(endpoints.COPY)
    first = copy.stat().st_mtime_ns
    resolvers(tmp_path)
    assert copy.stat().st_mtime_ns == first


def test_a_cache_that_cannot_be_written_leaves_botocores_file(tmp_path: Path) -> None:
    blocked = tmp_path / "file-not-dir"
    blocked.write_text("x")
    session = tuned(blocked)
    assert session.get_component("data_loader").endpoints is None
    resolver = session._get_internal_component("endpoint_resolver")
    assert resolver.construct_endpoint("ec2", "eu-west-1")["hostname"] == (
        "ec2.eu-west-1.amazonaws.com"
    )


def test_a_users_own_endpoint_file_is_left_to_botocore(tmp_path: Path) -> None:
    own = tmp_path / "models"
    own.mkdir()
    (own / "endpoints.json").write_text(
        Path(trimmed.source_file(Loader(), "endpoints") or "").read_text()
    )
    session = botocore.session.Session()
    session.get_component("data_loader").search_paths.insert(0, str(own))
    session = endpoints.install(loader.install(session), tmp_path / "cache")
    assert session.get_component("data_loader").endpoints is None
    assert not session._get_internal_component("endpoint_resolver").uses_builtin_data


def test_a_damaged_copy_is_left_for_botocores_file_and_written_again(tmp_path: Path) -> None:
    resolvers(tmp_path)
    (copy,) = tmp_path.rglob(endpoints.COPY)
    copy.write_text('{"partitions": [')
    full, cut, _ = resolvers(tmp_path)
    assert cut.construct_endpoint("ec2", "eu-west-1") == full.construct_endpoint("ec2", "eu-west-1")
    assert cut.uses_builtin_data
    assert not copy.exists()
    resolvers(tmp_path)
    assert copy.exists()

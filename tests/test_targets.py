"""Profiles and regions: every profile with every region, checked before anything starts
(issue 10 #7), and the monitor refusing what it cannot do (issue 10 #8)."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest

from amimon.cli import main
from amimon.config import Config, ConfigError
from amimon.context import resolve_targets
from amimon.model import Target
from amimon.sim import FrozenClock, Scenario, SimServer, TaskSpec
from tests.factories import T0
from tests.simulator import ami

AWS_CONFIG = """\
[default]
region = us-west-2

[profile qa]
region = eu-west-1
aws_access_key_id = AKIDQA
aws_secret_access_key = qa-secret

[profile qb]
aws_access_key_id = AKIDQB
aws_secret_access_key = qb-secret
"""


@pytest.fixture
def aws_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    config = tmp_path / "aws-config"
    config.write_text(AWS_CONFIG)
    credentials = tmp_path / "aws-credentials"
    credentials.write_text("[qc]\naws_access_key_id = AKIDQC\naws_secret_access_key = s\n")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(config))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(credentials))
    return {"AWS_CONFIG_FILE": str(config), "AWS_SHARED_CREDENTIALS_FILE": str(credentials)}


def test_every_profile_with_every_region(aws_files: dict[str, str]) -> None:
    config = Config(profiles=("qa", "qb"), regions=("us-east-1", "eu-west-1"))
    assert resolve_targets(config, aws_files) == (
        Target("qa", "us-east-1"),
        Target("qa", "eu-west-1"),
        Target("qb", "us-east-1"),
        Target("qb", "eu-west-1"),
    )


@pytest.mark.parametrize(
    ("profiles", "env", "region"),
    [
        (("qa",), {}, "eu-west-1"),  # the profile's region
        ((), {}, "us-west-2"),  # the default profile's
        (("qa",), {"AWS_DEFAULT_REGION": "ap-south-1"}, "ap-south-1"),
        (("qa",), {"AWS_REGION": "sa-east-1", "AWS_DEFAULT_REGION": "x"}, "sa-east-1"),
        (("qc",), {"AWS_REGION": "ca-central-1"}, "ca-central-1"),  # credentials-file profile
    ],
)
def test_the_region_is_resolved_as_the_aws_cli_does(
    aws_files: dict[str, str], profiles: tuple[str, ...], env: dict[str, str], region: str
) -> None:
    (target,) = resolve_targets(Config(profiles=profiles), {**aws_files, **env})
    assert target.region == region
    assert "default region" not in target.label


def test_an_unknown_profile_names_the_files_and_the_profiles_found(
    aws_files: dict[str, str],
) -> None:
    with pytest.raises(ConfigError) as caught:
        resolve_targets(Config(profiles=("qa", "nope")), aws_files)
    assert "'nope'" in str(caught.value) and "qa, qb, qc" in str(caught.value)


def test_a_profile_without_any_region_is_refused(aws_files: dict[str, str]) -> None:
    with pytest.raises(ConfigError, match="no AWS region for profile 'qb'"):
        resolve_targets(Config(profiles=("qb",)), aws_files)


@pytest.mark.parametrize("command", [[], ["watch"], ["list"], ["wait", "ami-00000001"]])
def test_an_unknown_profile_exits_2_before_anything_starts(
    aws_files: dict[str, str], command: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([*command, "--profile", "nope"]) == 2
    err = capsys.readouterr().err
    assert "'nope'" in err and len(err.strip().splitlines()) == 1


def test_two_profiles_are_both_listed_each_item_tagged(
    aws_files: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    spec = TaskSpec(ami(1), "archive", -timedelta(minutes=5), timedelta(hours=1))
    with SimServer(Scenario((spec,)), FrozenClock(T0)) as server:
        code = main(
            [
                "list",
                "-o",
                "json",
                "--profile",
                "qa",
                "--profile",
                "qb",
                "--region",
                "us-east-1",
                "--endpoint-url",
                server.url,
            ]
        )
    assert code == 0
    items = json.loads(capsys.readouterr().out)["StoreImageTaskResults"]
    assert sorted((i["Profile"], i["Region"]) for i in items) == [
        ("qa", "us-east-1"),
        ("qb", "us-east-1"),
    ]


def test_the_monitor_refuses_a_pipe_instead_of_writing_escape_codes() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "amimon", "--demo"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 2
    assert "needs a terminal" in out.stderr and "amimon list" in out.stderr
    assert out.stdout == ""


def test_an_unknown_theme_is_reported_against_its_config_line(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text('interval = 20\ntheme = "no-such-theme"\n')
    out = subprocess.run(
        [sys.executable, "-m", "amimon", "--demo", "--config", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 2
    assert f"{path}:2: key 'theme': unknown theme 'no-such-theme'" in out.stderr

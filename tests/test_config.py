"""Config files, good and bad: every error names the file, the line and the key."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from amimon.config import Config, ConfigError, load_config, parse_config

ROOT = Path(__file__).resolve().parent.parent


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_the_example_file_loads_and_matches_the_defaults() -> None:
    assert load_config(ROOT / "config.example.toml") == Config()


def test_the_example_documents_every_key() -> None:
    text = (ROOT / "config.example.toml").read_text()
    for name in Config.__dataclass_fields__:
        if name != "origins":
            assert f"{name} =" in text, name


def test_missing_default_file_means_defaults() -> None:
    assert load_config(None, env={}) == Config()


def test_explicit_file_that_is_missing_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not found"):
        load_config(tmp_path / "nope.toml")


def test_amimon_config_env_is_used(tmp_path: Path) -> None:
    path = write(tmp_path, 'profile = "dr"\n')
    assert load_config(None, env={"AMIMON_CONFIG": str(path)}).profiles == ("dr",)


def test_default_location_is_the_platform_config_dir(tmp_path: Path) -> None:
    conf = Path.home() / ".config" / "amimon"
    conf.mkdir(parents=True)
    (conf / "config.toml").write_text("interval = 30\n")
    assert load_config(None, env={}).interval == 30


def test_a_good_file(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        'profile = "prod"\nregions = ["us-east-1", "eu-west-1"]\nstates = ["failed", "INPROGRESS"]\n'
        'interval = 20\nbell = false\nimage_ids = ["ami-0abc1234def567890"]\n',
    )
    config = load_config(path)
    assert config.profiles == ("prod",)
    assert config.regions == ("us-east-1", "eu-west-1")
    assert config.states == ("Failed", "InProgress")
    assert (config.interval, config.bell) == (20.0, False)


@pytest.mark.parametrize(
    ("text", "line", "key", "words"),
    [
        ('profile = "p"\nintervall = 10\n', 2, "intervall", "unknown key"),
        ('\n\ninterval = "fast"\n', 3, "interval", "not a duration"),
        ("interval = 2\n", 1, "interval", "from 5 seconds"),
        ("interval = inf\n", 1, "interval", "to 3600 seconds (1 hour), got inf"),
        ("interval = nan\n", 1, "interval", "got nan"),
        ("interval = 1e9\n", 1, "interval", "to 3600 seconds"),
        ("regions = 5\n", 1, "regions", "a string or a list of strings"),
        ('profile = "a"\nprofiles = ["b"]\n', 2, "profiles", "set twice"),
        ('regions = [""]\n', 1, "regions", "must not be empty"),
        ('regions = ["mars-1"]\n', 1, "regions", "not a region name"),
        ('states = ["Done"]\n', 1, "states", "unknown state 'Done'"),
        ('image_ids = ["ami-xyz"]\n', 1, "image_ids", "malformed AMI id"),
        ('bell = "yes"\n', 1, "bell", "true or false"),
        ("[ui]\ntheme = 'x'\n", 1, "ui", "unknown key"),
        ('endpoint_url = "localhost:8080"\n', 1, "endpoint_url", "not an http(s) URL"),
    ],
)
def test_bad_values_name_file_line_and_key(
    tmp_path: Path, text: str, line: int, key: str, words: str
) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    error = caught.value
    assert (error.path, error.line, error.key) == (path, line, key)
    assert words in str(error)
    assert str(error).startswith(f"{path}:{line}: key '{key}': ")


def test_toml_syntax_errors_give_line_and_column(tmp_path: Path) -> None:
    path = write(tmp_path, 'profile = "ok"\ninterval = = 3\n')
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert (caught.value.line, caught.value.column) == (2, 12)
    assert str(caught.value).startswith(f"{path}:2:12: invalid TOML")


def test_binary_file_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_bytes(b"\xff\xfe\x00junk")
    with pytest.raises(ConfigError, match="not UTF-8"):
        load_config(path)


@settings(max_examples=300, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.text(max_size=200))
def test_any_text_either_loads_or_raises_config_error(text: str) -> None:
    try:
        parse_config(text, Path("fuzz.toml"))
    except ConfigError as exc:
        assert str(exc).startswith("fuzz.toml")


def test_one_region_or_profile_may_be_a_plain_string(tmp_path: Path) -> None:
    config = load_config(
        write(tmp_path, 'regions = "us-east-1"\nprofiles = "qa"\ninterval = "30s"\n')
    )
    assert (config.regions, config.profiles, config.interval) == (("us-east-1",), ("qa",), 30.0)


def test_a_value_checked_later_is_still_reported_against_its_line(tmp_path: Path) -> None:
    path = write(tmp_path, 'bell = true\n\ntheme = "no-such-theme"\n')
    error = load_config(path).error("theme", "unknown theme")
    assert str(error) == f"{path}:3: key 'theme': unknown theme"


def test_an_on_event_command_keeps_repeated_arguments() -> None:
    config = Config().with_overrides(on_event=["echo", "x", "x"])
    assert config.on_event == ("echo", "x", "x")

"""Settings from a TOML file (found via platformdirs), checked strictly, overridable by flags.

amimon never writes the file. A missing default file means defaults; any problem in a file
that exists is a ``ConfigError`` naming the file, the line and the key.
"""

from __future__ import annotations

import math
import os
import re
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any

from amimon.model import normalize_state, validate_ami_id

CONFIG_ENV = "AMIMON_CONFIG"
MIN_INTERVAL = 5.0
DEFAULT_INTERVAL = 15.0

_REGION_RE = re.compile(r"^[a-z]{2}(-[a-z]+)+-\d{1,2}$")
_BUCKET_RE = re.compile(r"^[a-zA-Z0-9.\-_]{1,255}$")


class ConfigError(Exception):
    """A problem in a config file or a flag: says where (file, line, column) and which key."""

    def __init__(
        self,
        message: str,
        *,
        path: Path | None = None,
        line: int | None = None,
        key: str | None = None,
        column: int | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.path = path
        self.line = line
        self.key = key
        self.column = column

    def __str__(self) -> str:
        where = ""
        if self.path is not None:
            where = str(self.path)
            if self.line is not None:
                where += f":{self.line}"
                if self.column is not None:
                    where += f":{self.column}"
            where += ": "
        key = f"key '{self.key}': " if self.key else ""
        return f"{where}{key}{self.message}"


@dataclass(frozen=True)
class Config:
    """Every setting amimon has, with its default. ``config.example.toml`` documents each."""

    profile: str | None = None
    regions: tuple[str, ...] = ()
    endpoint_url: str | None = None
    image_ids: tuple[str, ...] = ()
    buckets: tuple[str, ...] = ()
    states: tuple[str, ...] = ()
    interval: float = DEFAULT_INTERVAL
    theme: str = "textual-dark"
    bell: bool = True
    log_level: str = "WARNING"

    def with_overrides(self, **overrides: Any) -> Config:
        """A copy with every override that is not None (or an empty sequence) applied."""
        given = {k: v for k, v in overrides.items() if v is not None and v != () and v != []}
        for name in ("regions", "image_ids", "buckets", "states"):
            if name in given:
                given[name] = tuple(given[name])
        return replace(self, **given)


# Validators, shared by the file loader and the command line -----------------------------


def check_interval(value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"must be a number of seconds, got {value!r}")
    if not math.isfinite(value) or value < MIN_INTERVAL:
        raise ValueError(
            f"must be at least {MIN_INTERVAL:g} seconds (DescribeStoreImageTasks is "
            f"rate-limited per account), got {value:g}"
        )
    return float(value)


_DURATION_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhd]?)\s*$")
_UNIT_SECONDS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_duration(value: str, *, allow_zero: bool = False) -> float:
    """Seconds in ``"90"``, ``"90s"``, ``"45m"``, ``"6h"`` or ``"1d"``."""
    match = _DURATION_RE.match(value)
    if not match:
        raise ValueError(f"{value!r} is not a duration (like 90s, 45m, 6h or 1d)")
    seconds = float(match.group(1)) * _UNIT_SECONDS[match.group(2)]
    if seconds <= 0 and not allow_zero:
        raise ValueError(f"{value!r} must be longer than zero")
    return seconds


def check_region(value: str) -> str:
    if not _REGION_RE.match(value):
        raise ValueError(f"{value!r} is not a region name (like us-east-1)")
    return value


def check_endpoint(value: str) -> str:
    if not re.match(r"^https?://[^\s/]+", value):
        raise ValueError(f"{value!r} is not an http(s) URL")
    return value


def check_bucket(value: str) -> str:
    if not _BUCKET_RE.match(value):
        raise ValueError(f"{value!r} is not a bucket name")
    return value


def check_log_level(value: str) -> str:
    level = value.upper()
    if level not in {"DEBUG", "INFO", "WARNING", "ERROR"}:
        raise ValueError(f"{value!r} is not one of debug, info, warning, error")
    return level


def _nonempty(value: str) -> str:
    if not value.strip():
        raise ValueError("must not be empty")
    return value


def _string(check: Callable[[str], str]) -> Callable[[object], object]:
    def convert(value: object) -> object:
        if not isinstance(value, str):
            raise ValueError(f"must be a string, got {type(value).__name__}")
        return check(value)

    return convert


def _strings(check: Callable[[str], str]) -> Callable[[object], object]:
    def convert(value: object) -> object:
        if not isinstance(value, list):
            raise ValueError(f"must be a list of strings, got {type(value).__name__}")
        out = []
        for item in value:
            if not isinstance(item, str):
                raise ValueError(f"must be a list of strings, found {item!r}")
            out.append(check(_nonempty(item)))
        return tuple(out)

    return convert


def _boolean(value: object) -> object:
    if not isinstance(value, bool):
        raise ValueError(f"must be true or false, got {value!r}")
    return value


def _state(value: str) -> str:
    return normalize_state(value)


_CONVERTERS: Mapping[str, Callable[[object], object]] = {
    "profile": _string(_nonempty),
    "regions": _strings(check_region),
    "endpoint_url": _string(check_endpoint),
    "image_ids": _strings(validate_ami_id),
    "buckets": _strings(check_bucket),
    "states": _strings(_state),
    "interval": check_interval,
    "theme": _string(_nonempty),
    "bell": _boolean,
    "log_level": _string(check_log_level),
}
assert set(_CONVERTERS) == {f.name for f in fields(Config)}


# Loading -------------------------------------------------------------------------------


def default_path() -> Path:
    """Where the config file lives when neither --config nor AMIMON_CONFIG says otherwise."""
    from platformdirs import user_config_path

    return user_config_path("amimon") / "config.toml"


def config_path(
    explicit: str | os.PathLike[str] | None, env: Mapping[str, str]
) -> tuple[Path, bool]:
    """The file to read and whether it must exist (it must when named explicitly)."""
    if explicit is not None:
        return Path(explicit), True
    if env.get(CONFIG_ENV):
        return Path(env[CONFIG_ENV]), True
    return default_path(), False


def _line_of(text: str, key: str) -> int | None:
    quoted = re.escape(key)
    pattern = re.compile(
        rf"""^[ \t]*(?:{quoted}|"{quoted}"|'{quoted}')[ \t]*=|^[ \t]*\[+[ \t]*{quoted}[ \t]*\]""",
        re.MULTILINE,
    )
    match = pattern.search(text)
    return text.count("\n", 0, match.start()) + 1 if match else None


def parse_config(text: str, path: Path) -> Config:
    """Check and convert the TOML text of a config file."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        found = re.search(r"\(at line (\d+), column (\d+)\)", str(exc))
        message = re.sub(r"\s*\(at line \d+, column \d+\)", "", str(exc))
        row, column = (int(found.group(1)), int(found.group(2))) if found else (None, None)
        raise ConfigError(f"invalid TOML: {message}", path=path, line=row, column=column) from None
    values: dict[str, object] = {}
    for key, raw in data.items():
        line = _line_of(text, key)
        converter = _CONVERTERS.get(key)
        if converter is None:
            known = ", ".join(sorted(_CONVERTERS))
            raise ConfigError(f"unknown key (known keys: {known})", path=path, line=line, key=key)
        try:
            values[key] = converter(raw)
        except ValueError as exc:
            raise ConfigError(str(exc), path=path, line=line, key=key) from None
    return Config(**values)  # type: ignore[arg-type]


def load_config(
    explicit: str | os.PathLike[str] | None = None, env: Mapping[str, str] | None = None
) -> Config:
    """Load the config file (``--config`` > ``AMIMON_CONFIG`` > the platform's config dir)."""
    path, required = config_path(explicit, os.environ if env is None else env)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        if required:
            raise ConfigError("config file not found", path=path) from None
        return Config()
    except OSError as exc:
        raise ConfigError(f"cannot read config file: {exc.strerror or exc}", path=path) from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise ConfigError("config file is not UTF-8 text", path=path) from None
    return parse_config(text, path)

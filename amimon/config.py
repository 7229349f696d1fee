"""Settings from a TOML file (found via platformdirs), checked strictly, overridable by flags.

amimon never writes the file. A missing default file means defaults; any problem in a file
that exists is a ``ConfigError`` naming the file, the line and the key.
"""

from __future__ import annotations

import math
import os
import re
import shlex
from collections.abc import Callable, Mapping
from dataclasses import field, fields, replace
from pathlib import Path
from typing import Any

from amimon.derive import DEFAULT_STORE_QUOTA_GB
from amimon.durations import parse_duration
from amimon.model import normalize_state, validate_ami_id
from amimon.records import record

__all__ = ["Config", "ConfigError", "load_config", "parse_duration"]

CONFIG_ENV = "AMIMON_CONFIG"
MIN_INTERVAL = 5.0
MAX_INTERVAL = 3600.0
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


@record
class Config:
    """Every setting amimon has, with its default. ``config.example.toml`` documents each."""

    profiles: tuple[str, ...] = ()
    regions: tuple[str, ...] = ()
    endpoint_url: str | None = None
    image_ids: tuple[str, ...] = ()
    buckets: tuple[str, ...] = ()
    states: tuple[str, ...] = ()
    interval: float = DEFAULT_INTERVAL
    theme: str = "textual-dark"
    bell: bool = True
    log_level: str = "WARNING"
    store_quota_gb: int = DEFAULT_STORE_QUOTA_GB
    on_event: tuple[str, ...] = ()
    on_event_timeout: float = 30.0
    # The history database (amimon.history): on or off, where, and for how many days.
    history: bool = True
    history_path: str | None = None
    history_days: int = 400
    # Where each key was set (file and line), so a value found wrong later (a theme the
    # monitor does not know) is still reported against its line.
    origins: Mapping[str, tuple[Path, int | None]] = field(
        default_factory=dict, compare=False, repr=False
    )

    def with_overrides(self, **overrides: Any) -> Config:
        """A copy with every override that is not None (or an empty sequence) applied.
        Sequences are de-duplicated, keeping their order."""
        given = {k: v for k, v in overrides.items() if v is not None and v != () and v != []}
        for name in ("profiles", "regions", "image_ids", "buckets", "states"):
            if name in given:
                given[name] = tuple(dict.fromkeys(given[name]))
        if "on_event" in given:
            given["on_event"] = tuple(given["on_event"])  # an argument list: keep repeats
        origins = {k: v for k, v in self.origins.items() if k not in given}
        return replace(self, origins=origins, **given)

    def error(self, key: str, message: str) -> ConfigError:
        """A ConfigError about ``key``, naming the file and line it was set on, if any."""
        path, line = self.origins.get(key, (None, None))
        return ConfigError(message, path=path, line=line, key=key)


# Validators, shared by the file loader and the command line -----------------------------


def check_interval(value: object) -> float:
    """Seconds between polls: a number (or a duration string like ``"30s"``), 5 s to 1 h."""
    if isinstance(value, str):
        value = parse_duration(value)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"must be a number of seconds, got {value!r}")
    if not math.isfinite(value) or not MIN_INTERVAL <= value <= MAX_INTERVAL:
        raise ValueError(
            f"must be from {MIN_INTERVAL:g} seconds (DescribeStoreImageTasks is rate-limited "
            f"per account) to {MAX_INTERVAL:g} seconds (1 hour), got {value:g}"
        )
    return float(value)


def check_region(value: str) -> str:
    if not _REGION_RE.match(value):
        raise ValueError(f"{value!r} is not a region name (like us-east-1)")
    return value


def check_endpoint(value: str) -> str:
    """An http(s) URL that botocore can use as it is: a host, a port in range, no user
    name or password (they would be written wherever the URL is, the log file included)."""
    if not re.match(r"^https?://[^\s/]+", value):
        raise ValueError(f"{value!r} is not an http(s) URL")
    from urllib.parse import urlsplit

    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 (raises for a port out of range or not a number)
    except ValueError as exc:
        raise ValueError(f"{value!r} is not a usable URL: {exc}") from None
    if parts.username is not None or parts.password is not None:
        raise ValueError(
            "must not hold a user name or password (user:password@): amimon would write "
            "them to its log; EC2 endpoints take AWS credentials, not these"
        )
    if not parts.hostname:
        raise ValueError(f"{value!r} has no host name")
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


def check_history_days(value: object) -> int:
    """Days of history to keep: a whole number from 1."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"must be a whole number of days, got {value!r}")
    if value < 1:
        raise ValueError(f"must be at least 1 day, got {value}")
    return value


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
    """A list of strings, or one string meaning a list of one."""

    def convert(value: object) -> object:
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list):
            raise ValueError(f"must be a string or a list of strings, got {type(value).__name__}")
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


def check_quota(value: object) -> int:
    """The account's limit on snapshot data in in-progress store tasks, in GB."""
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ValueError(f"must be a whole number of GB greater than 0, got {value!r}")
    return value


def check_command(value: object) -> tuple[str, ...]:
    """A command as an argument list (never run through a shell); a string is split the
    way a shell would split it, but no shell ever sees it."""
    if isinstance(value, str):
        try:
            words = shlex.split(value)
        except ValueError as exc:
            raise ValueError(f"cannot split {value!r} into words: {exc}") from None
    elif isinstance(value, list) and all(isinstance(w, str) for w in value):
        words = list(value)
    else:
        raise ValueError(
            f"must be a list of strings (the command and its arguments), got {value!r}"
        )
    if isinstance(value, list) and not words:
        return ()  # the file's way of saying: no command
    if not words or not words[0].strip():
        raise ValueError("must name a command")
    return tuple(words)


def check_timeout(value: object) -> float:
    """Seconds, as a number or a duration like ``"30s"``; more than 0, at most an hour."""
    if isinstance(value, str):
        value = parse_duration(value)
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ValueError(f"must be a number of seconds, got {value!r}")
    if not 0 < value <= 3600:
        raise ValueError(f"must be more than 0 and at most 3600 seconds, got {value!r}")
    return float(value)


def _state(value: str) -> str:
    return normalize_state(value)


_CONVERTERS: Mapping[str, Callable[[object], object]] = {
    "profiles": _strings(_nonempty),
    "regions": _strings(check_region),
    "endpoint_url": _string(check_endpoint),
    "image_ids": _strings(validate_ami_id),
    "buckets": _strings(check_bucket),
    "states": _strings(_state),
    "interval": check_interval,
    "theme": _string(_nonempty),
    "bell": _boolean,
    "log_level": _string(check_log_level),
    "store_quota_gb": check_quota,
    "on_event": check_command,
    "on_event_timeout": check_timeout,
    "history": _boolean,
    "history_path": _string(_nonempty),
    "history_days": check_history_days,
}
assert set(_CONVERTERS) == {f.name for f in fields(Config)} - {"origins"}
# Accepted spellings of a key: one profile is written ``profile = "prod"``.
_ALIASES = {"profile": "profiles"}


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
    import tomllib  # here: without a config file (the usual case) start-up never needs it

    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        found = re.search(r"\(at line (\d+), column (\d+)\)", str(exc))
        message = re.sub(r"\s*\(at line \d+, column \d+\)", "", str(exc))
        row, column = (int(found.group(1)), int(found.group(2))) if found else (None, None)
        raise ConfigError(f"invalid TOML: {message}", path=path, line=row, column=column) from None
    values: dict[str, object] = {}
    origins: dict[str, tuple[Path, int | None]] = {}
    for key, raw in data.items():
        line = _line_of(text, key)
        name = _ALIASES.get(key, key)
        converter = _CONVERTERS.get(name)
        if converter is None:
            known = ", ".join(sorted([*_CONVERTERS, *_ALIASES]))
            raise ConfigError(f"unknown key (known keys: {known})", path=path, line=line, key=key)
        if name in values:
            raise ConfigError(
                f"set twice: use either '{name}' or its alias", path=path, line=line, key=key
            )
        try:
            values[name] = converter(raw)
        except ValueError as exc:
            raise ConfigError(str(exc), path=path, line=line, key=key) from None
        origins[name] = (path, line)
    return Config(**values, origins=origins)  # type: ignore[arg-type]


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

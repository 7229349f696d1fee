"""The user's AWS profiles and regions, read from the AWS config files without botocore.

Cheap enough to run before the first frame, so a misspelt profile or a missing region
stops amimon with a clear message instead of a monitor that retries forever.
"""

from __future__ import annotations

import configparser
import contextlib
from collections.abc import Mapping
from pathlib import Path


def _path(env: Mapping[str, str], variable: str, default: str) -> Path:
    value = env.get(variable)
    if value:
        return Path(value).expanduser()
    home = env.get("HOME") or str(Path.home())
    return Path(home) / ".aws" / default


def _read(path: Path) -> configparser.RawConfigParser:
    parser = configparser.RawConfigParser(strict=False, interpolation=None)
    # botocore says what is wrong with a broken file when it reads it.
    with contextlib.suppress(configparser.Error, OSError, UnicodeDecodeError):
        parser.read(path, encoding="utf-8")
    return parser


class AwsFiles:
    """The profiles in ``~/.aws/config`` and ``~/.aws/credentials`` (or the files
    ``AWS_CONFIG_FILE`` and ``AWS_SHARED_CREDENTIALS_FILE`` name)."""

    def __init__(self, env: Mapping[str, str]) -> None:
        self.env = env
        self.config_path = _path(env, "AWS_CONFIG_FILE", "config")
        self.credentials_path = _path(env, "AWS_SHARED_CREDENTIALS_FILE", "credentials")
        self._config = _read(self.config_path)
        self._credentials = _read(self.credentials_path)

    def _section(self, profile: str) -> str | None:
        for name in (f"profile {profile}", profile) if profile != "default" else ("default",):
            if self._config.has_section(name):
                return name
        return None

    def profiles(self) -> set[str]:
        names = set(self._credentials.sections())
        for section in self._config.sections():
            if section == "default":
                names.add("default")
            elif section.startswith("profile "):
                names.add(section[len("profile ") :].strip())
        return names

    def has_profile(self, profile: str) -> bool:
        return profile in self.profiles()

    def region(self, profile: str | None) -> str | None:
        """The region botocore and the AWS CLI would use for ``profile``: AWS_REGION,
        AWS_DEFAULT_REGION, then the profile's ``region`` setting."""
        for variable in ("AWS_REGION", "AWS_DEFAULT_REGION"):
            if self.env.get(variable):
                return self.env[variable]
        section = self._section(profile or "default")
        if section is None:
            return None
        value = self._config.get(section, "region", fallback=None)
        return value.strip() if value and value.strip() else None

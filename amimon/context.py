"""The composition root: merged settings, the targets to watch, exit codes, the demo."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import replace
from enum import IntEnum
from pathlib import Path
from typing import TYPE_CHECKING

from amimon.config import Config, ConfigError
from amimon.model import Target
from amimon.records import record

if TYPE_CHECKING:
    from amimon.aws import Ec2TaskSource, Query, StaticCredentials
    from amimon.aws.paging import Waiter
    from amimon.demo import DemoEndpoint


class Exit(IntEnum):
    """amimon's exit codes, one place for all commands."""

    OK = 0
    TASK_FAILED = 1
    USAGE = 2
    TIMEOUT = 3
    AWS = 4
    INTERRUPTED = 130
    HANGUP = 129
    BROKEN_PIPE = 141  # as a shell reports a command killed by SIGPIPE
    TERMINATED = 143


EXIT_CODES_HELP = """\
exit codes:
  0    success
  1    a task failed (wait)
  2    usage or config error
  3    timeout (wait)
  4    AWS access or network error
  130  interrupted (Ctrl+C); 129 and 143 on SIGHUP and SIGTERM
  141  the output's reader went away (a closed pipe)
"""


@record
class Context:
    """What every command gets: the merged config, the targets, and in demo mode the
    simulator it runs against (with dummy credentials for that client only)."""

    config: Config
    targets: tuple[Target, ...]
    demo: DemoEndpoint | None = None
    # The history file (amimon.history), None when history is off.
    history_path: Path | None = None
    # A temporary directory this context made (the demo's history) and removes at close.
    scratch: Path | None = None

    @property
    def credentials(self) -> StaticCredentials | None:
        if self.demo is None:
            return None
        from amimon.aws import StaticCredentials
        from amimon.demo import DEMO_CREDENTIALS

        return StaticCredentials(*DEMO_CREDENTIALS)

    @property
    def several_profiles(self) -> bool:
        return len({t.profile for t in self.targets}) > 1

    @property
    def several_regions(self) -> bool:
        return len({t.region for t in self.targets}) > 1

    def source(self, query: Query | None = None, *, waiter: Waiter | None = None) -> Ec2TaskSource:
        """A task source for the targets; by default it watches the configured image ids
        and sends no filters (the view applies them)."""
        from amimon.aws import Ec2TaskSource, Query

        if query is None:
            query = Query(image_ids=self.config.image_ids)
        prepare = self.demo.start if self.demo is not None else None
        return Ec2TaskSource(
            self.targets, query, credentials=self.credentials, waiter=waiter, prepare=prepare
        )

    def close(self) -> None:
        if self.demo is not None:
            self.demo.stop()
        if self.scratch is not None:
            shutil.rmtree(self.scratch, ignore_errors=True)


def history_path(config: Config, *, demo: bool = False) -> Path | None:
    """Where the history lives: ``history_path`` (``~`` expanded), else the platform state
    dir; None when history is off. The demo never touches the user's history: it takes
    only a path given on the command line (one from the config file is ignored)."""
    if not config.history:
        return None
    if demo and "history_path" in config.origins:
        return None
    if config.history_path:
        return Path(config.history_path).expanduser()
    if demo:
        return None
    from amimon.history.files import default_path

    return default_path()


def resolve_targets(config: Config, env: Mapping[str, str]) -> tuple[Target, ...]:
    """Every profile with every region, each profile checked and each region resolved as the AWS CLI
    would (flags, AWS_REGION, AWS_DEFAULT_REGION, the profile's config); raises
    ``ConfigError`` for an unknown profile or when no region can be found."""
    from amimon.aws.profiles import AwsFiles

    files = AwsFiles(env)
    profiles: Sequence[str | None] = config.profiles or (env.get("AWS_PROFILE") or None,)
    targets: list[Target] = []
    for profile in profiles:
        if profile is not None and not files.has_profile(profile):
            known = ", ".join(sorted(files.profiles())) or "none"
            raise ConfigError(
                f"AWS profile {profile!r} is not in {files.config_path} or "
                f"{files.credentials_path} (profiles found: {known})",
                key="profile",
            )
        regions: Sequence[str | None] = config.regions or (files.region(profile),)
        for region in regions:
            if region is None:
                who = f"profile {profile!r}" if profile else "the default profile"
                raise ConfigError(
                    f"no AWS region for {who}: pass --region, set AWS_REGION, or set "
                    f"region in {files.config_path}",
                    key="regions",
                )
            targets.append(Target(profile, region, config.endpoint_url))
    return tuple(dict.fromkeys(targets))


def make_context(config: Config, env: Mapping[str, str], *, demo: bool = False) -> Context:
    """Work out the targets; for the demo, reserve the simulator's port (it starts, in a
    child process, with the first request; ``Context.close()`` ends it)."""
    if not demo:
        targets = resolve_targets(config, env)
        return Context(config=config, targets=targets, history_path=history_path(config))
    from amimon.demo import DEMO_REGION, DemoEndpoint

    endpoint = DemoEndpoint()
    # The demo never looks at the user's profiles or credentials.
    config = replace(
        config.with_overrides(endpoint_url=endpoint.url, regions=config.regions or (DEMO_REGION,)),
        profiles=(),
    )
    targets = tuple(Target(None, r, endpoint.url) for r in config.regions)
    # Without --history PATH, the demo keeps its history in a temporary directory.
    path, scratch = history_path(config, demo=True), None
    if path is None and config.history:
        scratch = Path(tempfile.mkdtemp(prefix="amimon-demo-"))
        path = scratch / "history.sqlite3"
    return Context(
        config=config,
        targets=targets,
        demo=endpoint,
        history_path=path,
        scratch=scratch,
    )

"""The command line: parse flags, merge them over the config file, dispatch a subcommand."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from importlib import import_module
from typing import TYPE_CHECKING

from amimon import __version__
from amimon.aws import Ec2TaskSource, Query, StaticCredentials
from amimon.config import (
    Config,
    ConfigError,
    check_bucket,
    check_endpoint,
    check_interval,
    check_log_level,
    check_region,
    load_config,
    parse_duration,
)
from amimon.model import Target, normalize_state, validate_ami_id

if TYPE_CHECKING:
    from amimon.sim import SimServer

EXIT_OK = 0
EXIT_TASK_FAILED = 1
EXIT_USAGE = 2
EXIT_TIMEOUT = 3
EXIT_AWS = 4

EXIT_CODES_HELP = """\
exit codes:
  0  success
  1  a task failed (wait)
  2  usage or config error
  3  timeout (wait)
  4  AWS access or network error
"""


class UsageError(Exception):
    """A bad flag value: printed as one line, exit 2."""


@dataclass(frozen=True)
class Context:
    """What every command gets: the merged config, the targets, and in demo mode the
    simulator it runs against (with dummy credentials for that client only)."""

    config: Config
    targets: tuple[Target, ...]
    demo: SimServer | None = None

    @property
    def credentials(self) -> StaticCredentials | None:
        if self.demo is None:
            return None
        from amimon.sim import DEMO_CREDENTIALS

        return StaticCredentials(*DEMO_CREDENTIALS)

    def source(self) -> Ec2TaskSource:
        """A task source for the targets and the configured query."""
        query = Query(
            image_ids=self.config.image_ids,
            buckets=self.config.buckets,
            states=self.config.states,
        )
        return Ec2TaskSource(self.targets, query, credentials=self.credentials)

    def close(self) -> None:
        if self.demo is not None:
            self.demo.stop()


def _flag(check: Callable[[str], object], flag: str) -> Callable[[str], object]:
    """Wrap a validator so argparse reports ``argument --flag: <reason>``."""

    def convert(value: str) -> object:
        try:
            return check(value)
        except ValueError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None

    convert.__name__ = flag
    return convert


def _interval(value: str) -> float:
    try:
        number = float(value)
    except ValueError:
        raise ValueError(f"{value!r} is not a number of seconds") from None
    return check_interval(number)


def _ami_ids(value: str) -> list[str]:
    return [validate_ami_id(v) for v in value.replace(",", " ").split() if v]


def add_common_options(parser: argparse.ArgumentParser, *, nested: bool) -> None:
    """Options every command takes. On subcommands they default to SUPPRESS so a value
    given before the subcommand name is not overwritten."""
    default = argparse.SUPPRESS if nested else None
    group = parser.add_argument_group("AWS and polling")
    group.add_argument("--profile", default=default, help="AWS profile (default: AWS_PROFILE)")
    group.add_argument(
        "--region",
        dest="regions",
        action="append",
        type=_flag(check_region, "region"),
        default=default,
        metavar="REGION",
        help="region to watch; repeat for several (default: AWS_REGION or the profile's)",
    )
    group.add_argument(
        "--endpoint-url",
        type=_flag(check_endpoint, "endpoint-url"),
        default=default,
        metavar="URL",
        help="EC2 endpoint, e.g. a VPC or FIPS endpoint",
    )
    group.add_argument(
        "--image-ids",
        dest="image_ids",
        action="extend",
        type=_flag(_ami_ids, "image-ids"),
        default=default,
        metavar="AMI_IDS",
        help="only these AMIs (comma-separated; repeatable)",
    )
    group.add_argument(
        "--bucket",
        dest="buckets",
        action="append",
        type=_flag(check_bucket, "bucket"),
        default=default,
        help="only tasks storing to this bucket; repeat for several",
    )
    group.add_argument(
        "--state",
        dest="states",
        action="append",
        type=_flag(normalize_state, "state"),
        default=default,
        help="only tasks in this state (InProgress, Completed, Failed; any case); repeatable",
    )
    group.add_argument(
        "--interval",
        type=_flag(_interval, "interval"),
        default=default,
        metavar="SECONDS",
        help="seconds between polls (default 15, minimum 5)",
    )
    group.add_argument(
        "--demo",
        action="store_true",
        default=default,
        help="run against the built-in simulator on 127.0.0.1 (no AWS account needed)",
    )
    group.add_argument(
        "--config",
        default=default,
        metavar="PATH",
        help="config file (default: AMIMON_CONFIG or the platform config dir)",
    )
    group.add_argument(
        "--log-level",
        type=_flag(check_log_level, "log-level"),
        default=default,
        metavar="LEVEL",
        help="log file verbosity: debug, info, warning (default), error",
    )


Handler = Callable[[argparse.Namespace, "Context"], int]


@dataclass(frozen=True)
class CommandSpec:
    """A subcommand: its help, its own options, and where its handler lives (imported only
    when run, so ``amimon list`` never imports Textual)."""

    help: str
    configure: Callable[[argparse.ArgumentParser], None]
    handler: str  # "module:function"
    common: bool = True  # takes the AWS and polling options


def _configure_sim(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (default: any free)")
    parser.add_argument(
        "--speed",
        type=_flag(_positive, "speed"),
        default=1.0,
        help="simulated seconds per real second (default 1)",
    )
    parser.add_argument("--scenario", metavar="FILE", help="scenario TOML (default: built-in demo)")
    parser.add_argument(
        "--throttle",
        action="store_true",
        help="throttle like AWS: token buckets per region and API family (RequestLimitExceeded)",
    )


def _positive(value: str) -> float:
    try:
        number = float(value)
    except ValueError:
        raise ValueError(f"{value!r} is not a number") from None
    if not number > 0:
        raise ValueError(f"must be greater than 0, got {value}")
    return number


def _no_options(parser: argparse.ArgumentParser) -> None:
    pass


def _configure_list(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--output",
        "-o",
        choices=("table", "json", "csv"),
        default="table",
        help="table (default), json (the AWS CLI's document) or csv",
    )


def _configure_wait(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "ami_ids", nargs="+", metavar="AMI_ID", type=_flag(validate_ami_id, "AMI_ID")
    )
    parser.add_argument(
        "--timeout",
        type=_flag(parse_duration, "timeout"),
        default=None,
        metavar="DURATION",
        help="give up after this long, e.g. 90m or 6h (default: as long as it takes)",
    )
    parser.add_argument(
        "--grace",
        type=_flag(parse_duration, "grace"),
        default=300.0,
        metavar="DURATION",
        help="how long an AMI may have no store task before giving up (default 5m)",
    )


COMMANDS: dict[str, CommandSpec] = {
    "watch": CommandSpec(
        "the live monitor (the default when no command is given)",
        _no_options,
        "amimon.tui.app:run",
    ),
    "list": CommandSpec(
        "print the store tasks once (table, or json/csv for scripts)",
        _configure_list,
        "amimon.commands:run_list",
    ),
    "wait": CommandSpec(
        "wait until each AMI's newest store task completes (exit 0), fails (1) or times out (3)",
        _configure_wait,
        "amimon.commands:run_wait",
    ),
    "check": CommandSpec(
        "check that each profile/region may call ec2:DescribeStoreImageTasks (DryRun)",
        _no_options,
        "amimon.commands:run_check",
    ),
    "sim": CommandSpec(
        "run the embedded EC2-compatible simulator on 127.0.0.1 (for trying amimon and the AWS CLI)",
        _configure_sim,
        "amimon.sim.command:run",
        common=False,
    ),
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="amimon",
        description="Monitor AWS EC2 AMI store tasks (CreateStoreImageTask) from the terminal.",
        epilog=EXIT_CODES_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"amimon {__version__}")
    add_common_options(parser, nested=False)
    if COMMANDS:
        sub = parser.add_subparsers(dest="command", metavar="COMMAND")
        for name, spec in COMMANDS.items():
            child = sub.add_parser(
                name,
                help=spec.help,
                description=spec.help,
                epilog=EXIT_CODES_HELP,
                formatter_class=argparse.RawDescriptionHelpFormatter,
            )
            if spec.common:
                add_common_options(child, nested=True)
            spec.configure(child)
    return parser


DEMO_REGION = "us-east-1"


def make_context(args: argparse.Namespace, env: Mapping[str, str]) -> Context:
    """Merge flags over the config file, work out the targets, start the demo if asked."""
    config = load_config(getattr(args, "config", None), env).with_overrides(
        profile=getattr(args, "profile", None),
        regions=getattr(args, "regions", None),
        endpoint_url=getattr(args, "endpoint_url", None),
        image_ids=getattr(args, "image_ids", None),
        buckets=getattr(args, "buckets", None),
        states=getattr(args, "states", None),
        interval=getattr(args, "interval", None),
        log_level=getattr(args, "log_level", None),
    )
    demo = None
    if getattr(args, "demo", False):
        from amimon.sim import SimServer

        demo = SimServer().start()
        # The demo never looks at the user's profiles or credentials.
        config = config.with_overrides(
            endpoint_url=demo.url, regions=config.regions or (DEMO_REGION,)
        )
        profile = None
    else:
        profile = config.profile or env.get("AWS_PROFILE") or None
    regions: Sequence[str | None] = config.regions or (None,)
    targets = tuple(dict.fromkeys(Target(profile, r, config.endpoint_url) for r in regions))
    return Context(config=config, targets=targets, demo=demo)


def main(argv: Sequence[str] | None = None, env: Mapping[str, str] | None = None) -> int:
    """Run amimon; returns the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    command = getattr(args, "command", None) or "watch"
    spec = COMMANDS.get(command)
    handler: Handler | None = None
    if spec is not None:
        module, _, name = spec.handler.partition(":")
        handler = getattr(import_module(module), name)
    if spec is not None and not spec.common:
        assert handler is not None
        return handler(args, Context(Config(), ()))
    environ = os.environ if env is None else env
    try:
        context = make_context(args, environ)
    except ConfigError as exc:
        print(f"amimon: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    assert handler is not None
    from amimon import logs

    logs.configure(context.config.log_level)
    try:
        return handler(args, context)
    except KeyboardInterrupt:
        return 130
    finally:
        context.close()

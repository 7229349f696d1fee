"""The command line: parse flags, merge them over the config file, dispatch a subcommand."""

from __future__ import annotations

import argparse
import gc
import os
import sys
from collections.abc import Callable, Mapping, Sequence
from importlib import import_module

from amimon import __version__
from amimon.config import (
    Config,
    ConfigError,
    check_bucket,
    check_command,
    check_endpoint,
    check_interval,
    check_log_level,
    check_region,
    load_config,
)
from amimon.context import EXIT_CODES_HELP, Context, Exit, history_path, make_context
from amimon.durations import parse_duration
from amimon.model import normalize_state, validate_ami_id
from amimon.records import record


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
        seconds: float = float(value)
    except ValueError:
        seconds = parse_duration(value)
    return check_interval(seconds)


def _history_path(value: str) -> str:
    if not value.strip():
        raise ValueError("must not be empty")
    return value


def _regions(value: str) -> list[str]:
    regions = [check_region(v) for v in value.split(",") if v.strip()]
    if not regions:
        raise ValueError("must name a region, like us-east-1")
    return regions


def _ami_ids(value: str) -> list[str]:
    return [validate_ami_id(v) for v in value.replace(",", " ").split() if v]


def add_common_options(parser: argparse.ArgumentParser, *, nested: bool) -> None:
    """Options every command takes. On subcommands they default to SUPPRESS so a value
    given before the subcommand name is not overwritten."""
    default = argparse.SUPPRESS if nested else None
    group = parser.add_argument_group("AWS and polling")
    group.add_argument(
        "--profile",
        dest="profiles",
        action="append",
        default=default,
        metavar="PROFILE",
        help="AWS profile; repeat to watch several at once (default: AWS_PROFILE)",
    )
    group.add_argument(
        "--region",
        dest="regions",
        action="extend",
        type=_flag(_regions, "region"),
        default=default,
        metavar="REGION",
        help="region to watch; repeat (or separate with commas) for several, polled concurrently "
        "(default: AWS_REGION, AWS_DEFAULT_REGION or the profile's)",
    )
    group.add_argument(
        "--endpoint-url",
        type=_flag(check_endpoint, "endpoint-url"),
        default=default,
        metavar="URL",
        help="EC2 endpoint, e.g. a VPC or FIPS endpoint (http(s), no user:password@)",
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
        help="show only tasks storing to this bucket; repeat for several (exact name)",
    )
    group.add_argument(
        "--state",
        dest="states",
        action="append",
        type=_flag(normalize_state, "state"),
        default=default,
        help="show only tasks in this state (InProgress, Completed, Failed; any case); "
        "repeatable. The monitor still follows every task to its end",
    )
    group.add_argument(
        "--interval",
        type=_flag(_interval, "interval"),
        default=default,
        metavar="SECONDS",
        help="time between polls: seconds or a duration like 30s or 1m (default 15, "
        "from 5 s to 1 h; the demo's monitor polls every 2 s unless given)",
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
    history = group.add_mutually_exclusive_group()
    history.add_argument(
        "--history",
        dest="history_path",
        type=_flag(_history_path, "history"),
        default=default,
        metavar="PATH",
        help="keep the history in this SQLite file (default: history_path, or the "
        "platform state dir; the demo uses a temporary file)",
    )
    history.add_argument(
        "--no-history",
        dest="no_history",
        action="store_true",
        default=default,
        help="neither read nor write the history this run",
    )
    group.add_argument(
        "--on-event",
        type=_flag(check_command, "on-event"),
        default=default,
        metavar="COMMAND",
        help="run COMMAND (split into words, never given to a shell) for each task that "
        "completes, fails or stalls; the task arrives in AMIMON_* environment variables",
    )
    group.add_argument(
        "--log-level",
        type=_flag(check_log_level, "log-level"),
        default=default,
        metavar="LEVEL",
        help="log file verbosity: debug, info, warning (default), error",
    )


Handler = Callable[[argparse.Namespace, Context], int]


@record
class CommandSpec:
    """A subcommand: its help, its own options, and where its handler lives (imported only
    when run, so ``amimon list`` never imports Textual)."""

    help: str
    configure: Callable[[argparse.ArgumentParser], None]
    handler: str  # "module:function"
    common: bool = True  # takes the AWS and polling options
    targets: bool = True  # needs the targets resolved (a region, a known profile)


def _configure_sim(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--port",
        type=_flag(_port, "port"),
        default=0,
        help="port on 127.0.0.1 (default: any free)",
    )
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


def _port(value: str) -> int:
    try:
        port = int(value)
    except ValueError:
        raise ValueError(f"{value!r} is not a port number") from None
    if not 0 <= port <= 65535:
        raise ValueError(f"must be from 0 (any free port) to 65535, got {value}")
    return port


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
    parser.add_argument(
        "--wide",
        action="store_true",
        help="add the AMI's Name and SizeGiB (snapshot GiB, from ec2:DescribeImages) to "
        "the table or CSV; -o json stays the AWS CLI's document",
    )


def _configure_wait(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "ami_ids",
        nargs="*",
        metavar="AMI_ID",
        type=_flag(validate_ami_id, "AMI_ID"),
        help="AMIs to wait for (with --image-ids, those too; each once)",
    )
    parser.add_argument(
        "--timeout",
        type=_flag(parse_duration, "timeout"),
        default=None,
        metavar="DURATION",
        help="give up after this long, e.g. 90m, 1h30m or 6h (default: as long as it "
        "takes); one last poll runs at the deadline",
    )
    parser.add_argument(
        "--since",
        default=None,
        metavar="TIME|DURATION",
        help="ignore store tasks that started earlier: an ISO-8601 time (UTC unless it has "
        "an offset) or a duration back from now, e.g. 2h (default: any task in the "
        "31-day window)",
    )
    parser.add_argument(
        "--grace",
        type=_flag(parse_duration, "grace"),
        default=300.0,
        metavar="DURATION",
        help="how long an AMI may have no store task before giving up (default 5m)",
    )


def _configure_history(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--since",
        default=None,
        metavar="TIME|DURATION",
        help="only tasks that started since: an ISO-8601 time (UTC unless it has an offset) "
        "or a duration back from now, e.g. 30d (default: all the history keeps)",
    )
    parser.add_argument(
        "--output",
        "-o",
        choices=("table", "json", "csv"),
        default="table",
        help="table with a summary per bucket (default), json, or csv (tasks only)",
    )


COMMANDS: dict[str, CommandSpec] = {
    "watch": CommandSpec(
        "the live monitor (the default when no command is given)",
        _no_options,
        "amimon.commands.watch:run",
    ),
    "list": CommandSpec(
        "print the store tasks once (table, or json/csv for scripts)",
        _configure_list,
        "amimon.commands.list:run",
    ),
    "wait": CommandSpec(
        "wait until each AMI's newest store task completes (exit 0), fails (1) or times out (3)",
        _configure_wait,
        "amimon.commands.wait:run",
    ),
    "check": CommandSpec(
        "check that each profile/region may call ec2:DescribeStoreImageTasks (DryRun)",
        _no_options,
        "amimon.commands.check:run",
    ),
    "history": CommandSpec(
        "finished store tasks amimon saw, also those AWS no longer returns (after 31 days): "
        "when each ended, how long it took, and a summary per bucket",
        _configure_history,
        "amimon.commands.history:run",
        targets=False,
    ),
    "sim": CommandSpec(
        "run the embedded EC2-compatible simulator on 127.0.0.1 (for trying amimon and the AWS CLI)",
        _configure_sim,
        "amimon.sim.command:run",
        common=False,
    ),
}


def build_parser(argv: Sequence[str] | None = None) -> argparse.ArgumentParser:
    """The parser; given the ``argv`` it will parse, only the commands named in it get
    their options (every command's name and help line is always there, for ``--help``
    and for the error a misspelt one gets): the monitor starts sooner without the other
    commands' options."""
    named = None if argv is None else set(argv)
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
            if named is not None and name not in named:
                continue
            if spec.common:
                add_common_options(child, nested=True)
            spec.configure(child)
    return parser


def context_from(
    args: argparse.Namespace, env: Mapping[str, str], *, targets: bool = True
) -> Context:
    """Merge flags over the config file and work out the targets (or start the demo);
    without ``targets``, only the config and the history path (nothing is resolved)."""
    history_flag = getattr(args, "history_path", None)
    history = False if getattr(args, "no_history", None) else True if history_flag else None
    config = load_config(getattr(args, "config", None), env).with_overrides(
        profiles=getattr(args, "profiles", None),
        regions=getattr(args, "regions", None),
        endpoint_url=getattr(args, "endpoint_url", None),
        image_ids=getattr(args, "image_ids", None),
        buckets=getattr(args, "buckets", None),
        states=getattr(args, "states", None),
        interval=getattr(args, "interval", None),
        log_level=getattr(args, "log_level", None),
        on_event=getattr(args, "on_event", None),
        history=history,
        history_path=history_flag,
    )
    demo = bool(getattr(args, "demo", False))
    if not targets:
        return Context(config, (), history_path=history_path(config, demo=demo))
    return make_context(config, env, demo=demo)


def main(argv: Sequence[str] | None = None, env: Mapping[str, str] | None = None) -> int:
    """Run amimon; returns the exit code."""
    # Start-up allocates hundreds of thousands of long-lived objects (Textual, Rich, the
    # EC2 model): cyclic collection meanwhile is wasted work. The monitor turns it back
    # on once its first poll's answer is drawn, or a second after its first frame (and
    # freezes what start-up made); other commands before they run.
    gc.disable()
    try:
        return _main(argv, env)
    except BrokenPipeError:
        # The reader went away (``amimon list | head``): no traceback, nothing more to say.
        # Further writes to stdout would fail again at exit, so point it at /dev/null.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return Exit.BROKEN_PIPE
    finally:
        gc.enable()


def _main(argv: Sequence[str] | None, env: Mapping[str, str] | None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    args = build_parser(argv).parse_args(argv)
    command = getattr(args, "command", None) or "watch"
    spec = COMMANDS[command]
    module, _, name = spec.handler.partition(":")
    handler: Handler = getattr(import_module(module), name)
    if not spec.common:
        gc.enable()
        return handler(args, Context(Config(), ()))
    environ = os.environ if env is None else env
    try:
        context = context_from(args, environ, targets=spec.targets)
    except ConfigError as exc:
        print(f"amimon: error: {exc}", file=sys.stderr)
        return Exit.USAGE
    from amimon import logs

    logs.configure(context.config.log_level)
    if command != "watch":
        gc.enable()
    try:
        return handler(args, context)
    except KeyboardInterrupt:
        print("amimon: interrupted", file=sys.stderr)
        return Exit.INTERRUPTED
    finally:
        context.close()

"""``amimon check``: is each profile and region permitted to call DescribeStoreImageTasks?"""

from __future__ import annotations

import argparse

from rich.console import Console
from rich.text import Text

from amimon import render
from amimon.aws import AwsError
from amimon.context import Context, Exit
from amimon.model import ErrorKind

VERDICTS = {
    ErrorKind.PERMISSION: "not permitted: grant ec2:DescribeStoreImageTasks",
    ErrorKind.CREDENTIALS: "credentials problem",
    ErrorKind.NETWORK: "network problem",
    ErrorKind.SERVER: "AWS server error (permission unknown; try again)",
    ErrorKind.THROTTLED: "throttled (permission unknown; try again)",
    ErrorKind.CONFIG: "configuration problem",
}


def run(args: argparse.Namespace, context: Context) -> int:
    """One DryRun request per target (no retries); exit 0 only if all are permitted."""
    source = context.source()
    console = Console(highlight=False)
    worst = Exit.OK
    try:
        for target in context.targets:
            demo = " (DEMO)" if context.demo else ""
            try:
                resolved = source.check_permission(target)
            except AwsError as error:
                verdict = VERDICTS.get(error.kind, "error")
                console.print(Text(f"✗ {target.label}{demo}: {verdict}", style="bold red"))
                console.print(Text(f"  {render.safe(error.message)}"))
                code = Exit.USAGE if error.kind is ErrorKind.CONFIG else Exit.AWS
                worst = code if worst is Exit.OK else worst
                continue
            console.print(
                Text(f"✓ {resolved.label}{demo}: permitted (ec2:DescribeStoreImageTasks)", "green")
            )
    finally:
        source.close()
    return worst

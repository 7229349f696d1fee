"""``amimon check``: is each profile and region permitted to call DescribeStoreImageTasks?"""

from __future__ import annotations

import argparse

from rich.text import Text

from amimon import render
from amimon.aws import AwsError, Ec2TaskSource
from amimon.commands.common import Stdout
from amimon.context import Context, Exit
from amimon.model import ErrorKind, Target

VERDICTS = {
    ErrorKind.PERMISSION: "not permitted: grant ec2:DescribeStoreImageTasks",
    ErrorKind.CREDENTIALS: "credentials problem",
    ErrorKind.NETWORK: "network problem",
    ErrorKind.SERVER: "AWS server error (permission unknown; try again)",
    ErrorKind.THROTTLED: "throttled (permission unknown; try again)",
    ErrorKind.CONFIG: "configuration problem",
}


def _optional_images(source: Ec2TaskSource, target: Target) -> Text:
    """ec2:DescribeImages fills the Name and Size columns; amimon works without it."""
    what = "optional ec2:DescribeImages (AMI names and sizes)"
    try:
        source.check_images_permission(target)
    except AwsError as error:
        if error.kind is ErrorKind.PERMISSION:
            return Text(f"  - {what}: not permitted; amimon works without it")
        return Text(f"  ? {what}: {VERDICTS.get(error.kind, 'error')}")
    return Text(f"  ✓ {what}: permitted", "green")


def run(args: argparse.Namespace, context: Context) -> int:
    """One DryRun request per target and permission (no retries); exit 0 only if
    DescribeStoreImageTasks is permitted everywhere (DescribeImages is optional)."""
    source = context.source()
    console = Stdout(highlight=False, soft_wrap=True)  # one line per verdict, never wrapped
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
            console.print(_optional_images(source, target))
    finally:
        source.close()
    return worst

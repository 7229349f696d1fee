"""``amimon sim``: run the simulator standalone until interrupted."""

from __future__ import annotations

import argparse
import contextlib
import itertools
import sys
from typing import TYPE_CHECKING

from amimon.sim.clock import ScaledClock
from amimon.sim.scenario import ScenarioError, default_scenario, load_scenario
from amimon.sim.server import DEMO_CREDENTIALS, SimServer

if TYPE_CHECKING:
    from amimon.context import Context


def _sample_images(server: SimServer, region: str, count: int = 3) -> list[str]:
    """A few AMIs of the newest tasks that DescribeImages returns, for the example line."""
    sim = server.simulator
    amis = (t.spec.ami_id for t in sim.tasks(region, sim.clock.now()))
    live = (a for a in dict.fromkeys(amis) if (i := sim.image(region, a)) and not i.deregistered)
    return list(itertools.islice(live, count))


def run(args: argparse.Namespace, context: Context) -> int:
    try:
        scenario = load_scenario(args.scenario) if args.scenario else default_scenario()
    except ScenarioError as exc:
        print(f"amimon: error: {exc}", file=sys.stderr)
        return 2
    throttle = bool(getattr(args, "throttle", False))
    try:
        server = SimServer(scenario, ScaledClock(args.speed), port=args.port, throttle=throttle)
    except OSError as exc:
        print(
            f"amimon: error: cannot listen on 127.0.0.1:{args.port}: {exc.strerror}",
            file=sys.stderr,
        )
        return 2
    key, secret = DEMO_CREDENTIALS
    regions = server.simulator.regions()
    how = ", throttled like AWS" if throttle else ""
    print(
        f"amimon simulator: {server.url}  ({len(scenario.tasks)} tasks, speed {args.speed:g}x{how})"
    )
    print(f"regions with tasks: {', '.join(regions)}  (any region answers; these have tasks)")
    print("Try it (any credentials work; these are dummies):")
    env = f"AWS_ACCESS_KEY_ID={key} AWS_SECRET_ACCESS_KEY={secret}"
    where = f"--endpoint-url {server.url} --region {regions[0]}"
    print(f"  {env} aws ec2 describe-store-image-tasks {where}")
    sample = _sample_images(server, regions[0])
    if sample:
        print(
            f"  {env} aws ec2 describe-images {where} "
            f"--filters Name=image-id,Values={','.join(sample)}"
        )
    print(f"  {env} amimon {where}")
    print("Ctrl-C to stop.", flush=True)
    with contextlib.suppress(KeyboardInterrupt):
        server.serve_forever()
    return 0

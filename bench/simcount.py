"""The simulator in its own process, with its request counts readable from outside.

``amimon sim`` counts the requests it serves per action (``SimServer.requests``, and
``throttled`` for those its token buckets refused) but prints nothing of them. This runs
the same ``SimServer`` (same scenario file, same ``--throttle``) and answers on stdin:

- ``counts``: one JSON line: requests served and refused per action, and per throttle
  family the fewest tokens the account's bucket held right after a request took its token
  (a shadow bucket with AWS's sizes when ``--throttle`` is off, so the figure exists
  either way);
- ``reset``: zero the counts and the minimums.

``python bench/simcount.py --scenario FILE [--throttle] [--port N]`` prints the same
first line as ``amimon sim`` (``amimon simulator: URL ...``); ``counting(...)`` runs it as
a context manager. The benchmarks use it where they count requests; elsewhere they run
``amimon sim`` itself.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


class Counts:
    """The client side of a ``simcount`` process."""

    def __init__(self, proc: subprocess.Popen[str], url: str) -> None:
        self.proc = proc
        self.url = url

    def _ask(self, command: str) -> dict[str, Any]:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(command + "\n")
        self.proc.stdin.flush()
        answer: dict[str, Any] = json.loads(self.proc.stdout.readline())
        return answer

    def counts(self) -> dict[str, Any]:
        """``{"requests": {action: n}, "throttled": {action: n}, "min_tokens": {family: t},
        "tokens": {family: t}}``."""
        return self._ask("counts")

    def reset(self) -> None:
        self._ask("reset")


@contextmanager
def counting(
    scenario: Path, *, throttle: bool = False, env: dict[str, str] | None = None
) -> Iterator[Counts]:
    """This module as a process on a free port; yields its ``Counts``."""
    argv = [sys.executable, str(Path(__file__).resolve()), "--scenario", str(scenario)]
    proc = subprocess.Popen(
        [*argv, *(["--throttle"] if throttle else [])],
        cwd=ROOT,
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline()
        if "amimon simulator:" not in first:
            raise RuntimeError(f"simulator did not start: {first!r}")
        yield Counts(proc, first.split()[2])
    finally:
        if proc.stdin is not None:
            proc.stdin.close()
        proc.terminate()
        proc.wait(10)


def serve(scenario_path: str, throttle: bool, port: int) -> None:
    from amimon.sim.clock import ScaledClock
    from amimon.sim.scenario import load_scenario
    from amimon.sim.server import SimServer
    from amimon.sim.throttle import LIMITS, Throttle, family_of

    server = SimServer(load_scenario(scenario_path), ScaledClock(), port=port, throttle=throttle)
    # Where the server does not throttle, a shadow bucket with AWS's sizes says what the
    # requests would have left; where it does, the server's own buckets are read.
    buckets = server.throttle or Throttle()
    lock = threading.Lock()
    lowest: dict[str, float] = {}
    admit = server.admit

    def counted_admit(action: str, region: str = "us-east-1") -> bool:
        allowed = admit(action, region)
        family = family_of(action)
        if family is not None and family in LIMITS:
            if server.throttle is None:
                buckets.allow(action, region)
            left = buckets.tokens(action, region)
            with lock:
                lowest[family] = min(lowest.get(family, left), left)
        return allowed

    server.admit = counted_admit  # type: ignore[method-assign]

    def answer() -> None:
        for line in sys.stdin:
            command = line.strip()
            with lock:
                if command == "reset":
                    server.reset_counts()
                    lowest.clear()
                    reply: dict[str, Any] = {"ok": True}
                else:
                    tokens = {f: buckets.tokens(a, "us-east-1") for a, f in _ACTIONS}
                    reply = {
                        "requests": dict(server.requests),
                        "throttled": dict(server.throttled),
                        "min_tokens": dict(lowest),
                        "tokens": tokens,
                    }
            print(json.dumps(reply), flush=True)
        os._exit(0)  # stdin closed: the benchmark is done with us

    how = ", throttled like AWS" if throttle else ""
    print(f"amimon simulator: {server.url}  (counting{how})", flush=True)
    threading.Thread(target=answer, daemon=True).start()
    server.serve_forever()


_ACTIONS: Sequence[tuple[str, str]] = (
    ("DescribeStoreImageTasks", "DescribeStoreImageTasks"),
    ("DescribeImages", "Describe"),
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--scenario", required=True)
    parser.add_argument("--throttle", action="store_true")
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args()
    serve(args.scenario, args.throttle, args.port)


if __name__ == "__main__":
    main()

"""CPU per 1,000 tasks: botocore's parser, amimon.aws.fastparse, and a whole paginated fetch.

``python bench/fastparse.py [--reps N] [--profile]``. Not a test. Every figure is the median
of ``--reps`` repetitions of ``time.process_time()``, in ms per 1,000 tasks:

(a) botocore's EC2QueryParser on five 200-task pages, as amimon configures it
    (``timestamp_parser=_parse_timestamp``), and with botocore's default timestamp parser;
(b) amimon.aws.fastparse on the same pages (and, for the record, ElementTree's parse alone and
    expat with do-nothing callbacks: the floor of a parser built on expat callbacks);
(c) fetching 1,000 tasks from the simulator in another process through amimon's task source
    (``Ec2TaskSource.fetch``: its client built by ``amimon.aws.Clients``, its paging, each
    task made a ``StoreTask``), with the fast parser the client has and with botocore's;
(d) the floor: the same fetch with a parser that reads nothing but the next-page token
    (botocore doing only HTTP, signing, events, retries; no tasks to make).

The machine's absolute speed drifts; the ratios to (d) are what to compare between runs.
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any
from xml.etree.ElementTree import TreeBuilder, XMLParser
from xml.parsers import expat

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import botocore.session  # noqa: E402
from botocore import parsers  # noqa: E402

from amimon.aws import Ec2TaskSource, StaticCredentials  # noqa: E402
from amimon.aws.clients import parse_timestamp as _parse_timestamp  # noqa: E402
from amimon.aws.fastparse import FastParserFactory  # noqa: E402
from amimon.model import Target  # noqa: E402
from amimon.sim import DEMO_CREDENTIALS  # noqa: E402
from amimon.sim.spec import TaskSpec, TaskStatus  # noqa: E402
from amimon.sim.tasks_api import _describe_xml  # noqa: E402

TASKS = 1000
PAGE = 200
T0 = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
_OUTPUT = (
    botocore.session.get_session()
    .get_service_model("ec2")
    .operation_model("DescribeStoreImageTasks")
    .output_shape
)
assert _OUTPUT is not None
SHAPE = _OUTPUT


def ms_per_1000(samples: list[float]) -> float:
    return statistics.median(samples) * 1000 * 1000 / TASKS


def report(label: str, value: float, floor: float | None = None) -> None:
    ratio = f"  {value / floor:5.2f}x floor" if floor else ""
    print(f"  {label:<66} {value:7.2f} ms{ratio}", flush=True)


# (a), (b): the parsers alone ------------------------------------------------------------


def pages() -> list[bytes]:
    """Five 200-task pages as the simulator writes them: realistic ids, keys and states."""
    tasks = []
    for n in range(TASKS):
        failed = n % 7 == 3
        spec = TaskSpec(
            f"ami-0{n:016x}",
            ["ami-archive-prod", "dr-backups-eu", "migration-staging"][n % 3],
            -timedelta(minutes=40 * n),
            timedelta(minutes=20),
            fail_at=50 if failed else None,
            reason="The snapshot could not be copied." if failed else "",
        )
        tasks.append(
            TaskStatus(
                spec,
                T0 - timedelta(minutes=40 * n, milliseconds=n),
                50 if failed else 100,
                "Failed" if failed else "Completed",
                spec.reason,
            )
        )
    return [
        _describe_xml(tasks[i : i + PAGE], "token" if i + PAGE < TASKS else None).encode()
        for i in range(0, TASKS, PAGE)
    ]


def responses(bodies: list[bytes]) -> list[dict[str, Any]]:
    return [
        {
            "body": body,
            "headers": {"Content-Type": "text/xml;charset=UTF-8", "Content-Length": str(len(body))},
            "status_code": 200,
        }
        for body in bodies
    ]


def cpu(work: Callable[[], object], reps: int) -> list[float]:
    samples = []
    for _ in range(reps):
        start = time.process_time()
        work()
        samples.append(time.process_time() - start)
    return samples


def bench_parsers(reps: int) -> dict[str, float]:
    """The parsers alone, ms per 1,000 tasks (medians)."""
    bodies = pages()
    resps = responses(bodies)
    botocore_factory = parsers.ResponseParserFactory()
    botocore_factory.set_parser_defaults(timestamp_parser=_parse_timestamp)
    default_factory = parsers.ResponseParserFactory()
    fast_factory = FastParserFactory()
    fast_factory.set_parser_defaults(timestamp_parser=_parse_timestamp)
    fast_default = FastParserFactory()

    def parse_all(factory: parsers.ResponseParserFactory) -> Callable[[], object]:
        # A parser per response, as botocore's Endpoint creates them.
        return lambda: [factory.create_parser("ec2").parse(r, SHAPE) for r in resps]

    def etree_only() -> None:
        for body in bodies:
            parser = XMLParser(target=TreeBuilder(), encoding="utf-8")
            parser.feed(body)
            parser.close()

    def expat_noop() -> None:
        def start(name: str, attrs: dict[str, str]) -> None:
            pass

        def end(name: str) -> None:
            pass

        def data(text: str) -> None:
            pass

        for body in bodies:
            parser = expat.ParserCreate("utf-8", "}")
            parser.buffer_text = True
            parser.StartElementHandler = start
            parser.EndElementHandler = end
            parser.CharacterDataHandler = data
            parser.Parse(body, True)

    for parsed in (parse_all(fast_factory)(), parse_all(fast_default)()):
        assert parsed == parse_all(botocore_factory)()
    work = {
        "a": parse_all(botocore_factory),
        "a0": parse_all(default_factory),
        "b": parse_all(fast_factory),
        "b0": parse_all(fast_default),
        "et": etree_only,
        "expat": expat_noop,
    }
    samples: dict[str, list[float]] = {k: [] for k in work}
    for _ in range(reps):  # interleaved, so drift hits every variant alike
        for key, job in work.items():
            samples[key] += cpu(job, 1)
    print(f"Parsing five {PAGE}-task pages ({sum(map(len, bodies)) // 1024} KiB), per 1,000 tasks:")
    report("(a) botocore EC2QueryParser, amimon's timestamp parser", ms_per_1000(samples["a"]))
    report("    botocore EC2QueryParser, botocore's default (dateutil)", ms_per_1000(samples["a0"]))
    report("(b) amimon.aws.fastparse, amimon's timestamp parser", ms_per_1000(samples["b"]))
    report(
        "    amimon.aws.fastparse, botocore's default timestamp parser", ms_per_1000(samples["b0"])
    )
    report("    ElementTree parse alone (for bodies (b) cannot scan)", ms_per_1000(samples["et"]))
    report(
        "    expat with do-nothing callbacks (floor of an expat parser)",
        ms_per_1000(samples["expat"]),
    )
    names = {"a": "botocore", "a0": "botocore_dateutil", "b": "fast", "b0": "fast_dateutil"}
    names.update(et="etree_only", expat="expat_noop")
    return {f"parse_ms_{names[k]}": ms_per_1000(v) for k, v in samples.items()}


# (c), (d): end to end against the simulator in another process ----------------------------


def scenario_toml() -> str:
    lines = []
    for n in range(TASKS):
        failed = n % 7 == 3
        lines += [
            "[[task]]",
            f'ami_id = "ami-0{n:016x}"',
            f'bucket = "{["ami-archive-prod", "dr-backups-eu", "migration-staging"][n % 3]}"',
            f'start = "-{30 + 40 * n}m"',
            'duration = "20m"',
        ]
        if failed:
            lines += ["fail_at = 50", 'reason = "The snapshot could not be copied."']
    return "\n".join(lines) + "\n"


@contextmanager
def simulator() -> Iterator[str]:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "scenario.toml"
        path.write_text(scenario_toml())
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        proc = subprocess.Popen(
            [sys.executable, "-m", "amimon", "sim", "--port", "0", "--scenario", str(path)],
            stdout=subprocess.PIPE,
            text=True,
            env=env,
        )
        try:
            assert proc.stdout is not None
            first = proc.stdout.readline()  # "amimon simulator: http://127.0.0.1:PORT  (...)"
            match = re.search(r"http://127\.0\.0\.1:\d+", first)
            if match is None:
                raise RuntimeError(f"simulator did not start: {first!r}")
            yield match.group(0)
        finally:
            proc.terminate()
            proc.wait(timeout=10)


_TOKEN = re.compile(rb"<nextToken>([^<]*)</nextToken>")


class _TokenOnlyParser:
    """The floor's parser: reads only the next-page token, so the paginator makes the same
    five requests; everything else (errors, other operations) goes to botocore."""

    def __init__(self, delegate: Any) -> None:
        self.delegate = delegate

    def parse(self, response: dict[str, Any], shape: Any) -> Any:
        if shape is not None and shape.name == SHAPE.name and response["status_code"] == 200:
            found = _TOKEN.search(response["body"])
            return {"NextToken": found.group(1).decode()} if found else {}
        return self.delegate.parse(response, shape)


class _FloorFactory(parsers.ResponseParserFactory):
    def create_parser(self, protocol_name: str) -> Any:
        return _TokenOnlyParser(super().create_parser(protocol_name))


def make_source(url: str, variant: str) -> Ec2TaskSource:
    """amimon's task source for the simulator, its client made as amimon makes one
    (``amimon.aws.Clients``: trimmed model, timestamps, fast parser); for "botocore" and
    "floor" the client's parser factory is then swapped for botocore's or the floor's."""
    source = Ec2TaskSource(
        [Target(None, "us-east-1", url)],
        credentials=StaticCredentials(*DEMO_CREDENTIALS),
        burst=1e9,  # unpaced: the bench times CPU, not AWS's token bucket
        rate=1e9,
    )
    _, client = source.clients.get(source.targets[0])
    if variant != "fast":
        factory = _FloorFactory() if variant == "floor" else parsers.ResponseParserFactory()
        factory.set_parser_defaults(timestamp_parser=_parse_timestamp)
        client._endpoint._response_parser_factory = factory
    return source


def fetch(source: Ec2TaskSource) -> int:
    """One poll, as the monitor makes it: every page, every task a ``StoreTask``."""
    snapshot = source.fetch()
    if snapshot.failures:
        raise RuntimeError(f"fetch failed: {snapshot.failures}")
    return len(snapshot.polls[0].tasks)


def bench_end_to_end(reps: int, profile: bool = False) -> dict[str, float]:
    """A whole fetch of 1,000 tasks by amimon's source, ms of CPU per 1,000 tasks (medians):
    as amimon makes it, with botocore's parser, and the floor (a parser that reads only the
    token)."""
    with simulator() as url:
        sources = {v: make_source(url, v) for v in ("botocore", "fast", "floor")}
        for _ in range(3):  # warm up: lazy loads, endpoint rules, connections
            assert fetch(sources["botocore"]) == TASKS
            assert fetch(sources["fast"]) == TASKS
            assert fetch(sources["floor"]) == 0
        factories = {
            v: type(s.clients.get(s.targets[0])[1]._endpoint._response_parser_factory)
            for v, s in sources.items()
        }
        assert factories == {
            "botocore": parsers.ResponseParserFactory,
            "fast": FastParserFactory,
            "floor": _FloorFactory,
        }
        samples: dict[str, list[float]] = {v: [] for v in sources}
        for _ in range(reps):
            for variant, source in sources.items():
                samples[variant] += cpu(partial(fetch, source), 1)
        floor = ms_per_1000(samples["floor"])
        print(
            f"Fetching {TASKS:,} tasks ({TASKS // PAGE} pages) from the simulator in another process:"
        )
        report(
            "(c) amimon's source, botocore's parser",
            ms_per_1000(samples["botocore"]),
            floor,
        )
        report(
            "(c) amimon's source as it is (amimon.aws.fastparse)",
            ms_per_1000(samples["fast"]),
            floor,
        )
        report("(d) floor: a parser that reads only the next-page token", floor, floor)
        out = {
            "fetch_ms_botocore": ms_per_1000(samples["botocore"]),
            "fetch_ms_fast": ms_per_1000(samples["fast"]),
            "fetch_ms_floor": floor,
        }
        if profile:
            profiler = cProfile.Profile(time.process_time)
            profiler.enable()
            for _ in range(20):
                fetch(sources["fast"])
            profiler.disable()
            print(
                "\nWhere the fast fetch's CPU goes (cProfile on CPU time, 20 fetches, by own time):"
            )
            pstats.Stats(profiler).sort_stats("tottime").print_stats(25)
    return out


def measure(reps: int = 21) -> dict[str, float]:
    """Every figure of this module, ms per 1,000 tasks."""
    return {**bench_parsers(reps), **bench_end_to_end(reps)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=21, help="repetitions (default 21)")
    parser.add_argument("--profile", action="store_true", help="cProfile the fast fetch")
    args = parser.parse_args()
    bench_parsers(args.reps)
    bench_end_to_end(args.reps, args.profile)


if __name__ == "__main__":
    main()

"""amimon's benchmarks, all in one run, on the simulator: ``python bench/run.py``.

Prints a table and writes ``bench/results.json``. Not part of the test run. ``--quick``
shortens the steady-state windows from 5 minutes to 1 (the numbers are then noisier).
The AWS CLI comparison needs ``aws`` on PATH (``pip install awscli``).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import pty
import resource
import select
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from amimon.aws import Ec2TaskSource, Query, StaticCredentials  # noqa: E402
from amimon.model import FULL_POLL, PollPlan, Snapshot, Target  # noqa: E402
from amimon.reducer import MonitorState, reduce  # noqa: E402
from amimon.schedule import plan_poll  # noqa: E402
from amimon.sim import DEMO_CREDENTIALS, FrozenClock, Scenario, SimServer, TaskSpec  # noqa: E402
from amimon.tui.app import AmimonApp, PollDone  # noqa: E402

T0 = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
ENV = {
    **os.environ,
    "AWS_ACCESS_KEY_ID": DEMO_CREDENTIALS[0],
    "AWS_SECRET_ACCESS_KEY": DEMO_CREDENTIALS[1],
    "AWS_EC2_METADATA_DISABLED": "true",
    "AWS_CONFIG_FILE": os.devnull,
    "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
}
RESULTS: dict[str, Any] = {}


def record(name: str, value: float, unit: str, target: str = "") -> None:
    RESULTS[name] = {"value": round(value, 3), "unit": unit, "target": target}
    print(f"  {name:<58} {value:>10.2f} {unit:<6} {target}", flush=True)


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def ami(n: int) -> str:
    return f"ami-{n:08x}"


def scenario(total: int, running: int, changing: bool = True) -> Scenario:
    """``total`` tasks: ``running`` in progress (moving if ``changing``), the rest done."""
    specs = []
    for n in range(total):
        if n < running:
            duration = timedelta(hours=2) if changing else timedelta(days=3650)
            specs.append(TaskSpec(ami(n), "archive", -timedelta(minutes=30), duration))
        else:
            start = -timedelta(minutes=30 + (n * 40000) // max(total, 1))
            specs.append(TaskSpec(ami(n), "archive", start, timedelta(minutes=20)))
    return Scenario(tuple(specs))


def scenario_toml(spec: Scenario) -> str:
    lines = []
    for s in spec.tasks:
        lines += [
            "[[task]]",
            f'ami_id = "{s.ami_id}"',
            f'bucket = "{s.bucket}"',
            f"start = {s.start.total_seconds()}",
            f"duration = {s.duration.total_seconds()}",
        ]
    return "\n".join(lines) + "\n"


@contextmanager
def sim_process(spec: Scenario) -> Iterator[str]:
    """The simulator in its own process, so its CPU is not counted as amimon's."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "scenario.toml"
        path.write_text(scenario_toml(spec))
        proc = subprocess.Popen(
            [sys.executable, "-m", "amimon", "sim", "--scenario", str(path)],
            stdout=subprocess.PIPE,
            text=True,
            env=ENV,
        )
        try:
            assert proc.stdout is not None
            url = proc.stdout.readline().split()[2]
            yield url
        finally:
            proc.terminate()
            proc.wait(timeout=10)


def source_for(url: str) -> Ec2TaskSource:
    return Ec2TaskSource(
        [Target(None, "us-east-1", url)], Query(), credentials=StaticCredentials(*DEMO_CREDENTIALS)
    )


# 1. Startup --------------------------------------------------------------------------


def bench_import() -> None:
    def once(code: str) -> float:
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", code], check=True, env=ENV)
        return time.perf_counter() - start

    base = statistics.median(once("pass") for _ in range(5))
    tui = statistics.median(once("import amimon.tui.app") for _ in range(5))
    cli = statistics.median(once("import amimon.cli") for _ in range(5))
    record("import amimon.tui.app (over bare python)", (tui - base) * 1000, "ms")
    record("import amimon.cli (over bare python)", (cli - base) * 1000, "ms")


def bench_first_frame() -> None:
    """``amimon --demo`` in a real pty: time to the first frame and to the first data."""
    frames, datas = [], []
    for _ in range(3):
        pid, fd = pty.fork()
        if pid == 0:
            os.environ.update(ENV, TERM="xterm-256color", COLUMNS="160", LINES="45")
            os.execv(sys.executable, [sys.executable, "-m", "amimon", "--demo"])
        start = time.perf_counter()
        seen = b""
        first_frame = first_data = None
        while time.perf_counter() - start < 20 and first_data is None:
            ready, _, _ = select.select([fd], [], [], 0.05)
            if ready:
                try:
                    seen += os.read(fd, 65536)
                except OSError:
                    break
                if first_frame is None and b"amimon" in seen:
                    first_frame = time.perf_counter() - start
                if b"tasks:" in seen:
                    first_data = time.perf_counter() - start
        os.kill(pid, 15)
        os.waitpid(pid, 0)
        os.close(fd)
        if first_frame is not None:
            frames.append(first_frame)
        if first_data is not None:
            datas.append(first_data)
    record(
        "process start -> first frame (pty, median of 3)",
        statistics.median(frames) * 1000,
        "ms",
        "<= 250",
    )
    record("process start -> first data (pty, demo)", statistics.median(datas) * 1000, "ms")


# 2. Per poll -------------------------------------------------------------------------


def changed(snapshot: Snapshot, fraction: float) -> Snapshot:
    from dataclasses import replace

    step = max(1, int(1 / fraction))
    tasks = tuple(
        replace(t, progress=min(100, (t.progress or 0) + 1)) if i % step == 0 else t
        for i, t in enumerate(snapshot.tasks)
    )
    return replace(snapshot, tasks=tasks)


async def ui_poll_cost(snapshots: list[Snapshot]) -> tuple[float, float]:
    """Median CPU ms of the UI's handling of a poll after the first, and the worst stall."""

    class Fixed:
        def fetch(self, plan: PollPlan = FULL_POLL) -> Snapshot:
            return snapshots[0]

    app = AmimonApp(Fixed(), [snapshots[0].tasks[0].target], clock=lambda: T0, bell=False)
    app.auto_poll = False
    costs: list[float] = []
    worst = 0.0
    async with app.run_test(size=(160, 45)) as pilot:
        app.on_poll_done(PollDone(snapshots[0]))
        await pilot.pause(0.2)
        stop = False

        async def watch_loop() -> None:
            nonlocal worst
            while not stop:
                before = time.perf_counter()
                await asyncio.sleep(0.005)
                worst = max(worst, time.perf_counter() - before - 0.005)

        watcher = asyncio.ensure_future(watch_loop())
        for snap in snapshots[1:]:
            # As in the app: reduce() runs in the poll worker, measured on its own above.
            base = app.state
            state, events = reduce(base, snap, T0)
            cpu = time.process_time()
            app.on_poll_done(PollDone(snap, (base, state, events, T0)))
            await pilot.pause()  # let it render
            costs.append(time.process_time() - cpu)
        stop = True
        await watcher
    return statistics.median(costs) * 1000, worst * 1000


def bench_per_poll() -> None:
    for total in (30, 1000, 10000):
        spec = scenario(total, max(1, total // 20))
        with SimServer(spec, FrozenClock(T0)) as server:
            src = source_for(server.url)
            src.fetch()  # client creation out of the way
            cpus = []
            for _ in range(5):
                cpu = time.thread_time()
                first = src.fetch()
                cpus.append(time.thread_time() - cpu)
            fetch_ms = statistics.median(cpus) * 1000
        target = "<= 15/1k" if total >= 1000 else ""
        record(f"fetch+parse CPU, {total} tasks", fetch_ms, "ms", target)
        record(f"  per 1,000 tasks ({total})", fetch_ms * 1000 / total, "ms", "<= 15")
        state, _ = reduce(MonitorState(), first, T0)
        second = changed(first, 0.05)
        runs = []
        for _ in range(5):
            cpu = time.process_time()
            reduce(state, second, T0 + timedelta(seconds=15))
            runs.append(time.process_time() - cpu)
        record(f"reduce CPU, {total} tasks, 5% changing", statistics.median(runs) * 1000, "ms")
        polls = [first] + [changed(first, 0.05) for _ in range(1)]
        current = first
        for _ in range(5):
            current = changed(current, 0.05)
            polls.append(current)
        ui, stall = asyncio.run(ui_poll_cost(polls))
        ui_target = {1000: "<= 50", 10000: "<= 75"}.get(total, "")
        record(f"UI update CPU per poll, {total} tasks", ui, "ms", ui_target)
        record(f"worst event-loop stall after load, {total} tasks", stall, "ms", "<= 200")


# 3. Steady state and 6. the AWS CLI -------------------------------------------------------


async def steady(url: str, seconds: float) -> tuple[float, int]:
    """CPU% of a monitor polling at the default interval, and how many polls it made."""
    src = source_for(url)
    query = src.query
    app = AmimonApp(
        src,
        src.targets,
        interval=15,
        bell=False,
        plan=lambda s: plan_poll(s, image_ids=bool(query.image_ids), states=query.states),
    )
    async with app.run_test(size=(160, 45)) as pilot:
        while not app.state.loaded:
            await pilot.pause(0.1)
        start_polls = app.state.polls
        usage = resource.getrusage(resource.RUSAGE_SELF)
        wall = time.perf_counter()
        await pilot.pause(seconds)
        after = resource.getrusage(resource.RUSAGE_SELF)
        elapsed = time.perf_counter() - wall
        polls = app.state.polls - start_polls
    cpu = (after.ru_utime - usage.ru_utime) + (after.ru_stime - usage.ru_stime)
    src.close()
    return 100 * cpu / elapsed, polls


async def idle(url: str, seconds: float) -> float:
    """CPU% between polls: loaded, then a window with no poll in it."""
    src = source_for(url)
    app = AmimonApp(src, src.targets, interval=3600, bell=False)
    async with app.run_test(size=(160, 45)) as pilot:
        while not app.state.loaded:
            await pilot.pause(0.1)
        await pilot.pause(2)
        usage = resource.getrusage(resource.RUSAGE_SELF)
        wall = time.perf_counter()
        await pilot.pause(seconds)
        after = resource.getrusage(resource.RUSAGE_SELF)
        elapsed = time.perf_counter() - wall
    src.close()
    cpu = (after.ru_utime - usage.ru_utime) + (after.ru_stime - usage.ru_stime)
    return 100 * cpu / elapsed


def bench_steady(seconds: float) -> dict[str, float]:
    with sim_process(scenario(1000, 10)) as url:
        record(
            "idle CPU between polls, 1,000 tasks, 10 running",
            asyncio.run(idle(url, 60)),
            "%",
            "<= 0.3",
        )
    out = {}
    for label, spec in (
        ("1,000 tasks, nothing changing", scenario(1000, 10, changing=False)),
        ("1,000 tasks, 10 InProgress progressing", scenario(1000, 10)),
    ):
        with sim_process(spec) as url:
            percent, polls = asyncio.run(steady(url, seconds))
        record(f"steady CPU over {seconds / 60:.0f} min, polls included, {label}", percent, "%")
        per_poll = percent / 100 * seconds / max(polls, 1) * 1000
        record(f"  CPU per poll ({polls} polls), {label}", per_poll, "ms")
        out[label] = per_poll
    return out


def bench_aws_cli(amimon_per_poll_ms: float) -> None:
    aws = shutil.which("aws")
    if aws is None:
        print("  (aws not on PATH: pip install awscli for the AWS CLI comparison)")
        return
    with sim_process(scenario(1000, 10)) as url:
        cmd = [
            aws,
            "ec2",
            "describe-store-image-tasks",
            "--endpoint-url",
            url,
            "--region",
            "us-east-1",
        ]
        subprocess.run(cmd, check=True, env=ENV, stdout=subprocess.DEVNULL)
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        runs = 5
        for _ in range(runs):
            subprocess.run(cmd, check=True, env=ENV, stdout=subprocess.DEVNULL)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cli_ms = ((after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)) / runs * 1000
    record("AWS CLI CPU per refresh, 1,000 tasks", cli_ms, "ms")
    record(
        "  ratio AWS CLI / amimon steady CPU per poll", cli_ms / amimon_per_poll_ms, "x", ">= 20"
    )


# 4. Memory ---------------------------------------------------------------------------


async def memory_at(total: int) -> float:
    with sim_process(scenario(total, 10)) as url:
        src = source_for(url)
        app = AmimonApp(src, src.targets, clock=lambda: T0, bell=False, auto_poll=False)
        async with app.run_test(size=(160, 45)) as pilot:
            app.poll_now()
            while not app.state.loaded:
                await pilot.pause(0.05)
            await pilot.pause(0.2)
            return rss_mb()


async def memory_hour() -> list[tuple[int, float]]:
    """An hour of polls every 15 s in simulated time (1,000 tasks, 10 running, churn)."""
    spec = scenario(1000, 10)
    with SimServer(spec, FrozenClock(T0)) as server:
        frozen = server.clock
        assert isinstance(frozen, FrozenClock)
        src = source_for(server.url)
        app = AmimonApp(
            src,
            src.targets,
            clock=frozen.now,
            bell=False,
            auto_poll=False,
            plan=lambda s: plan_poll(s),
        )
        curve = []
        async with app.run_test(size=(160, 45)) as pilot:
            for i in range(241):
                before = app.state.polls
                app.poll_now()
                while app.state.polls == before:
                    await pilot.pause(0.005)
                if i % 24 == 0:
                    curve.append((i * 15 // 60, round(rss_mb(), 1)))
                frozen.advance(15)
        return curve


def bench_memory() -> None:
    for total in (1000, 10000):
        mb = asyncio.run(memory_at(total))
        record(
            f"RSS with the monitor showing {total} tasks",
            mb,
            "MB",
            "<= 125" if total == 1000 else "",
        )
    curve = asyncio.run(memory_hour())
    RESULTS["rss_curve_hour_minutes_mb"] = curve
    print(f"  RSS over a simulated hour (minute, MB): {curve}")
    record("RSS growth over the simulated hour", curve[-1][1] - curve[1][1], "MB", "flat")


# 5. API budget -----------------------------------------------------------------------


def bench_budget() -> None:
    counts = {}
    for label, planner in (("naive full poll", lambda s: FULL_POLL), ("amimon", plan_poll)):
        with SimServer(scenario(1000, 10), FrozenClock(T0)) as server:
            frozen = server.clock
            assert isinstance(frozen, FrozenClock)
            src = source_for(server.url)
            state = MonitorState()
            for _ in range(240):
                state, _ = reduce(state, src.fetch(planner(state)), frozen.now())
                frozen.advance(15)
            counts[label] = server.requests["DescribeStoreImageTasks"]
    record(
        "requests/hour, 1,000 tasks, 10 running: naive full poll", counts["naive full poll"], "req"
    )
    record("requests/hour, 1,000 tasks, 10 running: amimon", counts["amimon"], "req")
    record("  reduction", counts["naive full poll"] / counts["amimon"], "x", ">= 5 (ceiling 5)")
    record("  requests per poll, amimon", counts["amimon"] / 240, "req")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="1-minute steady-state windows")
    parser.add_argument("--only", help="run one section: startup, poll, memory, budget, steady")
    args = parser.parse_args()
    machine = f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    RESULTS["machine"] = machine
    print(f"amimon benchmarks on {machine}\n")
    sections: list[tuple[str, Callable[[], Any]]] = [
        ("1. Startup", lambda: (bench_import(), bench_first_frame())),
        ("2. Per poll", bench_per_poll),
        ("4. Memory", bench_memory),
        ("5. API budget", bench_budget),
    ]
    for title, fn in sections:
        if args.only and args.only not in title.lower():
            continue
        print(title)
        fn()
    if args.only:
        return
    print("3. Steady state")
    per_poll = bench_steady(60 if args.quick else 300)
    print("6. Against the AWS CLI")
    bench_aws_cli(per_poll["1,000 tasks, nothing changing"])
    out = ROOT / "bench" / "results.json"
    out.write_text(json.dumps(RESULTS, indent=2) + "\n")
    print(f"\nwrote {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()

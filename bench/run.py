"""amimon's benchmarks, all in one run: ``python bench/run.py [--quick] [--only ...]``.

Runs the sub-benchmarks (each also a script of its own) and reports every figure beside
its floor measured in the same run, because this machine's absolute times drift:

- ``startup.py``: first frame of ``python -m amimon --demo`` in a pty against a bare
  Textual app's; first data in the demo;
- ``fastparse.py``: fetch and parse per 1,000 tasks against botocore with a no-op parser;
- ``table.py``: the real monitor in a pty at 160x45 against ``amimon sim`` in another
  process: RSS after its first load of 1,000 tasks (floor: a bare Textual app's), idle CPU
  (floor: the bare app's), CPU per 5 s poll window with ticks (floor: one ``aws ec2
  describe-store-image-tasks`` call); UI CPU per poll with 5% of 1,000 and 10,000 tasks
  moving, and the worst answer to a key while 10,000 poll; and a monitor left polling
  through the rest of the run, whose RSS is sampled every 30 s;
- ``budget.py`` (with ``simcount.py``): requests per hour at the default interval against
  ``amimon sim --throttle``; the pacing of a full 10,000-task listing, by arithmetic and
  by the monitor, on which filter and sort changes are then timed (``table.key_answers``);
- ``history.py``: the history's write CPU per poll and its file after a year.

Prints a markdown table (figure | amimon | floor | ratio | goal | met?) and writes
``bench/results.json`` (``bench/results-quick.json`` with ``--quick``, whose windows are
short and numbers noisier). Not part of the test run. The AWS CLI comparison needs
``--aws PATH`` (or ``AMIMON_BENCH_AWS``, or ``aws`` on PATH).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(HERE))

import budget  # noqa: E402
import fastparse  # noqa: E402
import history  # noqa: E402
import startup  # noqa: E402
import table  # noqa: E402

from amimon.aws.paging import STORE_TASKS_RATE  # noqa: E402

SECTIONS = ("startup", "fetch", "monitor", "changing", "budget", "listing", "history")
SELECTED: list[str] = list(SECTIONS)


@dataclass(frozen=True)
class Mode:
    """How long each part runs: ``--quick`` for iterating, the default for the record."""

    startup_runs: int
    fetch_reps: int
    steady_window: float  # seconds of 5 s poll windows
    cli_calls: int  # AWS CLI calls, half before the window, half after
    idle_window: float  # seconds of idle CPU (the bare Textual app's and amimon's)
    hour_window: float  # seconds at the default interval, extrapolated to an hour
    key_rounds: int
    history_days: int
    history_polls: int
    changing_window: float  # seconds of 5 s polls with 5% of the tasks moving


FULL = Mode(25, 21, 120, 5, 60, 180, 8, 30, 600, 60)
QUICK = Mode(3, 7, 20, 2, 20, 60, 4, 6, 200, 20)


@dataclass
class Row:
    figure: str
    amimon: str
    floor: str = ""
    ratio: str = ""
    goal: str = ""
    met: bool | None = None  # None: a figure to report, no goal

    def cells(self) -> list[str]:
        mark = {True: "✓", False: "✗", None: "—"}[self.met]
        cells = [self.figure, self.amimon, self.floor, self.ratio, self.goal]
        return [cell or "—" for cell in cells] + [mark]


ROWS: list[Row] = []
FIGURES: dict[str, Any] = {}


class Year:
    """The history's simulated year in a process of its own, run beside the request count
    (which counts requests, not time: sharing the CPU changes neither) so the full run
    stays short. Every part that measures time waits for it first."""

    def __init__(self) -> None:
        self.proc: subprocess.Popen[bytes] | None = None
        self.out: Path | None = None

    def start(self, days: int, work: Path) -> None:
        self.out = work / "year.json"
        script = str(HERE / "history.py")
        with (work / "year.log").open("wb") as log:
            self.proc = subprocess.Popen(
                [sys.executable, script, "--days", str(days), "--year-only", str(self.out)],
                stdout=log,
                stderr=subprocess.STDOUT,
            )

    def wait(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            print("  (waiting for the simulated year to finish)", flush=True)
            self.proc.wait()

    def figures(self, days: int) -> dict[str, Any]:
        if self.proc is None or self.out is None:
            return history.year_figures(days)
        self.wait()
        if self.proc.returncode != 0:
            log = (self.out.parent / "year.log").read_text()
            raise RuntimeError(f"the simulated year failed:\n{log}")
        figures: dict[str, Any] = json.loads(self.out.read_text())
        return figures


YEAR = Year()


def add(row: Row) -> None:
    ROWS.append(row)
    print("  | " + " | ".join(row.cells()) + " |", flush=True)


def ms(value: float) -> str:
    return f"{value:,.0f} ms" if value >= 100 else f"{value:.1f} ms"


def times(value: float) -> str:
    return f"{value:.2f}x"


# Sections: each measures, keeps its raw figures in FIGURES and adds its rows. ------------


def bench_startup(mode: Mode, work: Path) -> None:
    got = startup.measure(mode.startup_runs)
    FIGURES["startup"] = got
    bare, frame, data = got["bare_first_frame_ms"], got["first_frame_ms"], got["first_data_ms"]
    runs = f"median of {mode.startup_runs}"
    add(Row(f"first frame, `amimon --demo` in a pty ({runs})", ms(frame),
            f"bare Textual app {ms(bare)}", times(frame / bare), "≤ 1.25x floor",
            frame / bare <= 1.25))  # fmt: skip
    add(Row("first data (first task row) in the demo", ms(data),
            f"bare Textual app {ms(bare)}", times(data / bare), "≤ 700 ms",
            data <= 700))  # fmt: skip


def bench_fetch(mode: Mode, work: Path) -> None:
    got = fastparse.measure(mode.fetch_reps)
    FIGURES["fetch"] = got
    floor = got["fetch_ms_floor"]
    floor_text = f"botocore, no-op parser {ms(floor)}"
    fast, boto = got["fetch_ms_fast"], got["fetch_ms_botocore"]
    add(Row("fetch+parse CPU per 1,000 tasks (5 pages into StoreTasks, amimon's source)", ms(fast),
            floor_text, times(fast / floor), "≤ 25 ms", fast <= 25))  # fmt: skip
    add(Row("… the same with botocore's own parser (for reference)", ms(boto), floor_text,
            times(boto / floor)))  # fmt: skip


def bench_monitor(mode: Mode, work: Path) -> None:
    """The monitor in a pty: RSS after its first load, CPU per 5 s window against the CLI."""
    bare = table.bare_textual(mode.idle_window)
    with table.simulator(table.scenario(work / "rss.toml", 1000, 0)) as url:
        rss, idle = table.memory_and_idle(url, 1000, mode.idle_window)
    with table.simulator(table.scenario(work / "ten.toml", 1000, 10)) as url:
        steady = table.steady(url, mode.steady_window, mode.cli_calls)
    FIGURES["monitor"] = {**bare, "rss_mb": rss, "idle_pct": idle, **steady, "aws": table.AWS}
    bare_rss, bare_idle = bare["bare_rss_mb"], bare["bare_idle_pct"]
    add(Row("RSS at 1,000 tasks, fresh monitor process, after its first load", f"{rss:.0f} MB",
            f"bare Textual app {bare_rss:.0f} MB", times(rss / bare_rss), "≤ 90 MB",
            rss <= 90))  # fmt: skip
    add(Row(f"idle CPU, 1,000 tasks, nothing changing ({mode.idle_window:.0f} s, a minute "
            "after the last poll, `--interval 3600`)", f"{idle:.3f}%",
            f"bare Textual app {bare_idle:.3f}%", times(idle / bare_idle) if bare_idle else "",
            "≤ 0.1%", idle <= 0.1))  # fmt: skip
    cpu = steady["window_cpu_ms"]
    bare_window = bare["bare_idle_pct"] / 100 * 5000
    cli = steady.get("aws_cli_ms")
    figure = (
        "CPU per 5 s poll window, 1,000 tasks, 10 running, 160x45, `--interval 5`, ticks "
        f"included (UI thread {steady['window_ui_ms']:.1f} ms)"
    )
    if cli is None:
        add(Row(figure, ms(cpu), "aws CLI not found (--aws)", "", "≥ 30x cheaper than the CLI"))
        return
    add(Row(figure, ms(cpu),
            f"one `aws ec2 describe-store-image-tasks` {ms(cli)} (bare Textual app "
            f"{bare_window:.1f} ms per 5 s)",
            f"{cli / cpu:.0f}x cheaper", "≥ 30x cheaper", cli / cpu >= 30))  # fmt: skip


def bench_changing(mode: Mode, work: Path) -> None:
    """5% of the tasks moving at every 5 s poll, sorted so that they are 5% of the rows:
    the UI thread's CPU per poll at 1,000 and 10,000 tasks; at 10,000, cursor keys while
    polls run (the worst answer is the worst stall of the event loop)."""
    got = {total: table.changing(work, mode.changing_window, total) for total in (1000, 10_000)}
    FIGURES["changing"] = got
    for total, goal in ((1000, 15), (10_000, 50)):
        ui, cpu = got[total]["ui_ms"], got[total]["cpu_ms"]
        every = got[total]["all_ui_ms"]
        add(Row(f"UI CPU per poll, {total:,} tasks, 5% changing and 5% of the rows, "
                f"`--interval 5` (with every row on screen moving: {every:.1f} ms)", ms(ui),
                f"whole process {ms(cpu)}", "", f"≤ {goal} ms", ui <= goal))  # fmt: skip
    ten = got[10_000]
    add(Row("worst answer to a cursor key while 10,000 tasks poll (median "
            f"{ms(ten['key_median_ms'])}): the event loop's longest stall after the load",
            ms(ten["key_worst_ms"]), "", "", "≤ 100 ms",
            ten["key_worst_ms"] <= 100))  # fmt: skip


def bench_budget(mode: Mode, work: Path) -> None:
    if "history" in SELECTED:
        YEAR.start(mode.history_days, work)
    got = budget.per_hour(work, mode.hour_window)
    FIGURES["budget"] = got
    per_hour, naive = got["tasks_per_hour"], got["naive_per_hour"]
    sent, first = got["window"]["tasks"], got["first_load"]["tasks"]
    polls = 3600 / budget.DEFAULT_INTERVAL
    add(Row("DescribeStoreImageTasks requests per hour, 1,000 tasks, 10 running, default "
            f"interval, `--throttle` ({sent} requests in {got['window_polls']} polls over "
            f"{got['window_s']:.0f} s, x3600/window, + the hourly full listing: {first} "
            "pages less one poll's)",
            f"{per_hour:,.0f}",
            f"one request a poll {polls:,.0f} (a full listing every poll: {naive:,.0f})",
            times(per_hour / polls)))  # fmt: skip
    images_first = got["first_load"]["images"]
    add(Row(f"DescribeImages requests per hour (same run; {images_first} during the first "
            "load, not counted per hour)", f"{got['images_per_hour']:,.0f}"))  # fmt: skip
    refused = {k: sum(v.values()) for k, v in got["throttled"].items()}
    add(Row("requests refused by the throttle and retried (first load / window)",
            f"{refused['first_load']} / {refused['window']}", "", "", "0",
            not any(refused.values())))  # fmt: skip


def bench_listing(mode: Mode, work: Path) -> None:
    plan = budget.pacing_arithmetic(10_000)
    got = budget.full_listing(work, 10_000, mode.key_rounds)
    FIGURES["listing"] = {"arithmetic": plan, **got}
    add(Row("full 10,000-task listing: requests (pages, retries included) / refused",
            f"{got['requests']} / {got['throttled']}", f"arithmetic {plan['pages']} / 0",
            "", f"= {plan['pages']}", got["requests"] == plan["pages"]))  # fmt: skip
    add(Row("… from the monitor's start to the loaded header",
            f"{got['loaded_s']:.1f} s",
            f"arithmetic ≥ {plan['listing_s']:.0f} s ({plan['burst_pages']} at once, "
            f"{plan['paced_pages']} at {1 / STORE_TASKS_RATE:g} s)",
            times(got["loaded_s"] / plan["listing_s"])))  # fmt: skip
    lowest = got["min_tokens"]
    half = plan["account_burst"] / 2
    add(Row(f"… fewest tokens left in the account's bucket ({plan['account_burst']:g} burst, "
            f"{plan['account_refill']:g}/s)",
            f"{lowest:.2f}", f"arithmetic {plan['min_tokens']:g}", "",
            f"≥ {half:g} (half the burst)", round(lowest, 1) >= half))  # fmt: skip
    frames = got["filter_frames"]
    cursor = f"cursor key {ms(got['cursor_ms'])}"
    add(Row("filter change (`s`) at 10,000 tasks: key → first frame (settled; frames)",
            f"{ms(got['filter_ms'])} ({ms(got['filter_settled_ms'])}; {frames:g})", cursor,
            times(got["filter_ms"] / got["cursor_ms"]), "≤ 50 ms, in one frame",
            got["filter_ms"] <= 50 and frames <= 1))  # fmt: skip
    add(Row("sort change (`o`) at 10,000 tasks: key → first frame (settled)",
            f"{ms(got['sort_ms'])} ({ms(got['sort_settled_ms'])})", cursor,
            times(got["sort_ms"] / got["cursor_ms"]), "≤ 50 ms",
            got["sort_ms"] <= 50))  # fmt: skip


def bench_history(mode: Mode, work: Path) -> None:
    YEAR.wait()  # the write cost is CPU time: measured alone
    got = {**history.write_figures(mode.history_polls), **YEAR.figures(mode.history_days)}
    FIGURES["history"] = got
    write, floor = got["write_ms_median"], got["write_floor_ms"]
    add(Row("history write CPU per poll, 1,000 tasks, 10 moving (median; p95 "
            f"{got['write_ms_p95']:.2f} ms)", f"{write:.2f} ms",
            f"a one-row WAL transaction {floor:.2f} ms", times(write / floor), "≤ 5 ms",
            write <= 5))  # fmt: skip
    days, year = got["days"], got["year_mb"]
    size, vacuumed = got["file_mb"], got["vacuumed_mb"]
    how = f"extrapolated from {days} simulated days" if got["year_mb_extrapolated"] else "simulated"
    add(Row(f"history file after a year, polled every minute, hourly full listings ({how})",
            f"{year:.1f} MB", f"at day {days}: {size:.1f} MB, {vacuumed:.1f} MB after VACUUM",
            times(size / vacuumed), "≤ 50 MB", year <= 50))  # fmt: skip


def memory_over_time(got: dict[str, Any]) -> None:
    """The RSS of the monitor left polling through the run: flat means it grows by no
    more than 2 MB from its tenth minute of polls (caches filled) to its last sample."""
    FIGURES["memory_watch"] = got
    samples, polls = got["samples"], got["polls"]
    first, last, peak = samples[0][1], samples[-1][1], max(mb for _, mb in samples)
    settled = next((mb for at, mb in samples if at >= 600), first)
    minutes = polls * budget.DEFAULT_INTERVAL / 60
    grew = last - settled
    add(Row(f"RSS of a monitor polling through the run (1,000 tasks, 10 running, "
            f"`--interval 5`): {polls} polls, the polls of {minutes:.0f} min at the default "
            f"interval; after its first load / at 10 min / last (peak)",
            f"{first:.0f} / {settled:.0f} / {last:.0f} MB ({peak:.0f})", "", "",
            "≤ 90 MB, flat (+≤ 2 MB after 10 min)", peak <= 90 and grew <= 2))  # fmt: skip


BENCHES: dict[str, Callable[[Mode, Path], None]] = {
    "startup": bench_startup,
    "fetch": bench_fetch,
    "monitor": bench_monitor,
    "changing": bench_changing,
    "budget": bench_budget,
    "listing": bench_listing,
    "history": bench_history,
}


# The run ---------------------------------------------------------------------------------


def version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "?"


def machine() -> dict[str, Any]:
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
    ).stdout.strip()
    aws = ""
    if table.AWS:
        done = subprocess.run([table.AWS, "--version"], capture_output=True, text=True)
        aws = (done.stdout or done.stderr).split(" ")[0]
    return {
        "machine": f"{platform.machine()}, {os.cpu_count()} cores",
        "python": platform.python_version(),
        "textual": version("textual"),
        "botocore": version("botocore"),
        "sqlite": sqlite3.sqlite_version,
        "aws_cli": aws,
        "commit": commit,
    }


def table_markdown(rows: list[Row]) -> str:
    lines = ["| figure | amimon | floor | ratio | goal | met? |", "|---|---|---|---|---|---|"]
    lines += ["| " + " | ".join(row.cells()) + " |" for row in rows]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="short windows, for iterating")
    parser.add_argument("--only", help=f"comma-separated sections of: {', '.join(SECTIONS)}")
    parser.add_argument("--aws", help="the AWS CLI to compare with (default: aws on PATH)")
    parser.add_argument("--out", type=Path, help="where to write the JSON results")
    args = parser.parse_args()
    only = args.only.split(",") if args.only else list(SECTIONS)
    SELECTED[:] = only
    unknown = set(only) - set(SECTIONS)
    if unknown:
        parser.error(f"unknown sections: {', '.join(sorted(unknown))}")
    if args.aws:
        table.AWS = shutil.which(args.aws) or args.aws
    mode = QUICK if args.quick else FULL
    out = args.out or HERE / ("results-quick.json" if args.quick else "results.json")
    if args.only and not args.out:
        out = None
    about = machine()
    print(" · ".join(f"{k} {v}" for k, v in about.items()), flush=True)
    began = time.perf_counter()
    work = Path(tempfile.mkdtemp(prefix="amimon-bench-"))
    errors: dict[str, str] = {}
    watch: table.MemoryWatch | None = None
    try:
        for name in SECTIONS:
            if name not in only:
                continue
            if name == "monitor" and not args.quick:
                # Polls on through the rest of the run: its RSS over the polls of an hour.
                watch = table.MemoryWatch(work)
                watch.start()
            print(f"\n## {name}", flush=True)
            if name != "budget":
                YEAR.wait()  # nothing that measures time shares the CPU with it
            section = time.perf_counter()
            try:
                BENCHES[name](mode, work)
            except Exception as exc:  # one broken part must not lose the rest of the run
                traceback.print_exc()
                errors[name] = f"{type(exc).__name__}: {exc}"
                add(Row(f"{name}: failed", errors[name]))
            print(f"  ({name}: {time.perf_counter() - section:.0f} s)", flush=True)
        if watch is not None:
            memory_over_time(watch.stop())
            watch = None
    finally:
        if watch is not None:
            watch.stop()
        if YEAR.proc is not None and YEAR.proc.poll() is None:
            YEAR.proc.terminate()
            YEAR.proc.wait()
        shutil.rmtree(work, ignore_errors=True)
    wall = time.perf_counter() - began
    command = " ".join(["python", "bench/run.py", *sys.argv[1:]])
    print(f"\n{command}: {wall:.0f} s wall, {about['machine']}, Python {about['python']}\n")
    print(table_markdown(ROWS))
    if out is not None:
        document = {
            "when": datetime.now(UTC).isoformat(timespec="seconds"),
            "command": command,
            "mode": asdict(mode),
            "wall_s": round(wall, 1),
            **about,
            "rows": [asdict(row) for row in ROWS],
            "figures": FIGURES,
            "errors": errors,
        }
        out.write_text(json.dumps(document, indent=2, ensure_ascii=False, default=str) + "\n")
        print(f"\nwrote {out.relative_to(ROOT) if out.is_relative_to(ROOT) else out}")
    if errors:
        sys.exit(1)


if __name__ == "__main__":
    main()

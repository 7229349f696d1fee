"""The history's costs: ``python bench/history.py [--days 365]`` (a script, not a test).

1. CPU per poll write at 1,000 tasks: poll_rows() plus one transaction, as the writer
   thread pays it, over full listings with 10 running tasks moving every poll (a task
   that completes is replaced by a new one). Median of many polls, and the first poll,
   which writes all 1,000.
2. The file after a simulated year: an account with 30 new store tasks a day (20 min to
   3 h each, 3% failing), so about 1,000 live in AWS's 31-day window, watched the whole
   year by a monitor polling once a minute (samples are thinned to one a minute, so
   15-second polls would write the same) with an hourly full listing, through the real
   planner, reducer and store. Size before and after VACUUM; then the cost of opening
   that file, of seeding a monitor from it, and of checking every page.

Prints a table and writes ``bench/history.json``.
"""

from __future__ import annotations

import argparse
import json
import random
import sqlite3
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from amimon.history import HistoryStore, poll_rows, seed  # noqa: E402
from amimon.model import PollPlan, Snapshot, StoreTask, Target, TargetPoll  # noqa: E402
from amimon.reducer import MonitorState, reduce  # noqa: E402
from amimon.schedule import plan_for  # noqa: E402

T0 = datetime(2026, 1, 1, tzinfo=UTC)
EAST = Target("prod", "us-east-1")
WINDOW = timedelta(days=31)
LONGEST = timedelta(minutes=180)
BUCKETS = ("ami-archive-prod-us-east-1", "dr-backups-eu-west-1", "migration-staging-2026")
REASON = (
    "Amazon S3 returned AccessDenied for PutObject on the bucket: check that the bucket "
    "policy allows the EC2 store service principal"
)
RESULTS: dict[str, dict[str, Any]] = {}


def record(name: str, value: float, unit: str, target: str = "") -> None:
    RESULTS[name] = {"value": round(value, 3), "unit": unit, "target": target}
    print(f"  {name:<52} {value:>10.2f} {unit:<5} {target}", flush=True)


@dataclass(frozen=True)
class Spec:
    ami: str
    bucket: str
    start: datetime
    duration: timedelta
    fail_at: int | None

    def at(self, now: datetime) -> StoreTask:
        fraction = min(1.0, (now - self.start) / self.duration)
        progress, state, reason = int(fraction * 100), "InProgress", None
        if self.fail_at is not None and progress >= self.fail_at:
            progress, state, reason = self.fail_at, "Failed", REASON
        elif fraction >= 1.0:
            state, reason = "Completed", ""
        return StoreTask(
            EAST,
            self.ami,
            self.start,
            self.bucket,
            f"store/{self.bucket}/{self.ami}.bin",
            progress,
            state,
            reason,
        )


class Account:
    """Store tasks as AWS would list them: the last 31 days, by plan (full or scoped)."""

    def __init__(self, per_day: int, rng: random.Random) -> None:
        self.rng = rng
        self.per_day = per_day
        self.specs: list[Spec] = []
        self.count = 0
        self.next_start = T0 - WINDOW
        self.fill(T0)

    def fill(self, now: datetime) -> None:
        while self.next_start <= now:
            self.count += 1
            self.specs.append(
                Spec(
                    f"ami-{self.count:017x}",
                    self.rng.choice(BUCKETS),
                    self.next_start,
                    self.rng.uniform(20 / 180, 1.0) * LONGEST,
                    self.rng.randint(5, 95) if self.rng.random() < 0.03 else None,
                )
            )
            self.next_start += timedelta(days=1) / self.per_day
        while self.specs and self.specs[0].start < now - WINDOW:
            self.specs.pop(0)

    def answer(self, plan: PollPlan, now: datetime) -> Snapshot:
        self.fill(now)
        if plan.scope is None:
            specs = [s for s in self.specs if s.start <= now]
        else:
            # Only recent tasks can be running; failed ones stay listed while in the window.
            recent = now - LONGEST
            specs = [
                s
                for s in self.specs
                if s.start <= now
                and (s.start >= recent or s.fail_at is not None or s.ami in plan.expect)
            ]
        tasks = [s.at(now) for s in specs]
        if plan.scope is not None:
            tasks = [t for t in tasks if t.state in plan.scope or t.ami_id in plan.expect]
        return Snapshot((TargetPoll(EAST, tuple(tasks), plan.scope, plan.expect),))


def write_cost(folder: Path, polls: int) -> dict[str, float]:
    """CPU per poll write at 1,000 tasks, 10 of them moving every poll: median, p95 and
    the first poll's, in ms."""
    store = HistoryStore.open(folder / "cpu.sqlite3", warn=print, now=T0)
    done = [
        StoreTask(EAST, f"ami-{n:017x}", T0 - timedelta(hours=n), BUCKETS[n % 3], "k", 100, "Completed", "")
        for n in range(990)
    ]  # fmt: skip
    running = {n: 0 for n in range(990, 1000)}
    state, costs, first = MonitorState(), [], 0.0
    for i in range(polls):
        now = T0 + timedelta(seconds=15 * i)
        for n in list(running):
            running[n] += 1
            if running[n] >= 100:  # finished: the next AMI starts
                done.pop(0)
                done.append(StoreTask(EAST, f"ami-{n:017x}", T0, "b", "k", 100, "Completed", ""))
                del running[n]
                running[max(running, default=999) + 1] = 0
        live = [
            StoreTask(EAST, f"ami-{n:017x}", T0, BUCKETS[n % 3], "k", p, "InProgress", None)
            for n, p in running.items()
        ]
        before = state
        state, _ = reduce(state, Snapshot((TargetPoll(EAST, (*done, *live)),)), now)
        began = time.process_time()
        store.write(poll_rows(before, state, now))
        cost = (time.process_time() - began) * 1000
        if i == 0:
            first = cost
        else:
            costs.append(cost)
    store.close()
    costs.sort()
    out = {
        "write_ms_median": statistics.median(costs),
        "write_ms_p95": costs[int(len(costs) * 0.95)],
        "write_ms_first": first,
    }
    record("poll write CPU, 1,000 tasks, 10 moving: median", out["write_ms_median"], "ms", "≤ 5 ms")
    record("poll write CPU, 1,000 tasks, 10 moving: p95", out["write_ms_p95"], "ms")
    record("first poll write (all 1,000 tasks are new)", first, "ms")
    return out


def commit_floor(folder: Path, commits: int = 300) -> float:
    """The floor of a poll's write: CPU ms (median) of one transaction that inserts one row,
    in a file set up as amimon's (WAL, synchronous NORMAL), measured the same way."""
    conn = sqlite3.connect(folder / "floor.sqlite3", isolation_level=None)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = NORMAL")
    conn.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, at INTEGER, progress INTEGER)")
    costs = []
    for i in range(commits):
        began = time.process_time()
        conn.execute("BEGIN")
        conn.execute("INSERT INTO t (at, progress) VALUES (?, ?)", (i, i % 100))
        conn.execute("COMMIT")
        costs.append((time.process_time() - began) * 1000)
    conn.close()
    floor = statistics.median(costs)
    record("floor: a one-row transaction in WAL mode", floor, "ms")
    return floor


def logical_mb(path: Path) -> float:
    """The database's size as SQLite counts it (pages in use by the file and its WAL): what
    the file is after a checkpoint, so sizes taken mid-run compare with the final one."""
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as conn:
        pages = conn.execute("PRAGMA page_count").fetchone()[0]
        size = conn.execute("PRAGMA page_size").fetchone()[0]
    conn.close()
    return float(pages * size / 1e6)


def extrapolate(curve: list[tuple[int, float]], to_day: int) -> float:
    """The size at ``to_day`` by a straight line through the second half of ``curve``.

    Retention (400 days) trims nothing within a year and every task adds a bounded number
    of rows (its samples are capped), so the file grows by about the same amount each day;
    the first listing's tasks are in the intercept. Checked against a whole simulated year
    (23.26 MB): 30 days extrapolate to 23.27 MB, 6 days to 23.49 MB."""
    tail = curve[len(curve) // 2 :]
    (first_day, first_mb), (last_day, last_mb) = tail[0], tail[-1]
    if last_day == first_day:
        return last_mb
    return last_mb + (last_mb - first_mb) / (last_day - first_day) * (to_day - last_day)


def a_year(folder: Path, days: int, per_day: int) -> tuple[Path, dict[str, Any]]:
    """``days`` of polls once a minute; the file's size every tenth of the way, at the end,
    and (when ``days`` is short of a year) extrapolated to 365 days."""
    every = max(1, days // 10)
    path = folder / "year.sqlite3"
    store = HistoryStore.open(path, warn=print, now=T0)
    account = Account(per_day, random.Random(14))
    state = MonitorState()
    curve: list[tuple[int, float]] = []
    began = time.monotonic()
    for minute in range(days * 24 * 60):
        now = T0 + timedelta(minutes=minute)
        plan = plan_for(state, EAST, full_every=60)  # hourly at one poll a minute
        before = state
        state, _ = reduce(state, account.answer(plan, now), now)
        store.write(poll_rows(before, state, now))
        day, rest = divmod(minute + 1, 24 * 60)
        if rest == 0 and (day % every == 0 or day == days):
            curve.append((day, round(logical_mb(path), 3)))
        if minute % (30 * 24 * 60) == 0:
            print(f"    day {minute // 1440}: {path.stat().st_size / 1e6:.1f} MB", flush=True)
    store.close()
    print(f"    simulated {days} days in {time.monotonic() - began:.0f} s", flush=True)
    with sqlite3.connect(path) as conn:
        counts = {
            table: conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
            for table in ("tasks", "changes", "samples")
        }
    conn.close()
    print(f"    rows: {counts}", flush=True)
    RESULTS["rows after the year"] = {"value": counts, "unit": "rows", "target": ""}
    size = path.stat().st_size / 1e6
    record(f"file after {days} days (1,000 live, {per_day} new/day)", size, "MB", "< 50 MB")
    vacuumed = folder / "vacuumed.sqlite3"
    with sqlite3.connect(path) as conn:
        conn.execute(f"VACUUM INTO '{vacuumed}'")
    conn.close()
    record("the same after VACUUM", vacuumed.stat().st_size / 1e6, "MB")
    year = size
    if days < 365 and curve:
        year = extrapolate(curve, 365)
        record("  extrapolated to 365 days", year, "MB", "< 50 MB")
    out: dict[str, Any] = {
        "days": days,
        "rows": counts,
        "file_mb": size,
        "vacuumed_mb": vacuumed.stat().st_size / 1e6,
        "curve_day_mb": curve,
        "year_mb": year,
        "year_mb_extrapolated": days < 365,
    }
    return path, out


def startup(path: Path, days: int) -> dict[str, float]:
    """Milliseconds to open the file, seed a monitor from it, and check every page."""
    end = T0 + timedelta(days=days)
    began = time.perf_counter()
    store = HistoryStore.open(path, warn=print, now=end)
    opened = (time.perf_counter() - began) * 1000
    record("open that file (header, WAL, migrate, trim)", opened, "ms")
    began = time.perf_counter()
    state = seed(store, [EAST], now=end)
    seeded = (time.perf_counter() - began) * 1000
    record(f"seed a monitor from it ({len(state.tasks)} tasks)", seeded, "ms")
    store.close()
    with sqlite3.connect(path) as conn:
        began = time.perf_counter()
        conn.execute("PRAGMA quick_check(1)").fetchall()
        checked = (time.perf_counter() - began) * 1000
    conn.close()
    record("check every page (quick_check, on the writer thread)", checked, "ms")
    return {
        "open_ms": opened,
        "seed_ms": seeded,
        "seed_tasks": len(state.tasks),
        "check_ms": checked,
    }


def write_figures(polls: int = 600) -> dict[str, Any]:
    """The CPU of a poll's write at 1,000 tasks, and its floor (ms)."""
    with tempfile.TemporaryDirectory(prefix="amimon-bench-") as tmp:
        out: dict[str, Any] = dict(write_cost(Path(tmp), polls))
        out["write_floor_ms"] = commit_floor(Path(tmp))
    return out


def year_figures(days: int = 365, per_day: int = 30) -> dict[str, Any]:
    """The file after ``days`` (when short of a year, extrapolated to 365 days), and the
    cost of opening it. Sizes, not times, are what count here: it may share the CPU."""
    with tempfile.TemporaryDirectory(prefix="amimon-bench-") as tmp:
        path, out = a_year(Path(tmp), days, per_day)
        out.update(startup(path, days))
    return out


def measure(days: int = 365, per_day: int = 30, polls: int = 600) -> dict[str, Any]:
    """Every figure of this module: the write cost, the file after ``days`` (and, when
    short of a year, extrapolated to 365 days), and opening that file."""
    return {**write_figures(polls), **year_figures(days, per_day)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--per-day", type=int, default=30)
    parser.add_argument("--polls", type=int, default=600)
    parser.add_argument(
        "--year-only",
        metavar="JSON",
        type=Path,
        help="only the simulated year; its figures to this file (bench/run.py runs this "
        "beside a part that counts requests, not time)",
    )
    args = parser.parse_args()
    print(f"python {sys.version.split()[0]}, sqlite {sqlite3.sqlite_version}")
    if args.year_only:
        args.year_only.write_text(json.dumps(year_figures(args.days, args.per_day)) + "\n")
        return
    figures = measure(args.days, args.per_day, args.polls)
    RESULTS["size curve (day, MB)"] = {"value": figures["curve_day_mb"], "unit": "MB", "target": ""}
    out = ROOT / "bench" / "history.json"
    out.write_text(json.dumps(RESULTS, indent=2) + "\n")
    print(f"wrote {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()

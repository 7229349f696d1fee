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
RESULTS: dict[str, dict[str, object]] = {}


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


def write_cost(folder: Path, polls: int) -> None:
    """CPU per poll write at 1,000 tasks, 10 of them moving every poll."""
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
    record(
        "poll write CPU, 1,000 tasks, 10 moving: median", statistics.median(costs), "ms", "≤ 5 ms"
    )
    record("poll write CPU, 1,000 tasks, 10 moving: p95", costs[int(len(costs) * 0.95)], "ms")
    record("first poll write (all 1,000 tasks are new)", first, "ms")


def a_year(folder: Path, days: int, per_day: int) -> Path:
    path = folder / "year.sqlite3"
    store = HistoryStore.open(path, warn=print, now=T0)
    account = Account(per_day, random.Random(14))
    state = MonitorState()
    began = time.monotonic()
    for minute in range(days * 24 * 60):
        now = T0 + timedelta(minutes=minute)
        plan = plan_for(state, EAST, full_every=60)  # hourly at one poll a minute
        before = state
        state, _ = reduce(state, account.answer(plan, now), now)
        store.write(poll_rows(before, state, now))
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
    record(
        f"file after {days} days (1,000 live, {per_day} new/day)",
        path.stat().st_size / 1e6,
        "MB",
        "< 50 MB",
    )
    vacuumed = folder / "vacuumed.sqlite3"
    with sqlite3.connect(path) as conn:
        conn.execute(f"VACUUM INTO '{vacuumed}'")
    conn.close()
    record("the same after VACUUM", vacuumed.stat().st_size / 1e6, "MB")
    return path


def startup(path: Path, days: int) -> None:
    end = T0 + timedelta(days=days)
    began = time.perf_counter()
    store = HistoryStore.open(path, warn=print, now=end)
    record(
        "open that file (header, WAL, migrate, trim)", (time.perf_counter() - began) * 1000, "ms"
    )
    began = time.perf_counter()
    state = seed(store, [EAST], now=end)
    took = (time.perf_counter() - began) * 1000
    record(f"seed a monitor from it ({len(state.tasks)} tasks)", took, "ms")
    store.close()
    with sqlite3.connect(path) as conn:
        began = time.perf_counter()
        conn.execute("PRAGMA quick_check(1)").fetchall()
        took = (time.perf_counter() - began) * 1000
    conn.close()
    record("check every page (quick_check, on the writer thread)", took, "ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--per-day", type=int, default=30)
    parser.add_argument("--polls", type=int, default=600)
    args = parser.parse_args()
    print(f"python {sys.version.split()[0]}, sqlite {sqlite3.sqlite_version}")
    with tempfile.TemporaryDirectory(prefix="amimon-bench-") as tmp:
        folder = Path(tmp)
        write_cost(folder, args.polls)
        path = a_year(folder, args.days, args.per_day)
        startup(path, args.days)
    out = ROOT / "bench" / "history.json"
    out.write_text(json.dumps(RESULTS, indent=2) + "\n")
    print(f"wrote {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()

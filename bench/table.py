"""The monitor's table and UI measured as a user runs it: ``python bench/table.py``.

The real ``amimon`` process runs in a pseudo-terminal of 160x45 against the simulator in
another process (``amimon sim --port N --scenario FILE``); every figure counts the ticks
between polls too. Each is printed beside its floor, measured in the same run: a bare
Textual app's first frame and idle CPU, and one ``aws ec2 describe-store-image-tasks``
call when ``aws`` is on PATH. Standalone (not a test); ``--quick`` shortens the windows.
"""

from __future__ import annotations

import argparse
import fcntl
import os
import pty
import resource
import select
import shutil
import signal
import socket
import statistics
import struct
import subprocess
import sys
import tempfile
import termios
import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
AMIMON = [PYTHON, "-m", "amimon"]
KEY = ("AKIDEXAMPLE", "secret")  # the simulator takes any credentials
SIZE = (160, 45)
CLK_TCK = os.sysconf("SC_CLK_TCK")
# The AWS CLI to compare with: AMIMON_BENCH_AWS, else `aws` on PATH. Name the real script
# (a venv's bin/aws), not a version manager's shim, whose own start-up would be counted.
AWS = os.environ.get("AMIMON_BENCH_AWS") or shutil.which("aws")


def env() -> dict[str, str]:
    out = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES", "NO_COLOR")}
    out.update(
        TERM="xterm-256color",
        COLORTERM="truecolor",
        AWS_ACCESS_KEY_ID=KEY[0],
        AWS_SECRET_ACCESS_KEY=KEY[1],
        AWS_EC2_METADATA_DISABLED="true",
        AWS_CONFIG_FILE=os.devnull,
        AWS_SHARED_CREDENTIALS_FILE=os.devnull,
        AMIMON_CONFIG=os.devnull,
    )
    return out


# Scenarios ---------------------------------------------------------------------------


def scenario(path: Path, total: int, running: int, *, running_for: str = "8m") -> Path:
    """``total`` tasks: ``running`` started a minute ago and moving 1% every 4.8 s (so most
    polls at 5 s see each of them change), the rest finished minutes to weeks ago. Running
    tasks are every n-th AMI id: newest first they fill the screen, by AMI id they are
    spread evenly (one row in twenty for 5%)."""
    lines = []
    step = total // running if running else 0
    for n in range(total):
        ami = f"ami-{n:017x}"
        bucket = ("archive-prod", "dr-backups-eu", "migration-staging")[n % 3]
        if step and n % step == 0:
            start, duration = f"-{61 + n % 20}s", running_for
        else:
            start, duration = f"-{600 + n * 240}s", "5m"  # finished before the start
        lines.append(
            f'[[task]]\nami_id = "{ami}"\nbucket = "{bucket}"\nstart = "{start}"\n'
            f'duration = "{duration}"\n'
        )
    path.write_text("\n".join(lines))
    return path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def simulator(scenario_file: Path) -> Iterator[str]:
    """``amimon sim`` in its own process; yields its URL."""
    port = free_port()
    proc = subprocess.Popen(
        [*AMIMON, "sim", "--port", str(port), "--scenario", str(scenario_file)],
        cwd=ROOT,
        env=env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        assert proc.stdout is not None
        for line in proc.stdout:
            if b"amimon simulator" in line:
                break
        yield url
    finally:
        proc.terminate()
        proc.wait(10)


# The process under test ----------------------------------------------------------------


class Terminal:
    """A command in a pseudo-terminal; reads all it writes, stamping the last byte."""

    def __init__(self, argv: list[str], extra_env: dict[str, str] | None = None) -> None:
        master, slave = pty.openpty()
        rows, cols = SIZE[1], SIZE[0]
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
        self.started = time.perf_counter()
        self.proc = subprocess.Popen(
            argv,
            stdin=slave,
            stdout=slave,
            stderr=slave,
            cwd=ROOT,
            env={**env(), **(extra_env or {})},
            start_new_session=True,
        )
        os.close(slave)
        self.master = master
        self.output = bytearray()
        self.last_byte = self.started
        self.first_byte: float | None = None
        self._chunk_times: list[float] = []

    def pump(self, seconds: float) -> None:
        """Read what arrives for ``seconds``."""
        deadline = time.perf_counter() + seconds
        while True:
            left = deadline - time.perf_counter()
            if left <= 0:
                return
            ready, _, _ = select.select([self.master], [], [], left)
            if ready:
                try:
                    chunk = os.read(self.master, 1 << 16)
                except OSError:
                    return
                now = time.perf_counter()
                self.first_byte = self.first_byte or now
                if now - self.last_byte > 0.005:
                    self._chunk_times.append(now)  # the start of a burst (a frame)
                self.last_byte = now
                self.output += chunk

    def wait_for(self, text: bytes, seconds: float = 120) -> float:
        """Seconds from start until ``text`` appears in the output."""
        deadline = time.perf_counter() + seconds
        start = len(self.output)
        while time.perf_counter() < deadline:
            self.pump(0.05)
            if text in self.output[max(0, start - len(text)) :]:
                return self.last_byte - self.started
        raise TimeoutError(f"{text!r} never appeared")

    def quiet(self, gap: float = 0.25, limit: float = 10) -> None:
        """Read until nothing has arrived for ``gap`` seconds."""
        end = time.perf_counter() + limit
        while time.perf_counter() < end:
            before = len(self.output)
            self.pump(gap)
            if len(self.output) == before:
                return

    def answer(self, keys: bytes, gap: float = 0.03) -> tuple[float, float]:
        """Milliseconds from sending ``keys`` to the first byte of the frame it caused, and
        to the last byte of the frames that followed it (the burst ends with a ``gap``)."""
        self.quiet(0.1, 2)
        sent = time.perf_counter()
        before = len(self.output)
        os.write(self.master, keys)
        first = None
        end = sent + 5
        while time.perf_counter() < end:
            size = len(self.output)
            self.pump(gap)
            if first is None and len(self.output) > before:
                first = self.first_after(sent)
            if len(self.output) == size and len(self.output) > before:
                break
        first = first or self.last_byte
        return (first - sent) * 1000, (self.last_byte - sent) * 1000

    def first_after(self, moment: float) -> float:
        return self._chunk_times[-1] if self._chunk_times else moment

    def cpu(self) -> float:
        """Seconds of CPU the process's live threads have used, to the nanosecond (a thread
        that ended is counted by /proc/PID/stat, to the 10 ms tick: take the larger)."""
        tasks = Path(f"/proc/{self.proc.pid}/task")
        live = 0
        for task in tasks.iterdir():
            try:
                live += int((task / "schedstat").read_text().split()[0])
            except (OSError, ValueError):
                continue
        fields = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        ticks = (int(fields[11]) + int(fields[12])) / CLK_TCK
        return max(live / 1e9, ticks)

    def ui_cpu(self) -> float:
        """Seconds of CPU the main (event loop) thread has used, to the nanosecond."""
        runtime = Path(f"/proc/{self.proc.pid}/task/{self.proc.pid}/schedstat").read_text()
        return int(runtime.split()[0]) / 1e9

    def rss_mb(self) -> float:
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        return 0.0

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        os.close(self.master)


@contextmanager
def monitor(url: str, *extra: str) -> Iterator[Terminal]:
    """The monitor against ``url``, as a first-time user runs it: history and logs in a
    state directory of its own (never the user's), the trimmed EC2 model cache as it is."""
    with tempfile.TemporaryDirectory(prefix="amimon-state-") as state:
        argv = [*AMIMON, "--endpoint-url", url, "--region", "us-east-1", *extra]
        term = Terminal(argv, {"XDG_STATE_HOME": state})
        try:
            yield term
        finally:
            term.close()


def loaded(term: Terminal, tasks: int) -> None:
    term.wait_for(f"{tasks:,} tasks:".encode(), 180)
    term.quiet(0.5)


# Measurements ----------------------------------------------------------------------------

RESULTS: list[tuple[str, str, str, str]] = []


def report(name: str, value: str, floor: str = "", goal: str = "") -> None:
    RESULTS.append((name, value, floor, goal))
    print(f"  {name:<58} {value:>12}  {floor:>22}  {goal}", flush=True)


def bare_textual(idle_seconds: float = 10) -> dict[str, float]:
    """The floor: a bare Textual app (one ``Static``) in the same pty: first frame (ms),
    RSS once drawn (MB), and idle CPU (%) over ``idle_seconds`` (skipped at 0)."""
    code = (
        "from textual.app import App\nfrom textual.widgets import Static\n"
        "class A(App):\n    def compose(self):\n        yield Static('ready')\nA().run()\n"
    )
    term = Terminal([PYTHON, "-c", code])
    try:
        first = term.wait_for(b"ready", 30) * 1000
        term.quiet(0.5)
        term.pump(1)
        out = {"bare_first_frame_ms": first, "bare_rss_mb": term.rss_mb()}
        if idle_seconds:
            out["bare_idle_pct"] = cpu_percent(term, idle_seconds)
    finally:
        term.close()
    return out


def cpu_percent(term: Terminal, seconds: float) -> float:
    start, cpu = time.perf_counter(), term.cpu()
    term.pump(seconds)
    return (term.cpu() - cpu) / (time.perf_counter() - start) * 100


def aws_cli_cpu(url: str) -> float | None:
    """CPU seconds of one ``aws ec2 describe-store-image-tasks`` call (all its pages)."""
    if AWS is None:
        return None
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    subprocess.run(
        [AWS, "ec2", "describe-store-image-tasks", "--endpoint-url", url,
         "--region", "us-east-1", "--output", "json"],
        env=env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True,
    )  # fmt: skip
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def per_poll(term: Terminal, interval: float, polls: int) -> tuple[float, float]:
    """(UI thread, whole process) CPU milliseconds per poll window."""
    term.quiet(0.3)
    ui, cpu, start = term.ui_cpu(), term.cpu(), time.perf_counter()
    term.pump(interval * polls)
    windows = (time.perf_counter() - start) / interval
    return (term.ui_cpu() - ui) * 1000 / windows, (term.cpu() - cpu) * 1000 / windows


def filter_and_sort(term: Terminal, rounds: int) -> list[tuple[float, float]]:
    """Median ms (first frame, settled) for a state filter change (s) and a sort change
    (o), polling paused."""
    term.answer(b"p")
    filters = [term.answer(b"s") for _ in range(rounds)]
    sorts = [term.answer(b"o") for _ in range(rounds)]
    term.answer(b"\x1b")
    term.quiet(0.3)
    term.answer(b"p")
    return [
        (statistics.median(a[0] for a in runs), statistics.median(a[1] for a in runs))
        for runs in (filters, sorts)
    ]


def key_answers(term: Terminal, rounds: int) -> dict[str, Any]:
    """Filter (s) and sort (o) changes, polling paused: median ms from the key to the first
    frame it caused and to the last (settled), and how many frames that took; beside them
    their floor, a cursor key (the same path from key to screen, nothing to filter)."""
    term.answer(b"p")
    cursor = [term.answer(b"\x1b[B" if i % 2 == 0 else b"\x1b[A") for i in range(rounds)]
    filters, frames = [], []
    for _ in range(rounds):
        term.quiet(0.1, 2)
        sent = time.perf_counter()
        filters.append(term.answer(b"s"))
        frames.append(sum(1 for t in term._chunk_times if t >= sent))
    sorts = [term.answer(b"o") for _ in range(rounds)]
    term.answer(b"\x1b")
    term.quiet(0.3)
    term.answer(b"p")
    return {
        "filter_ms": statistics.median(a[0] for a in filters),
        "filter_settled_ms": statistics.median(a[1] for a in filters),
        "filter_frames": statistics.median(frames),
        "sort_ms": statistics.median(a[0] for a in sorts),
        "sort_settled_ms": statistics.median(a[1] for a in sorts),
        "cursor_ms": statistics.median(a[0] for a in cursor),
        # Each press in turn (the state filter cycles through its values): first frame
        # and settled, ms, and frames.
        "filter_each": [
            [round(a[0], 1), round(a[1], 1), n] for a, n in zip(filters, frames, strict=True)
        ],
        "sort_each": [[round(a[0], 1), round(a[1], 1)] for a in sorts],
    }


def worst_stall(term: Terminal, seconds: float) -> tuple[float, float]:
    """Cursor keys every 100 ms while polls run: (median, worst) ms to the first frame."""
    answers = []
    end = time.perf_counter() + seconds
    down = True
    while time.perf_counter() < end:
        answers.append(term.answer(b"\x1b[B" if down else b"\x1b[A")[0])
        down = not down
        term.pump(0.07)
    return statistics.median(answers), max(answers)


def memory_and_idle(url: str, total: int = 1000, window: float = 0) -> tuple[float, float]:
    """RSS (MB) of a fresh monitor once its first load of ``total`` tasks is on screen,
    then its idle CPU (%) over ``window`` seconds (skipped at 0) with nothing changing: no
    poll due (``--interval 3600``), a minute after the load (until then the header's age
    moves in 5 s steps, which is a change)."""
    with monitor(url, "--interval", "3600") as term:
        loaded(term, total)
        term.pump(3)
        rss = term.rss_mb()
        if not window:
            return rss, 0.0
        term.pump(62)
        return rss, cpu_percent(term, window)


def idle_and_memory(work: Path, window: float, bare_idle: float) -> None:
    """1,000 tasks, nothing changing: idle CPU (no poll in the window), RSS of a fresh process."""
    with simulator(scenario(work / "idle.toml", 1000, 0)) as url:
        rss, idle = memory_and_idle(url, 1000, window)
    report("RSS at 1,000 tasks, fresh process", f"{rss:.0f} MB", "", "≤ 90 MB")
    floor = f"bare Textual {bare_idle:.3f}%"
    report("idle CPU, 1,000 tasks, nothing changing", f"{idle:.3f}%", floor, "≤ 0.1%")


def steady(url: str, window: float, cli_calls: int = 3) -> dict[str, float]:
    """1,000 tasks, 10 running and visible, ``--interval 5``: CPU per poll window (whole
    process and its UI thread, ticks included), then the floor against the same simulator:
    one ``aws ec2 describe-store-image-tasks`` call (median of ``cli_calls``, taken before
    and after the window; absent when there is no ``aws``)."""
    calls = [c for _ in range(cli_calls // 2) if (c := aws_cli_cpu(url)) is not None]
    with monitor(url, "--interval", "5") as term:
        loaded(term, 1000)
        ui, cpu = per_poll(term, 5, max(1, int(window // 5)))
    out = {"window_cpu_ms": cpu, "window_ui_ms": ui}
    # Half the calls before the window, half after: drift in between hits both alike.
    calls += [c for _ in range(cli_calls - cli_calls // 2) if (c := aws_cli_cpu(url)) is not None]
    if calls:
        out["aws_cli_ms"] = statistics.median(calls) * 1000
        out["aws_cli_ratio"] = out["aws_cli_ms"] / cpu
    return out


def against_the_cli(work: Path, window: float) -> None:
    """1,000 tasks, 10 running and visible, --interval 5: a poll window against the CLI."""
    with simulator(scenario(work / "ten.toml", 1000, 10)) as url:
        got = steady(url, window, cli_calls=1)
    cpu = got["window_cpu_ms"]
    cli = got.get("aws_cli_ms")
    floor = "aws: not on PATH" if cli is None else f"aws CLI call {cli:.0f} ms"
    ratio = "" if cli is None else f"{cli / cpu:.0f}x cheaper"
    report("CPU per 5 s poll window, 1,000 tasks, 10 running", f"{cpu:.1f} ms", floor,
           f"≥ 30x: {ratio}")  # fmt: skip


def changing(work: Path, window: float, total: int) -> dict[str, float]:
    """``total`` tasks, 5% of them moving at every poll (at 5 s): UI and process CPU per
    poll with every row on screen moving, then sorted by AMI id (the moving tasks are one
    row in twenty); at 10,000 tasks also the answer to a key while polls run."""
    out: dict[str, float] = {}
    with (
        simulator(scenario(work / f"five-{total}.toml", total, total // 20)) as url,
        monitor(url, "--interval", "5") as term,
    ):
        loaded(term, total)
        out["all_ui_ms"], out["all_cpu_ms"] = per_poll(term, 5, max(1, int(window // 5)))
        term.answer(b"o")  # by AMI id: the running tasks are one row in twenty
        out["ui_ms"], out["cpu_ms"] = per_poll(term, 5, max(1, int(window // 5)))
        if total >= 10_000:
            out["key_median_ms"], out["key_worst_ms"] = worst_stall(term, window / 2)
    return out


def report_changing(got: dict[str, float], total: int) -> None:
    goal = "≤ 15 ms" if total == 1000 else "≤ 50 ms"
    name = f"UI CPU per poll, {total:,} tasks, 5% changing, all on screen"
    report(name, f"{got['all_ui_ms']:.1f} ms", f"process {got['all_cpu_ms']:.0f} ms")
    name = f"UI CPU per poll, {total:,} tasks, 5% changing, 5% of rows"
    report(name, f"{got['ui_ms']:.1f} ms", f"process {got['cpu_ms']:.0f} ms", goal)
    if "key_worst_ms" in got:
        name = f"answer to a key while polling, {total:,} tasks: median / worst"
        value = f"{got['key_median_ms']:.0f} / {got['key_worst_ms']:.0f} ms"
        report(name, value, "", "worst ≤ 100 ms")


class MemoryWatch:
    """A monitor left polling (1,000 tasks, 10 running, ``--interval 5``) while the rest of
    a bench run goes on: its RSS after the first load and then every ``every`` seconds.
    A thread reads its terminal (a pty nobody reads fills up and stops the app)."""

    def __init__(self, work: Path, every: float = 30) -> None:
        self.work, self.every = work, every
        self.samples: list[tuple[float, float]] = []  # (seconds since loaded, MB)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._stack = ExitStack()
        self.error: BaseException | None = None

    def start(self) -> None:
        url = self._stack.enter_context(simulator(scenario(self.work / "hour.toml", 1000, 10)))
        self.term = self._stack.enter_context(monitor(url, "--interval", "5"))
        loaded(self.term, 1000)
        self.loaded_at = time.perf_counter()
        self.samples.append((0.0, self.term.rss_mb()))
        self._thread = threading.Thread(target=self._run, name="memory-watch", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            next_sample = self.loaded_at + self.every
            while not self._stop.is_set():
                self.term.pump(0.5)
                if time.perf_counter() >= next_sample:
                    next_sample += self.every
                    at = time.perf_counter() - self.loaded_at
                    self.samples.append((at, self.term.rss_mb()))
        except BaseException as exc:  # said at the end, not lost in a thread
            self.error = exc

    def stop(self) -> dict[str, Any]:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        if self.samples:
            self.samples.append((time.perf_counter() - self.loaded_at, self.term.rss_mb()))
        self._stack.close()
        if self.error is not None:
            raise self.error
        return {"samples": self.samples, "polls": int(self.samples[-1][0] // 5)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="shorter windows (noisier)")
    parser.add_argument(
        "--only",
        default="floor,idle,cli,1000,10000",
        help="comma-separated parts: floor, idle, cli, 1000, 10000 (default: all)",
    )
    args = parser.parse_args()
    parts = set(args.only.split(","))
    window = 30.0 if args.quick else 60.0
    work = Path(tempfile.mkdtemp(prefix="amimon-bench-"))
    print(f"{'measure':<60} {'amimon':>12}  {'floor':>22}  goal")
    bare_idle = 0.0
    if "floor" in parts:
        bare = bare_textual()
        bare_idle = bare["bare_idle_pct"]
        report("bare Textual app: first frame / idle CPU", f"{bare['bare_first_frame_ms']:.0f} ms",
               f"{bare_idle:.3f}%")  # fmt: skip
    if "idle" in parts:
        idle_and_memory(work, window, bare_idle)
    if "cli" in parts:
        against_the_cli(work, window)
    for total in (1000, 10_000):
        if str(total) in parts:
            report_changing(changing(work, window, total), total)
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()

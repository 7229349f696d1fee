"""Start-up, measured as a user pays it: the real process in a pseudo-terminal.

First frame: from spawning ``python -m amimon --demo`` to the first screen that shows
the header, beside the same measure for a bare Textual app (one ``Static``) started the
same way, in the same run, because this machine's absolute times drift. First data: to
the first task row on screen. ``python bench/startup.py`` prints medians; ``bench/run.py``
imports ``measure()``.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import re
import select
import signal
import statistics
import struct
import subprocess
import sys
import tempfile
import termios
import time
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ANSI = re.compile(
    rb"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[()][0-9A-Za-z]|\x1b[=>]"
)

BARE_APP = """
from textual.app import App, ComposeResult
from textual.widgets import Static


class Bare(App[None]):
    def compose(self) -> ComposeResult:
        yield Static("bare textual app ready")


Bare().run()
"""


def env() -> dict[str, str]:
    # Bytecode cached as an installed package has it (pip compiles on install); this
    # machine's environment sets PYTHONDONTWRITEBYTECODE, which no user's would.
    drop = {"COLUMNS", "LINES", "PYTHONDONTWRITEBYTECODE"}
    out = {k: v for k, v in os.environ.items() if k not in drop}
    out.update(TERM="xterm-256color", COLORTERM="truecolor", AWS_EC2_METADATA_DISABLED="true")
    return out


def run_in_pty(
    argv: Sequence[str],
    markers: Sequence[bytes],
    *,
    size: tuple[int, int] = (160, 45),
    timeout: float = 30.0,
) -> list[float | None]:
    """Spawn ``argv`` in a pty of ``size``; seconds until each marker shows (text with
    escape sequences removed), None for one that never did."""
    master, slave = os.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", size[1], size[0], 0, 0))
    start = time.perf_counter()
    proc = subprocess.Popen(
        argv,
        stdin=slave,
        stdout=slave,
        stderr=slave,
        env=env(),
        start_new_session=True,
        cwd=ROOT,
    )
    os.close(slave)
    seen: list[float | None] = [None] * len(markers)
    raw = b""
    deadline = start + timeout
    try:
        while None in seen and time.perf_counter() < deadline:
            ready, _, _ = select.select([master], [], [], 0.05)
            if not ready:
                continue
            try:
                chunk = os.read(master, 65536)
            except OSError:
                break
            if not chunk:
                break
            raw += chunk
            text = ANSI.sub(b"", raw)
            now = time.perf_counter() - start
            for i, marker in enumerate(markers):
                if seen[i] is None and marker in text:
                    seen[i] = now
    finally:
        with_pgid_kill(proc)
        os.close(master)
    return seen


def with_pgid_kill(proc: subprocess.Popen[bytes]) -> None:
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=5)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        with_kill(proc)


def with_kill(proc: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=5)


def measure(runs: int = 9) -> dict[str, float]:
    """Medians in milliseconds: bare Textual first frame, amimon's first frame and first
    data in the demo, and the ratio of the two first frames."""
    with tempfile.TemporaryDirectory() as tmp:
        bare = Path(tmp) / "bare.py"
        bare.write_text(BARE_APP)
        bare_argv = [sys.executable, str(bare)]
        amimon_argv = [sys.executable, "-m", "amimon", "--demo"]
        # Warm the bytecode caches and the page cache, as a second start would.
        run_in_pty(bare_argv, [b"bare textual app ready"])
        run_in_pty(amimon_argv, [b"amimon", b"ami-0"])
        bare_ms, frame_ms, data_ms = [], [], []
        for _ in range(runs):  # interleaved, so drift hits both alike
            (b,) = run_in_pty(bare_argv, [b"bare textual app ready"])
            f, d = run_in_pty(amimon_argv, [b"DEMO", b"ami-0"])
            if b is not None:
                bare_ms.append(b * 1000)
            if f is not None:
                frame_ms.append(f * 1000)
            if d is not None:
                data_ms.append(d * 1000)
    bare_median = statistics.median(bare_ms)
    frame_median = statistics.median(frame_ms)
    return {
        "bare_first_frame_ms": bare_median,
        "first_frame_ms": frame_median,
        "first_frame_ratio": frame_median / bare_median,
        "first_data_ms": statistics.median(data_ms),
    }


if __name__ == "__main__":
    for name, value in measure().items():
        print(f"{name:<24} {value:8.2f}")

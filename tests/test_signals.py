"""Quitting the real monitor in a terminal: q, Ctrl+C, SIGTERM and SIGHUP each restore the
terminal (alternate screen left, mouse tracking off, cursor shown), exit with their code,
and leave no demo simulator behind."""

from __future__ import annotations

import fcntl
import os
import pty
import select
import signal
import struct
import subprocess
import sys
import termios
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
LEAVE_ALT_SCREEN = b"\x1b[?1049l"
SHOW_CURSOR = b"\x1b[?25h"
MOUSE_OFF = b"\x1b[?1000l"


class Terminal:
    """``amimon --demo`` in a pseudo-terminal of 80x24; reads everything it writes."""

    def __init__(self) -> None:
        master, slave = pty.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))
        env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES")}
        env.update(TERM="xterm-256color", AWS_EC2_METADATA_DISABLED="true")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "amimon", "--demo"],
            stdin=slave,
            stdout=slave,
            stderr=slave,
            cwd=ROOT,
            env=env,
            start_new_session=True,
        )
        os.close(slave)
        self.master = master
        self.output = b""

    def read(self, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            ready, _, _ = select.select([self.master], [], [], 0.05)
            if ready:
                try:
                    chunk = os.read(self.master, 65536)
                except OSError:
                    return
                if not chunk:
                    return
                self.output += chunk
            elif self.process.poll() is not None:
                return

    def wait_for(self, text: bytes, seconds: float = 20) -> None:
        deadline = time.monotonic() + seconds
        while text not in self.output and time.monotonic() < deadline:
            self.read(0.1)
        assert text in self.output, self.output[-500:]

    def finish(self, seconds: float = 20) -> int:
        deadline = time.monotonic() + seconds
        while self.process.poll() is None and time.monotonic() < deadline:
            self.read(0.1)
        self.read(0.3)
        if self.process.poll() is None:
            self.process.kill()
            pytest.fail("amimon did not exit")
        os.close(self.master)
        return self.process.returncode


def simulator_of(pid: int) -> int:
    """The pid of the demo's simulator, a child process of the monitor ``pid``."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                stat = (entry / "stat").read_text()
                cmdline = (entry / "cmdline").read_bytes()
            except OSError:
                continue
            ppid = int(stat.rsplit(")", 1)[1].split()[1])
            if ppid == pid and b"amimon.demo" in cmdline:
                return int(entry.name)
        time.sleep(0.05)
    pytest.fail(f"no simulator process under the monitor {pid}")


def assert_gone(pid: int, seconds: float = 10) -> None:
    """``pid`` has ended (a zombie nobody reaped yet counts as ended)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            return
        if state in ("Z", "X"):
            return
        time.sleep(0.05)
    os.kill(pid, signal.SIGKILL)
    pytest.fail(f"the demo's simulator (pid {pid}) outlived the monitor")


@pytest.fixture
def terminal() -> Iterator[Terminal]:
    """A monitor in a pty, killed if a test ends without it exiting (a failed test must
    not leave a monitor spinning on a terminal nobody reads)."""
    term = Terminal()
    try:
        yield term
    finally:
        if term.process.poll() is None:
            term.process.kill()
            term.process.wait()


@pytest.mark.parametrize(
    ("how", "code"),
    [("q", 0), ("ctrl+c", 130), ("SIGINT", 130), ("SIGTERM", 143), ("SIGHUP", 129)],
)
def test_quitting_restores_the_terminal_and_exits_with_its_code(
    how: str, code: int, terminal: Terminal
) -> None:
    term = terminal
    term.wait_for(b"DEMO")
    term.wait_for(b"InProgress")  # the first poll has answered: the app is fully up
    simulator = simulator_of(term.process.pid)
    if how == "q":
        os.write(term.master, b"q")
    elif how == "ctrl+c":
        os.write(term.master, b"\x03")
    else:
        term.process.send_signal(getattr(signal, how))
    assert term.finish() == code
    tail = term.output[-200:]
    assert LEAVE_ALT_SCREEN in tail and SHOW_CURSOR in tail and MOUSE_OFF in tail, tail
    assert b"Traceback" not in term.output
    assert_gone(simulator)


def test_the_demos_simulator_ends_with_a_monitor_that_was_killed(terminal: Terminal) -> None:
    """The simulator runs in a child process; a monitor that cannot clean up (SIGKILL, a
    crash) still takes it along: the child sees its stdin pipe close."""
    terminal.wait_for(b"DEMO")
    simulator = simulator_of(terminal.process.pid)
    terminal.process.kill()
    terminal.process.wait()
    assert_gone(simulator)


def test_a_terminal_that_goes_away_ends_the_monitor() -> None:
    """The window is closed (tmux kill-session, ssh dropped): the monitor gets SIGHUP with
    no terminal left to restore, and still exits instead of spinning on the dead tty."""
    pid, master = pty.fork()
    if pid == 0:  # the child: the pty is its controlling terminal
        fcntl.ioctl(0, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))
        os.chdir(ROOT)
        env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES")}
        env.update(TERM="xterm-256color", AWS_EC2_METADATA_DISABLED="true")
        os.execve(sys.executable, [sys.executable, "-m", "amimon", "--demo"], env)
    output = b""
    deadline = time.monotonic() + 30
    while b"InProgress" not in output and time.monotonic() < deadline:
        ready, _, _ = select.select([master], [], [], 0.1)
        if ready:
            try:
                output += os.read(master, 65536)
            except OSError:
                break
    if b"InProgress" not in output:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        pytest.fail(f"the monitor did not show its tasks: {output[-300:]!r}")
    simulator = simulator_of(pid)
    os.close(master)  # the terminal goes away
    deadline = time.monotonic() + 15
    status = None
    while time.monotonic() < deadline:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            break
        time.sleep(0.1)
    else:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        pytest.fail("the monitor outlived its terminal")
    assert status is not None
    code = os.waitstatus_to_exitcode(status)
    assert code in (129, -signal.SIGHUP), code
    assert_gone(simulator)


def test_a_lone_esc_is_a_key_of_its_own(terminal: Terminal) -> None:
    """The input thread sleeps until input comes (Textual's wakes ten times a second), yet
    an Esc with nothing after it is still a key: it clears the state filter."""
    term = terminal
    term.wait_for(b"InProgress")
    os.write(term.master, b"s")
    term.wait_for(b"InProgress tasks")
    seen = len(term.output)
    os.write(term.master, b"\x1b")
    deadline = time.monotonic() + 5
    while b"all tasks" not in term.output[seen:] and time.monotonic() < deadline:
        term.read(0.05)
    assert b"all tasks" in term.output[seen:]
    os.write(term.master, b"q")
    assert term.finish() == 0

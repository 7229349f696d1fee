"""The demo's endpoint: its port reserved at once, the simulator run in a child process.

Reserving a loopback port is a bound socket (microseconds). Importing and starting the
simulator (``http.server``, ``email``, the scenario) is not: it runs in a process of its
own, ``python -m amimon.demo FD``, spawned as soon as the command line is read, so it
loads on another core while the monitor loads Textual, and never holds the monitor's GIL.
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import sys
import threading
from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import subprocess

log = logging.getLogger(__name__)

DEMO_CREDENTIALS = ("AKIDAMIMONDEMO", "amimon-demo-secret-not-a-real-key")
DEMO_REGION = "us-east-1"
STOP_GRACE = 2.0  # seconds the simulator has to end on SIGTERM before it is killed
# The simulator's start-up yields a shared core to the monitor: on a busy machine it
# waits for the monitor's first frame instead of delaying it. Only the start-up: a
# process cannot undo its own niceness, so it runs in a thread niced alone (Linux nices
# threads one by one) and requests are answered at the usual priority.
NICENESS = 15


class DemoEndpoint:
    """A simulator on 127.0.0.1 whose URL is known before it runs.

    The child process serves the socket this object bound, and ends with it: ``stop()``
    ends it, and if this process ends some other way (a signal, a crash) the child reads
    end-of-file on its stdin and exits.
    """

    def __init__(self) -> None:
        import subprocess

        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind(("127.0.0.1", 0))
            # Connections that arrive before the simulator runs wait in the backlog.
            sock.listen(64)
            self.url = f"http://127.0.0.1:{sock.getsockname()[1]}"
            self.process: subprocess.Popen[bytes] | None = subprocess.Popen(
                [sys.executable, "-m", "amimon.demo", str(sock.fileno())],
                pass_fds=(sock.fileno(),),
                stdin=subprocess.PIPE,  # never written: its end-of-file tells the child to go
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,  # nothing may write under the monitor's screen
            )
        finally:
            # Only the child listens: if it dies, connections are refused at once (a
            # visible poll failure) instead of waiting in a backlog nobody reads.
            sock.close()
        self._lock = threading.Lock()

    def stop(self) -> None:
        """End the simulator and wait for it (idempotent, any thread)."""
        with self._lock:
            process, self.process = self.process, None
        if process is None:
            return
        import subprocess

        if process.poll() is not None:
            log.warning("the demo's simulator had exited with code %s", process.returncode)
        if process.stdin is not None:
            process.stdin.close()
        process.terminate()
        try:
            process.wait(timeout=STOP_GRACE)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _exit_with_parent() -> None:
    """Block until the monitor's end of the stdin pipe closes, then end this process."""
    try:
        while os.read(0, 4096):
            pass
    except OSError:
        pass
    os._exit(0)


def _start_simulator(fd: int, made: list[object]) -> None:
    """Import and build the simulator, in a thread of its own that gives way to others."""
    with contextlib.suppress(AttributeError, OSError):  # elsewhere: the usual priority
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), NICENESS)
    from amimon.sim.server import SimServer

    made.append(SimServer(sock=socket.socket(fileno=fd)))


def serve(argv: Sequence[str]) -> int:
    """The child: serve the simulator on the listening socket whose descriptor is
    ``argv[0]`` until the monitor goes (stdin at end-of-file) or a signal ends it."""
    import signal

    # Ctrl+C at a terminal reaches the whole process group: the monitor decides what it
    # means, and this process ends when the monitor does (through the pipe).
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    threading.Thread(target=_exit_with_parent, name="amimon-demo-parent", daemon=True).start()
    made: list[object] = []
    starting = threading.Thread(target=_start_simulator, args=(int(argv[0]), made))
    starting.start()
    starting.join()
    if not made:
        return 1
    from amimon.sim.server import SimServer

    server = made[0]
    assert isinstance(server, SimServer)
    server.serve_forever()  # from this thread: request threads inherit its priority
    return 0


if __name__ == "__main__":
    sys.exit(serve(sys.argv[1:]))

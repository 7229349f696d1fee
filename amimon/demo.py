"""The demo's endpoint: its port reserved at once, the simulator run in a child process.

Reserving a loopback port is a bound socket (microseconds). Importing and starting the
simulator (``http.server``, ``email``, the scenario) is not: it runs in a process of its
own, ``python -m amimon.demo FD``, spawned on first use (by the monitor's poll worker,
after its first frame), so it loads on another core while the worker loads botocore,
and never holds the monitor's GIL.
"""

from __future__ import annotations

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


class DemoEndpoint:
    """A simulator on 127.0.0.1 whose URL is known before it runs.

    The child process serves the socket this object bound, and ends with it: ``stop()``
    ends it, and if this process ends some other way (a signal, a crash) the child reads
    end-of-file on its stdin and exits.
    """

    def __init__(self) -> None:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", 0))
        # Connections that arrive before the simulator runs wait in the backlog.
        sock.listen(64)
        self.url = f"http://127.0.0.1:{sock.getsockname()[1]}"
        self._socket: socket.socket | None = sock
        self.process: subprocess.Popen[bytes] | None = None
        self._lock = threading.Lock()

    def start(self) -> None:
        """Spawn the simulator on the reserved socket (once; any thread)."""
        import subprocess

        with self._lock:
            sock, self._socket = self._socket, None
            if sock is None:
                return
            try:
                self.process = subprocess.Popen(
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

    def stop(self) -> None:
        """End the simulator and wait for it (idempotent, any thread)."""
        with self._lock:
            process, self.process = self.process, None
            if self._socket is not None:
                self._socket.close()
                self._socket = None
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


def serve(argv: Sequence[str]) -> int:
    """The child: serve the simulator on the listening socket whose descriptor is
    ``argv[0]`` until the monitor goes (stdin at end-of-file) or a signal ends it."""
    import signal

    # Ctrl+C at a terminal reaches the whole process group: the monitor decides what it
    # means, and this process ends when the monitor does (through the pipe).
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    threading.Thread(target=_exit_with_parent, name="amimon-demo-parent", daemon=True).start()
    from amimon.sim.server import SimServer

    SimServer(sock=socket.socket(fileno=int(argv[0]))).serve_forever()
    return 0


if __name__ == "__main__":
    sys.exit(serve(sys.argv[1:]))

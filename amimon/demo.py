"""The demo's endpoint: its port reserved at once, the simulator started in a child process.

Reserving a loopback port is a bound socket (microseconds). Importing and starting the
simulator (``http.server``, ``email``, the scenario) is not: it runs in a process of its
own (``amimon.sim.child``), spawned as soon as the command line is read, so it loads on
another core while the monitor loads Textual, and never holds the monitor's GIL.
"""

from __future__ import annotations

import logging
import socket
import sys
import threading
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
        import subprocess

        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind(("127.0.0.1", 0))
            # Connections that arrive before the simulator runs wait in the backlog.
            sock.listen(64)
            self.url = f"http://127.0.0.1:{sock.getsockname()[1]}"
            self.process: subprocess.Popen[bytes] | None = subprocess.Popen(
                [sys.executable, "-m", "amimon.sim.child", str(sock.fileno())],
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

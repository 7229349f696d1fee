"""The demo's endpoint: its port is reserved at once, the simulator started on first use.

Reserving a loopback port is a bound socket (microseconds); importing and starting the
simulator (``http.server``, ``email``, the scenario) is not, so it happens on the first
request, in the poll worker, after the monitor's first frame.
"""

from __future__ import annotations

import socket
import threading
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from amimon.sim import SimServer

DEMO_CREDENTIALS = ("AKIDAMIMONDEMO", "amimon-demo-secret-not-a-real-key")
DEMO_REGION = "us-east-1"


class DemoEndpoint:
    """A simulator on 127.0.0.1 whose URL is known before it runs."""

    def __init__(self) -> None:
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._socket.bind(("127.0.0.1", 0))
        # Connections that arrive before the simulator runs wait in the backlog.
        self._socket.listen(64)
        self.url = f"http://127.0.0.1:{self._socket.getsockname()[1]}"
        self.server: SimServer | None = None
        self._lock = threading.Lock()
        self._stopped = False

    def start(self) -> None:
        """Start the simulator on the reserved socket (once; any thread)."""
        with self._lock:
            if self.server is not None or self._stopped:
                return
            from amimon.sim import SimServer

            self.server = SimServer(sock=self._socket).start()

    def stop(self) -> None:
        with self._lock:
            self._stopped = True
            if self.server is not None:
                self.server.stop()
            else:
                self._socket.close()

"""The demo's simulator as a child process: ``python -m amimon.sim.child FD``.

The monitor reserves the port (a socket bound and listening on 127.0.0.1) and passes it
here as file descriptor FD, so its URL is known before this process has imported
anything, and requests that come early wait in the socket's backlog. The simulator's
imports and start then run on another core, beside the monitor's own start-up.

Stdin is a pipe from the monitor that it never writes to: when it reads end-of-file the
monitor has gone (however it ended, a SIGKILL included), and so does this process.
"""

from __future__ import annotations

import os
import signal
import socket
import sys
import threading
from collections.abc import Sequence


def _exit_with_parent() -> None:
    """Block until the monitor's end of the stdin pipe closes, then end this process."""
    try:
        while os.read(0, 4096):
            pass
    except OSError:
        pass
    os._exit(0)


def main(argv: Sequence[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    # Ctrl+C at a terminal reaches the whole process group: the monitor decides what it
    # means, and this process ends when the monitor does (through the pipe).
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    threading.Thread(target=_exit_with_parent, name="amimon-sim-parent", daemon=True).start()
    from amimon.sim.server import SimServer

    sock = socket.socket(fileno=int(args[0]))
    SimServer(sock=sock).serve_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""An HTTP server on loopback that speaks the EC2 Query protocol as botocore does.

It answers DescribeStoreImageTasks, CreateStoreImageTask and DescribeImages following
AWS's rules, can throttle like AWS (opt-in token buckets per region and family), can be
told to fail in the ways AWS fails, and counts requests so tests can check how polite a
client is.
"""

from __future__ import annotations

import re
import socket
import struct
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs

from amimon.demo import DEMO_CREDENTIALS
from amimon.sim import images_api, tasks_api
from amimon.sim.clock import Clock, ScaledClock
from amimon.sim.protocol import ApiError, error_xml
from amimon.sim.scenario import default_scenario
from amimon.sim.spec import DEFAULT_REGION, Scenario
from amimon.sim.throttle import Throttle

__all__ = ["DEMO_CREDENTIALS", "FAULTS", "Fault", "SimServer"]
from amimon.sim.world import Simulator

_REGION_IN_AUTH = re.compile(r"Credential=[^/]+/\d{8}/([a-z0-9-]+)/ec2/aws4_request")

ACTIONS: Mapping[str, Callable[[Simulator, Mapping[str, str], str], str]] = {
    "DescribeStoreImageTasks": tasks_api.describe,
    "CreateStoreImageTask": tasks_api.create,
    "DescribeImages": images_api.describe,
}
THROTTLED = ("RequestLimitExceeded", "Request limit exceeded.", 503)

FAULTS: Mapping[str, tuple[str, str, int] | None] = {
    "throttle": THROTTLED,
    "expired": ("RequestExpired", "Request has expired.", 400),
    "invalid-credentials": (
        "AuthFailure",
        "AWS was not able to validate the provided access credentials",
        401,
    ),
    "unauthorized": (
        "UnauthorizedOperation",
        "You are not authorized to perform this operation.",
        403,
    ),
    "server-error": ("InternalError", "An internal error has occurred", 500),
    "unavailable": ("Unavailable", "The service is unavailable. Please try again shortly.", 503),
    # These do not answer with an error document:
    "slow": None,  # wait ``delay`` seconds, then answer normally
    "malformed": None,  # HTTP 200 with a body that is not XML
    "reset": None,  # close the connection with a TCP reset
}


@dataclass
class Fault:
    kind: str
    remaining: int | None = None  # None: until cleared
    delay: float = 0.0
    action: str | None = None  # None: every action
    region: str | None = None  # None: every region


class _Handler(BaseHTTPRequestHandler):
    server: _HTTPServer
    protocol_version = "HTTP/1.1"
    # Headers and body leave in two writes; with Nagle's algorithm the body then waits for
    # the client's delayed ACK, about 40 ms a request on loopback.
    disable_nagle_algorithm = True

    def log_message(self, format: str, *args: Any) -> None:  # quiet: no stderr under a UI
        pass

    def do_GET(self) -> None:
        self._send(400, error_xml("InvalidAction", "Use POST with the EC2 Query protocol."))

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length).decode("utf-8", "replace")
        params = {k: v[-1] for k, v in parse_qs(body, keep_blank_values=True).items()}
        action = params.get("Action", "")
        sim = self.server.sim_server
        if sim.stopped:
            # Stopped: drop kept-alive connections too, as a server that went away would.
            self._reset()
            return
        match = _REGION_IN_AUTH.search(self.headers.get("Authorization", ""))
        region = match.group(1) if match else DEFAULT_REGION
        if not sim.admit(action, region):
            self._send(THROTTLED[2], error_xml(THROTTLED[0], THROTTLED[1]))
            return
        fault = sim.take_fault(action, region)
        if fault is not None:
            if fault.kind == "reset":
                self._reset()
                return
            if fault.kind == "slow":
                time.sleep(fault.delay)
            elif fault.kind == "malformed":
                self._send(200, f"<{action or 'Unknown'}Response><unclosed")
                return
            else:
                error = FAULTS[fault.kind]
                assert error is not None
                self._send(error[2], error_xml(error[0], error[1]))
                return
        try:
            handler = ACTIONS.get(action)
            if handler is None:
                raise ApiError("InvalidAction", f"The action {action or '(none)'} is not valid.")
            xml = handler(sim.simulator, params, region)
        except ApiError as exc:
            self._send(exc.status, error_xml(exc.code, exc.message))
            return
        self._send(200, xml)

    def _send(self, status: int, body: str) -> None:
        data = body.encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "text/xml;charset=UTF-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _reset(self) -> None:
        # SO_LINGER with a zero timeout makes close() send RST instead of FIN.
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.close_connection = True
        self.connection.close()


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    sim_server: SimServer

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that hung up (its read timeout, a reset) is not the simulator's error:
        # no traceback on stderr, which may be under a UI or between tests' captures.
        if isinstance(sys.exc_info()[1], ConnectionError):
            return
        super().handle_error(request, client_address)


class SimServer:
    """The simulator on 127.0.0.1. Use as a context manager, or ``start()`` / ``stop()``.

    ``throttle=True`` gives every (region, throttle family) AWS's token bucket, timed by
    ``monotonic``. ``requests`` counts the requests served per action (injected faults
    included); ``throttled`` counts those the token buckets refused.
    """

    def __init__(
        self,
        scenario: Scenario | None = None,
        clock: Clock | None = None,
        *,
        port: int = 0,
        created_duration: timedelta = timedelta(minutes=10),
        throttle: bool = False,
        monotonic: Callable[[], float] = time.monotonic,
        sock: socket.socket | None = None,
    ) -> None:
        """``sock``: a socket already bound and listening on loopback (the demo reserves
        its port before the simulator is imported); else one is bound to ``port``."""
        self.simulator = Simulator(
            scenario or default_scenario(), clock or ScaledClock(), created_duration
        )
        self.throttle = Throttle(monotonic) if throttle else None
        if sock is None:
            self._httpd = _HTTPServer(("127.0.0.1", port), _Handler)
        else:
            self._httpd = _HTTPServer(sock.getsockname(), _Handler, bind_and_activate=False)
            self._httpd.socket.close()
            self._httpd.socket = sock
            self._httpd.server_address = sock.getsockname()
        self._httpd.sim_server = self
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._faults: list[Fault] = []
        self.requests: Counter[str] = Counter()
        self.throttled: Counter[str] = Counter()
        self.stopped = False

    @property
    def port(self) -> int:
        return int(self._httpd.server_address[1])

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def clock(self) -> Clock:
        return self.simulator.clock

    def start(self) -> SimServer:
        self._thread = threading.Thread(
            target=self._httpd.serve_forever,
            kwargs={"poll_interval": 0.1},
            name="amimon-sim",
            daemon=True,
        )
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        """Serve in this thread until interrupted, then release the port."""
        try:
            self._httpd.serve_forever(poll_interval=0.2)
        finally:
            self._httpd.server_close()

    def stop(self) -> None:
        self.stopped = True
        self._httpd.shutdown()
        self._httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> SimServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # faults, throttling and counts

    def inject(
        self,
        kind: str,
        times: int | None = None,
        *,
        delay: float = 0.0,
        action: str | None = None,
        region: str | None = None,
    ) -> None:
        """Fail the next ``times`` requests (all, if None) the way ``kind`` says, optionally
        only for one action or one region."""
        if kind not in FAULTS:
            raise ValueError(f"unknown fault {kind!r}: one of {', '.join(FAULTS)}")
        with self._lock:
            self._faults.append(Fault(kind, times, delay, action, region))

    def clear_faults(self) -> None:
        with self._lock:
            self._faults.clear()

    def take_fault(self, action: str, region: str = DEFAULT_REGION) -> Fault | None:
        with self._lock:
            for fault in self._faults:
                if fault.action not in (None, action) or fault.region not in (None, region):
                    continue
                if fault.remaining is not None:
                    fault.remaining -= 1
                    if fault.remaining <= 0:
                        self._faults.remove(fault)
                return fault
        return None

    def admit(self, action: str, region: str = DEFAULT_REGION) -> bool:
        """Take a token for the request and count it; False if the token bucket is empty."""
        allowed = self.throttle is None or self.throttle.allow(action, region)
        with self._lock:
            (self.requests if allowed else self.throttled)[action] += 1
        return allowed

    def count(self, action: str) -> None:
        with self._lock:
            self.requests[action] += 1

    def reset_counts(self) -> None:
        with self._lock:
            self.requests.clear()
            self.throttled.clear()

"""An HTTP server on loopback that speaks the EC2 Query protocol as botocore does.

It answers DescribeStoreImageTasks and CreateStoreImageTask following AWS's rules
(31-day window, newest first, 1-200 page size, 20 image ids, filters ignored with image
ids, opaque page tokens, DryRun), can be told to fail in the ways AWS fails, and counts
requests so tests can check how polite a client is.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import secrets
import socket
import struct
import threading
import time
import uuid
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs
from xml.sax.saxutils import escape

from amimon.model import AMI_ID_RE, KNOWN_STATES, TaskState, iso_ms
from amimon.sim.clock import Clock, ScaledClock
from amimon.sim.scenario import (
    DEFAULT_REGION,
    WINDOW,
    Scenario,
    TaskSpec,
    default_scenario,
    status_at,
)

NAMESPACE = "http://ec2.amazonaws.com/doc/2016-11-15/"
DEMO_CREDENTIALS = ("AKIDAMIMONDEMO", "amimon-demo-secret-not-a-real-key")
MAX_RESULTS = 200
DEFAULT_PAGE = 200
MAX_IMAGE_IDS = 20
FILTER_NAMES = ("task-state", "bucket")

# XML 1.0 cannot carry most control characters at all, not even as references.
_XML_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_REGION_IN_AUTH = re.compile(r"Credential=[^/]+/\d{8}/([a-z0-9-]+)/ec2/aws4_request")


class ApiError(Exception):
    """An EC2 error document to send back."""

    def __init__(self, code: str, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status


FAULTS: Mapping[str, tuple[str, str, int] | None] = {
    "throttle": ("RequestLimitExceeded", "Request limit exceeded.", 503),
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


class Simulator:
    """The simulated EC2 state: a scenario moved forward by a clock. No I/O."""

    def __init__(self, scenario: Scenario, clock: Clock, created_duration: timedelta) -> None:
        self.clock = clock
        self.origin = clock.now()
        self._specs = list(scenario.tasks)
        self._created_duration = created_duration
        self._lock = threading.Lock()
        self.secret = secrets.token_bytes(16)

    def tasks(self, region: str, now: datetime) -> list[dict[str, Any]]:
        """Tasks of ``region`` in the 31-day window at ``now``, newest first."""
        with self._lock:
            specs = list(self._specs)
        return self._list(specs, region, now)

    def _list(self, specs: list[TaskSpec], region: str, now: datetime) -> list[dict[str, Any]]:
        out = []
        for spec in specs:
            if spec.region != region:
                continue
            status = status_at(spec, self.origin, now)
            if status is None or status.start_time < now - WINDOW:
                continue
            out.append(
                {
                    "amiId": spec.ami_id,
                    "taskStartTime": status.start_time,
                    "bucket": spec.bucket,
                    "s3objectKey": spec.key,
                    "progressPercentage": status.progress,
                    "storeTaskState": status.state,
                    "storeTaskFailureReason": status.reason,
                }
            )
        out.sort(key=lambda t: (t["taskStartTime"], t["amiId"]), reverse=True)
        return out

    def create(self, region: str, ami_id: str, bucket: str) -> str:
        now = self.clock.now()
        with self._lock:
            for task in self._list(self._specs, region, now):
                if task["amiId"] == ami_id and task["storeTaskState"] == TaskState.IN_PROGRESS:
                    raise ApiError(
                        "InvalidParameter",
                        f"A store task for {ami_id} is already in progress.",
                    )
                if (
                    task["amiId"] == ami_id
                    and task["bucket"] == bucket
                    and task["storeTaskState"] == TaskState.COMPLETED
                ):
                    raise ApiError(
                        "InvalidParameter",
                        f"{ami_id} is already stored in bucket {bucket}.",
                    )
            spec = TaskSpec(
                ami_id=ami_id,
                bucket=bucket,
                start=now - self.origin,
                duration=self._created_duration,
                region=region,
            )
            self._specs.append(spec)
        return spec.key


def _x(value: object) -> str:
    return escape(_XML_ILLEGAL.sub("", str(value)))


class _Handler(BaseHTTPRequestHandler):
    server: _HTTPServer
    protocol_version = "HTTP/1.1"
    # Headers and body leave in two writes; with Nagle's algorithm the body then waits for
    # the client's delayed ACK, about 40 ms a request on loopback.
    disable_nagle_algorithm = True

    def log_message(self, format: str, *args: Any) -> None:  # quiet: no stderr under a UI
        pass

    def do_GET(self) -> None:
        self._send(400, _error_xml("InvalidAction", "Use POST with the EC2 Query protocol."))

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
        sim.count(action)
        match = _REGION_IN_AUTH.search(self.headers.get("Authorization", ""))
        region = match.group(1) if match else DEFAULT_REGION
        fault = sim.take_fault(action, region)
        if fault is not None:
            if fault.kind == "reset":
                self._reset()
                return
            if fault.kind == "slow":
                time.sleep(fault.delay)
            elif fault.kind == "malformed":
                self._send(200, "<DescribeStoreImageTasksResponse><unclosed")
                return
            else:
                error = FAULTS[fault.kind]
                assert error is not None
                self._send(error[2], _error_xml(error[0], error[1]))
                return
        try:
            if action == "DescribeStoreImageTasks":
                xml = sim.describe(params, region)
            elif action == "CreateStoreImageTask":
                xml = sim.create(params, region)
            else:
                raise ApiError("InvalidAction", f"The action {action or '(none)'} is not valid.")
        except ApiError as exc:
            self._send(exc.status, _error_xml(exc.code, exc.message))
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


def _error_xml(code: str, message: str) -> str:
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f"<Response><Errors><Error><Code>{_x(code)}</Code><Message>{_x(message)}</Message>"
        f"</Error></Errors><RequestID>{uuid.uuid4()}</RequestID></Response>"
    )


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    sim_server: SimServer


class SimServer:
    """The simulator on 127.0.0.1. Use as a context manager, or ``start()`` / ``stop()``."""

    def __init__(
        self,
        scenario: Scenario | None = None,
        clock: Clock | None = None,
        *,
        port: int = 0,
        created_duration: timedelta = timedelta(minutes=10),
    ) -> None:
        self.simulator = Simulator(
            scenario or default_scenario(), clock or ScaledClock(), created_duration
        )
        self._httpd = _HTTPServer(("127.0.0.1", port), _Handler)
        self._httpd.sim_server = self
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._faults: list[Fault] = []
        self.requests: Counter[str] = Counter()
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

    # faults and counts

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

    def count(self, action: str) -> None:
        with self._lock:
            self.requests[action] += 1

    def reset_counts(self) -> None:
        with self._lock:
            self.requests.clear()

    # actions

    def _token(self, last: Mapping[str, Any], query: str) -> str:
        payload = json.dumps([iso_ms(last["taskStartTime"]), last["amiId"], query]).encode()
        mac = hmac.new(self.simulator.secret, payload, hashlib.sha256).digest()[:12]
        return base64.urlsafe_b64encode(mac + payload).decode()

    def _read_token(self, token: str, query: str) -> tuple[str, str]:
        try:
            raw = base64.urlsafe_b64decode(token.encode())
            mac, payload = raw[:12], raw[12:]
            good = hmac.new(self.simulator.secret, payload, hashlib.sha256).digest()[:12]
            if not hmac.compare_digest(mac, good):
                raise ValueError("bad signature")
            when, ami, token_query = json.loads(payload)
            if token_query != query:
                raise ValueError("token from another query")
            return str(when), str(ami)
        except (ValueError, TypeError, json.JSONDecodeError):
            raise ApiError(
                "InvalidParameterValue", "The specified NextToken is not valid."
            ) from None

    def describe(self, params: Mapping[str, str], region: str) -> str:
        image_ids = _indexed(params, "ImageId")
        for ami in image_ids:
            if not AMI_ID_RE.match(ami):
                raise ApiError(
                    "InvalidAMIID.Malformed", f'Invalid id: "{ami}" (expecting "ami-...")'
                )
        if len(image_ids) > MAX_IMAGE_IDS:
            raise ApiError(
                "InvalidParameterValue",
                f"A maximum of {MAX_IMAGE_IDS} image IDs can be specified per request.",
            )
        max_results_raw = params.get("MaxResults")
        if image_ids and max_results_raw is not None:
            raise ApiError(
                "InvalidParameterCombination",
                "The parameter ImageIds cannot be used with the parameter MaxResults",
            )
        page_size = DEFAULT_PAGE
        if max_results_raw is not None:
            try:
                page_size = int(max_results_raw)
            except ValueError:
                page_size = -1
            if not 1 <= page_size <= MAX_RESULTS:
                raise ApiError(
                    "InvalidParameterValue",
                    f"Value ({max_results_raw}) for parameter maxResults is invalid. "
                    f"Expecting a value between 1 and {MAX_RESULTS}.",
                )
        filters = _filters(params)
        if params.get("DryRun", "").lower() == "true":
            raise ApiError(
                "DryRunOperation",
                "Request would have succeeded, but DryRun flag is set.",
                412,
            )
        now = self.simulator.clock.now()
        tasks = self.simulator.tasks(region, now)
        if image_ids:
            wanted = set(image_ids)
            tasks = [t for t in tasks if t["amiId"] in wanted]
            page, next_token = tasks, None
        else:
            states = filters.get("task-state")
            buckets = filters.get("bucket")
            tasks = [
                t
                for t in tasks
                if (states is None or t["storeTaskState"] in states)
                and (buckets is None or t["bucket"] in buckets)
            ]
            query = json.dumps(sorted((k, sorted(v)) for k, v in filters.items()))
            token = params.get("NextToken")
            if token:
                when, ami = self._read_token(token, query)
                # Keyset paging: only tasks older than the last one sent, so a task that
                # starts meanwhile shifts nothing and repeats nothing.
                tasks = [t for t in tasks if (iso_ms(t["taskStartTime"]), t["amiId"]) < (when, ami)]
            page = tasks[:page_size]
            next_token = self._token(page[-1], query) if len(tasks) > page_size else None
        return _describe_xml(page, next_token)

    def create(self, params: Mapping[str, str], region: str) -> str:
        ami = params.get("ImageId", "")
        bucket = params.get("Bucket", "")
        if not ami or not bucket:
            raise ApiError("MissingParameter", "ImageId and Bucket are required.")
        if not AMI_ID_RE.match(ami):
            raise ApiError("InvalidAMIID.Malformed", f'Invalid id: "{ami}" (expecting "ami-...")')
        if params.get("DryRun", "").lower() == "true":
            raise ApiError(
                "DryRunOperation",
                "Request would have succeeded, but DryRun flag is set.",
                412,
            )
        key = self.simulator.create(region, ami, bucket)
        return (
            '<?xml version="1.0" encoding="UTF-8"?>\n'
            f'<CreateStoreImageTaskResponse xmlns="{NAMESPACE}">'
            f"<requestId>{uuid.uuid4()}</requestId><objectKey>{_x(key)}</objectKey>"
            "</CreateStoreImageTaskResponse>"
        )


def _indexed(params: Mapping[str, str], prefix: str) -> list[str]:
    pattern = re.compile(rf"^{re.escape(prefix)}\.(\d+)$")
    found = sorted((int(m.group(1)), v) for k, v in params.items() if (m := pattern.match(k)))
    return [v for _, v in found]


def _filters(params: Mapping[str, str]) -> dict[str, set[str]]:
    filters: dict[str, set[str]] = {}
    names = {k: v for k, v in params.items() if re.match(r"^Filter\.\d+\.Name$", k)}
    for key, name in names.items():
        index = key.split(".")[1]
        if name not in FILTER_NAMES:
            raise ApiError("InvalidParameterValue", f"The filter '{name}' is invalid")
        values = _indexed(params, f"Filter.{index}.Value")
        if name == "task-state":
            for value in values:
                if value not in KNOWN_STATES:
                    raise ApiError(
                        "InvalidParameterValue",
                        f"The filter value '{value}' is invalid for filter 'task-state'",
                    )
        # Within a filter values are OR'ed; a name given twice is AND'ed.
        filters[name] = filters[name] & set(values) if name in filters else set(values)
    return filters


def _describe_xml(tasks: list[dict[str, Any]], next_token: str | None) -> str:
    parts = [
        '<?xml version="1.0" encoding="UTF-8"?>\n',
        f'<DescribeStoreImageTasksResponse xmlns="{NAMESPACE}">',
        f"<requestId>{uuid.uuid4()}</requestId><storeImageTaskResultSet>",
    ]
    for t in tasks:
        parts.append(
            f"<item><amiId>{_x(t['amiId'])}</amiId>"
            f"<taskStartTime>{iso_ms(t['taskStartTime'])}</taskStartTime>"
            f"<bucket>{_x(t['bucket'])}</bucket><s3objectKey>{_x(t['s3objectKey'])}</s3objectKey>"
            f"<progressPercentage>{t['progressPercentage']}</progressPercentage>"
            f"<storeTaskState>{_x(t['storeTaskState'])}</storeTaskState>"
        )
        if t["storeTaskFailureReason"]:
            parts.append(
                f"<storeTaskFailureReason>{_x(t['storeTaskFailureReason'])}</storeTaskFailureReason>"
            )
        parts.append("</item>")
    parts.append("</storeImageTaskResultSet>")
    if next_token:
        parts.append(f"<nextToken>{_x(next_token)}</nextToken>")
    parts.append("</DescribeStoreImageTasksResponse>")
    return "".join(parts)

"""``on_event``: a command of the user's run for each completed, failed or stalled task.

The command is an argument list run without a shell; what happened arrives only in
environment variables, so no text from the API is ever part of a command line. Commands
run off the UI thread, a few at a time, each with a timeout; a failure is logged and
reported once, and never stops the monitor.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor

from amimon.model import ImageInfo, TrackedTask
from amimon.records import record
from amimon.reducer import Event, TaskCompleted, TaskFailed, TaskStalled

log = logging.getLogger(__name__)

MAX_RUNNING = 4
DEFAULT_TIMEOUT = 30.0
_KEEP_OUTPUT = 2000  # characters of a failing command's output kept for the log


@record
class Alert:
    """One thing worth telling someone about."""

    kind: str  # "completed", "failed" or "stalled"
    task: TrackedTask
    image: ImageInfo | None = None


def alerts_from(
    events: Iterable[Event], image: Callable[[TrackedTask], ImageInfo | None]
) -> list[Alert]:
    """The events that call for an alert: completions, failures and stalls."""
    out = []
    for event in events:
        if isinstance(event, TaskCompleted):
            kind = "completed"
        elif isinstance(event, TaskFailed):
            kind = "failed"
        elif isinstance(event, TaskStalled):
            kind = "stalled"
        else:
            continue
        out.append(Alert(kind, event.task, image(event.task)))
    return out


def _env_value(value: str | None) -> str:
    # The environment cannot carry NUL; everything else goes as it came.
    return (value or "").replace("\x00", "\u2400")


def alert_env(alert: Alert) -> dict[str, str]:
    """What the command learns, as ``AMIMON_*`` variables."""
    task = alert.task.task
    image = alert.image
    return {
        "AMIMON_EVENT": alert.kind,
        "AMIMON_AMI_ID": _env_value(task.ami_id),
        "AMIMON_AMI_NAME": _env_value(image.name if image else None),
        "AMIMON_STATE": _env_value(task.state),
        "AMIMON_BUCKET": _env_value(task.bucket),
        "AMIMON_S3_URI": _env_value(task.s3_uri),
        "AMIMON_REASON": _env_value(task.failure_reason),
        "AMIMON_REGION": _env_value(task.target.region),
        "AMIMON_PROFILE": _env_value(task.target.profile),
        "AMIMON_PROGRESS": "" if task.progress is None else str(task.progress),
        "AMIMON_TASK_START": task.start_time.isoformat() if task.start_time else "",
    }


class AlertRunner:
    """Runs the ``on_event`` command for each alert, at most ``MAX_RUNNING`` at once.

    ``report`` hears a one-line problem the first time each kind of problem happens
    (the command is missing, exits non-zero, times out); every failure is logged.
    """

    def __init__(
        self,
        argv: Sequence[str],
        *,
        timeout: float = DEFAULT_TIMEOUT,
        report: Callable[[str], None] = lambda message: None,
        environ: Mapping[str, str] | None = None,
    ) -> None:
        if not argv:
            raise ValueError("on_event needs a command")
        self.argv = tuple(argv)
        self.timeout = timeout
        self._report = report
        self._environ = dict(os.environ if environ is None else environ)
        self._pool = ThreadPoolExecutor(max_workers=MAX_RUNNING, thread_name_prefix="amimon-alert")
        self._reported: set[str] = set()
        self._lock = threading.Lock()
        self.runs = 0
        self.failures = 0

    def submit(self, alerts: Iterable[Alert]) -> None:
        for alert in alerts:
            self._pool.submit(self._run, alert)

    def _problem(self, kind: str, message: str) -> None:
        with self._lock:
            self.failures += 1
            first = kind not in self._reported
            self._reported.add(kind)
        log.warning("on_event: %s", message)
        if first:
            self._report(message)

    def _run(self, alert: Alert) -> None:
        name = self.argv[0]
        env = {**self._environ, **alert_env(alert)}
        with self._lock:
            self.runs += 1
        try:
            proc = subprocess.Popen(
                self.argv,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # off the terminal: Ctrl+C is for amimon
            )
        except OSError as exc:
            self._problem(
                "start", f"on_event command {name!r} could not run: {exc.strerror or exc}"
            )
            return
        try:
            output, _ = proc.communicate(timeout=self.timeout)
        except subprocess.TimeoutExpired:
            _kill(proc)
            self._problem(
                "timeout", f"on_event command {name!r} timed out after {self.timeout:g} s"
            )
            return
        if proc.returncode != 0:
            tail = output.decode("utf-8", "replace")[-_KEEP_OUTPUT:].strip()
            log.warning("on_event %s output: %s", name, tail)
            self._problem("exit", f"on_event command {name!r} exited with {proc.returncode}")

    def close(self, wait: bool = False) -> None:
        """Stop taking alerts; with ``wait``, let running commands finish (each within
        its timeout) before returning."""
        self._pool.shutdown(wait=wait, cancel_futures=not wait)


def _kill(proc: subprocess.Popen[bytes]) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        proc.kill()
    proc.communicate()

"""Layering and CI plumbing: the pure core stays pure, CI runs what the README says."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PURE = [
    "amimon.model",
    "amimon.reducer",
    "amimon.estimate",
    "amimon.state",
    "amimon.events",
    "amimon.ended",
    "amimon.view",
    "amimon.render",
    "amimon.derive",
    "amimon.durations",
    "amimon.config",
]


@pytest.mark.parametrize("module", PURE)
def test_pure_modules_import_neither_textual_nor_boto3(module: str) -> None:
    code = (
        f"import sys, {module}; "
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in {'textual', 'boto3', 'botocore'}); "
        "print(','.join(bad))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_importing_the_aws_adapter_does_not_load_boto3() -> None:
    # boto3 costs hundreds of milliseconds to import: it is loaded in a worker, on first use.
    code = "import sys, amimon.aws; print('boto3' in sys.modules, 'botocore' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False False"


def test_the_demo_starts_without_the_simulator_or_botocore_loaded() -> None:
    """Issue 12: the simulator (http.server, email, ...) loads in a child process that
    the poll worker spawns, and botocore in that worker, both after the monitor's first
    frame; before it the demo only reserves the simulator's port."""
    code = (
        "import sys; from amimon.cli import build_parser, context_from; "
        "context = context_from(build_parser().parse_args(['--demo']), {}); "
        "heavy = ('amimon.sim', 'http.server', 'email', 'botocore', 'boto3'); "
        "print(sorted(m for m in sys.modules if m.startswith(heavy))); context.close()"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_the_monitor_starts_without_the_aws_code_loaded() -> None:
    """Issue 12: what the first frame does not draw is not imported before it: the AWS
    source (``amimon.aws``) is made in the poll worker, tomllib only for a config file,
    the reducer and its ten event classes with the first poll, the event log (and Rich's
    pretty-printer) when it is first written to or mounted."""
    code = (
        "import sys; from amimon.tui.app import AmimonApp; "
        "heavy = ('amimon.aws', 'amimon.sim', 'botocore', 'http.server', 'tomllib', "
        "'amimon.reducer', 'amimon.events', 'amimon.tui.widgets.event_log', 'rich.pretty'); "
        "AmimonApp.run = lambda self: print(sorted(m for m in sys.modules if m.startswith(heavy))); "
        "from amimon.cli import build_parser, context_from; from amimon.tui.launch import launch; "
        "args = build_parser().parse_args(['--demo']); context = context_from(args, {}); "
        "launch(args, context); context.close()"
    )
    # No config file: the fixtures point the platform config dir at an empty home.
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_the_detail_panel_draws_without_the_history_package() -> None:
    """Issue 12: the first data's detail panel needs when tasks ended (``amimon.ended``),
    not the SQLite history package, which loaded on the UI thread on the way to the
    first data (15 ms); it loads in the poll worker after the rows are drawn."""
    code = (
        "import sys; from amimon.reducer import MonitorState, reduce; "
        "from amimon.render import DEFAULT_PALETTE; "
        "from amimon.tui.widgets.detail import detail_text; "
        "from tests.factories import T0, snap, task; "
        "state, _ = reduce(MonitorState(), snap(task('ami-00000001', 40, 'InProgress')), T0); "
        "text = detail_text(next(iter(state.tasks.values())), T0, DEFAULT_PALETTE, state, 40); "
        "print('ami-00000001' in text.plain, "
        "sorted(m for m in sys.modules if m.startswith(('amimon.history', 'sqlite3'))))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT
    )
    assert out.stdout.strip() == "True []"


def test_the_simulator_does_not_import_the_client() -> None:
    """So a bug in amimon's AWS code cannot agree with itself in the simulator."""
    code = (
        "import sys, amimon.sim, amimon.sim.command; "
        "print(sorted(m for m in sys.modules if m.startswith(('amimon.aws', 'amimon.tui'))))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_ci_runs_the_readme_test_command() -> None:
    printed = subprocess.run(
        ["bash", str(ROOT / ".ci" / "run"), "--print-test-command"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    readme = (ROOT / "README.md").read_text()
    quickstart = readme.split("## Quickstart", 1)[1].split("\n## ", 1)[0]
    assert printed, "README.md has no test command between the markers"
    assert "\n" not in printed, "the test command is one line a person can paste"
    assert printed in quickstart
    assert "pytest" in printed and "[test]" in printed
    script = (ROOT / ".ci" / "run").read_text()
    assert 'bash -euo pipefail -c "$cmd"' in script

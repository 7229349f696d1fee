"""The command line from the outside: the installed script, help, version, bad flags."""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from amimon import __version__
from amimon.cli import main


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "amimon", *args], capture_output=True, text=True, timeout=60
    )


def test_version_from_the_installed_script() -> None:
    script = shutil.which("amimon") or str(Path(sys.executable).parent / "amimon")
    out = subprocess.run([script, "--version"], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == f"amimon {__version__}"


def test_help_lists_options_and_exit_codes() -> None:
    out = run("--help")
    assert out.returncode == 0
    for words in ("--profile", "--region", "--interval", "exit codes", "4    AWS access"):
        assert words in out.stdout


def test_each_command_parses_and_helps_as_with_every_command_configured() -> None:
    """``build_parser(argv)`` gives options only to the commands named in ``argv`` (the
    monitor starts without the other commands' options): the top-level help and each
    named command's help and parse are what the whole parser gives."""
    from amimon.cli import COMMANDS, build_parser

    whole = build_parser()
    assert build_parser(["--demo"]).format_help() == whole.format_help()
    for name in COMMANDS:
        argv = [name, "--help"]
        assert _command_help(build_parser(argv), name) == _command_help(whole, name)
    argv = ["--demo", "wait", "ami-0123456789abcdef0", "--timeout", "5m", "--grace", "1m"]
    assert build_parser(argv).parse_args(argv) == whole.parse_args(argv)


def _command_help(parser: argparse.ArgumentParser, name: str) -> str:
    subparsers = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return subparsers.choices[name].format_help()


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--interval", "2"], "(1 hour), got 2\n"),  # as typed: not 2.0
        (["--interval", "soon"], "not a duration"),
        (["--interval", "inf"], "got inf"),
        (["--state", "Done"], "unknown state 'Done'"),
        (["--image-ids", "ami-123"], "malformed AMI id 'ami-123'"),
        (["--region", "mars"], "not a region name"),
        (["--endpoint-url", "localhost"], "not an http(s) URL"),
        (["--endpoint-url", "http://127.0.0.1:99999"], "Port out of range"),
        (["--endpoint-url", "http://[::1"], "Invalid IPv6 URL"),
        (["--endpoint-url", "http://127.0.0.1:abc"], "not a usable URL"),
        (["--endpoint-url", "http://:80"], "has no host name"),
        (["sim", "--port", "99999"], "must be from 0 (any free port) to 65535, got 99999"),
        (["sim", "--port", "-1"], "got -1"),
        (["sim", "--port", "http"], "'http' is not a port number"),
    ],
)
def test_bad_flags_say_what_is_wrong_and_exit_2(args: list[str], words: str) -> None:
    out = run(*args)
    assert out.returncode == 2
    assert words in out.stderr
    assert "Traceback" not in out.stderr


def test_an_endpoint_with_a_password_is_refused_without_repeating_it() -> None:
    out = run("check", "--endpoint-url", "http://ops:s3cret-pw@127.0.0.1:9")
    assert out.returncode == 2
    assert "must not hold a user name or password" in out.stderr
    assert "s3cret-pw" not in out.stderr + out.stdout


def test_bad_config_file_exits_2_naming_file_line_and_key(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text("interval = 1\n")
    out = run("--config", str(path))
    assert out.returncode == 2
    assert f"{path}:1: key 'interval'" in out.stderr and "got 1\n" in out.stderr
    assert "Traceback" not in out.stderr


def test_flags_override_the_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from amimon.cli import build_parser, context_from

    path = tmp_path / "c.toml"
    path.write_text('profile = "file"\nregions = ["us-east-1"]\ninterval = 30\n')
    aws_config = tmp_path / "aws-config"
    aws_config.write_text("[profile file]\nregion = ap-south-1\n")
    args = build_parser().parse_args(
        ["--config", str(path), "--region", "eu-west-1", "--interval", "9"]
    )
    context = context_from(args, {"AWS_CONFIG_FILE": str(aws_config)})
    assert context.config.interval == 9
    assert [t.region for t in context.targets] == ["eu-west-1"]
    assert context.targets[0].profile == "file"


def test_main_returns_2_for_config_errors(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "c.toml"
    path.write_text("nope = 1\n")
    assert main(["--config", str(path)]) == 2
    assert "unknown key" in capsys.readouterr().err


def test_logs_go_to_the_log_file_and_never_hold_credentials(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from amimon import logs

    secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYFAKEFAKEKEY"
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAFAKEFAKEFAKE1234")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", secret)
    # An unreachable endpoint on loopback: the failure is logged with its details.
    out = run(
        "list",
        "--endpoint-url",
        "http://127.0.0.1:9",
        "--region",
        "us-east-1",
        "--log-level",
        "debug",
    )
    assert out.returncode == 4
    log = (logs.log_dir() / logs.LOG_NAME).read_text()
    assert "DescribeStoreImageTasks failed" in log
    assert secret not in log and "AKIAFAKEFAKEFAKE1234" not in log
    assert "Traceback" not in out.stderr


def test_regions_repeat_or_come_as_a_comma_list(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--demo", "list", "--region", "us-east-1,eu-west-1", "-o", "csv"]) == 0
    regions = {line.split(",")[0] for line in capsys.readouterr().out.splitlines()[1:]}
    assert regions == {"us-east-1", "eu-west-1"}
    with pytest.raises(SystemExit) as caught:
        main(["--demo", "list", "--region", "us-east-1,bogus"])
    assert caught.value.code == 2
    assert "'bogus' is not a region name" in capsys.readouterr().err


@pytest.mark.parametrize("argv", [["list", "-o", "csv"], ["list"], ["check"]])
def test_a_reader_that_goes_away_ends_the_command_quietly(argv: list[str]) -> None:
    """``amimon list | head``: no traceback, and not exit 1 (which means a task failed).
    Rich's console exited 1 on its own for the table and ``check``."""
    reader = subprocess.Popen(["true"], stdin=subprocess.PIPE)
    assert reader.stdin is not None
    reader.wait()  # the reader is gone before amimon writes
    done = subprocess.run(
        [sys.executable, "-m", "amimon", "--demo", *argv],
        stdout=reader.stdin,
        stderr=subprocess.PIPE,
        timeout=60,
    )
    reader.stdin.close()
    assert done.returncode == 141, done.stderr
    assert b"Traceback" not in done.stderr


def test_the_demos_simulator_is_a_child_process_that_ends_with_the_context() -> None:
    """The demo's simulator is a child process, spawned on first use, that answers on
    the port reserved with the context, and is gone once the context closes."""
    import urllib.request

    from amimon.cli import build_parser, context_from

    context = context_from(build_parser().parse_args(["--demo"]), {})
    assert context.demo is not None and context.demo.process is None
    context.demo.start()
    context.demo.start()  # once
    process = context.demo.process
    assert process is not None
    try:
        request = urllib.request.Request(
            context.demo.url, data=b"Action=DescribeStoreImageTasks&Version=2016-11-15"
        )
        with urllib.request.urlopen(request, timeout=20) as response:
            assert b"<storeImageTaskResultSet>" in response.read()
    finally:
        context.close()
    assert process.poll() is not None
    context.close()  # closing twice is harmless

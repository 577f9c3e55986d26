"""The CLI's common options and where commands point (devtools/cli.py, devtools/target.py)."""

import argparse
import json
import os
from pathlib import Path

import pytest

from devtools.cli import parse
from devtools.target import DEFAULT_API_URL, DEFAULT_AWS_ENDPOINT, Target, read_state, write_state


@pytest.fixture(autouse=True)
def no_target_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in ("AWS_ENDPOINT_URL", "AWS_PROFILE", "TRIGGERS_API_URL", "TRIGGERS_API_KEY", "STAGE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr("devtools.target.STATE_FILE", tmp_path / "absent.json")


@pytest.mark.parametrize(
    "argv",
    [["--json", "dlq", "ls"], ["dlq", "--json", "ls"], ["dlq", "ls", "--json"]],
)
def test_common_options_work_before_or_after_the_subcommand(argv: list[str]) -> None:
    assert parse(argv).json is True


def test_an_option_before_the_subcommand_is_not_reset_by_the_subcommand() -> None:
    args = parse(["--stage", "dev", "--api-url", "http://api.example/", "dlq", "ls"])

    assert args.stage == "dev"
    assert args.target.api_url == "http://api.example"


def test_without_flags_environment_or_running_stack_commands_point_at_the_default_local_ports() -> None:
    target = parse(["dlq", "ls"]).target

    assert (target.endpoint, target.api_url, target.api_key, target.stage) == (
        DEFAULT_AWS_ENDPOINT,
        DEFAULT_API_URL,
        None,
        "local",
    )


def test_a_running_up_supplies_endpoints_and_key_but_flags_and_environment_win(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    state = {
        "pid": os.getpid(),
        "aws_url": "http://127.0.0.1:1",
        "api_url": "http://127.0.0.1:2",
        "api_key": "k1",
    }
    monkeypatch.setenv("TRIGGERS_API_KEY", "from-env")

    target = Target.resolve(api_url="http://flag:3", state=state)

    assert (target.endpoint, target.api_url, target.api_key) == (
        "http://127.0.0.1:1",
        "http://flag:3",
        "from-env",
    )


def test_endpoint_aws_or_a_profile_alone_means_real_aws(monkeypatch: pytest.MonkeyPatch) -> None:
    assert Target.resolve(endpoint="aws", state={}).endpoint is None
    assert Target.resolve(profile="prod", state={}).endpoint is None
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://localhost.localstack.cloud:4566")
    assert Target.resolve(profile="prod", state={}).endpoint == "http://localhost.localstack.cloud:4566"


def test_state_of_a_stack_that_is_no_longer_running_is_ignored(tmp_path: Path) -> None:
    path = tmp_path / "stack.json"
    path.write_text(json.dumps({"pid": 2**22 + 12345, "api_key": "stale"}))

    assert read_state(path) == {}


def test_the_state_file_holding_the_key_is_private_to_the_user(tmp_path: Path) -> None:
    path = tmp_path / "stack.json"

    write_state({"pid": os.getpid(), "api_key": "secret"}, path)

    assert path.stat().st_mode & 0o777 == 0o600
    assert read_state(path)["api_key"] == "secret"


def test_every_command_builds_and_has_help(capsys: pytest.CaptureFixture[str]) -> None:
    from devtools.cli import build_parser

    parser = build_parser()
    [subparsers] = [action for action in parser._actions if isinstance(action, argparse._SubParsersAction)]
    for name in subparsers.choices:
        with pytest.raises(SystemExit) as exited:
            parser.parse_args([name, "--help"])
        assert exited.value.code == 0, name
        assert "--json" in capsys.readouterr().out, name

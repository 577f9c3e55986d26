from pathlib import Path

import pytest

from devtools.cli import main
from devtools.stack import EmbeddedStack, Ports, StackError, free_port


def test_up_refuses_a_port_in_use_with_a_clear_message(
    stack: EmbeddedStack, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given the running stack holds its AWS port
    argv = ["up", "--aws-port", str(stack.ports.aws), "--api-port", str(free_port())]

    # When a second `triggers up` asks for the same port
    status = main([*argv, "--opensearch-port", str(free_port())])

    # Then it stops before starting anything and says why
    assert status == 1
    error = capsys.readouterr().err
    assert f"127.0.0.1:{stack.ports.aws} (AWS endpoint) is in use" in error
    assert "another `triggers up`" in error


def test_stack_start_checks_every_port_before_spawning(stack: EmbeddedStack, tmp_path: Path) -> None:
    second = EmbeddedStack(
        ports=Ports(aws=free_port(), api=stack.ports.api, opensearch=free_port()), state_dir=tmp_path
    )

    with pytest.raises(StackError, match=r"\(API\) is in use"):
        second.start()
    assert not list(tmp_path.glob("*.log"))

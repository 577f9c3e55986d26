"""`make package` (and the LocalStack path) need no Debian-only step: only uv and the locked Python
dependencies, through scripts that use no GNU-only tools or flags (macOS has BSD ones)."""

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from devtools.template import REPO_ROOT

MAKEFILE = REPO_ROOT / "Makefile"
SETUP = REPO_ROOT / "devtools" / "setup.sh"
# Scripts a macOS user runs on the LocalStack path: setup (`make package`) and the smoke test.
HOST_SCRIPTS = [SETUP, REPO_ROOT / "devtools" / "scripts" / "smoke.sh"]
# GNU-only spellings (BSD/macOS lacks or differs): readlink -f (before macOS 12.3), sed -i without a
# suffix, grep -P, date -d, stat -c, xargs -r, base64 -w, timeout, sha256sum (macOS has shasum).
GNU_ONLY = re.compile(
    r"readlink -f|sed -i|grep -\w*P|date -d|stat -c|xargs -r|base64 -w|(^|[\s|;(])timeout |sha256sum"
)
RECORDING_STUB = """#!/bin/sh
echo "$(basename "$0") $*" >>"$CALLS"
"""


def prerequisites(target: str) -> list[str]:
    match = re.search(rf"^{re.escape(target)}:([^#\n]*)", MAKEFILE.read_text(), re.MULTILINE)
    assert match, target
    return match.group(1).split()


@pytest.mark.parametrize("target", ["package", "package-localstack", "init-scripts"])
def test_packaging_targets_need_only_the_python_setup(target: str) -> None:
    assert prerequisites(target) == ["setup-python"]


def test_python_setup_runs_the_setup_script_without_its_debian_part() -> None:
    recipe = MAKEFILE.read_text().split("\nsetup-python:", 1)[1].split("\n\n", 1)[0]

    assert "devtools/setup.sh --python" in recipe


def test_python_setup_installs_no_system_package(tmp_path: Path) -> None:
    # Given a checkout whose setup script finds uv, and apt-get, sudo and uv that record their calls
    checkout = tmp_path / "checkout"
    (checkout / "devtools").mkdir(parents=True)
    shutil.copy(SETUP, checkout / "devtools" / "setup.sh")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for name in ("uv", "apt-get", "sudo"):
        (bin_dir / name).write_text(RECORDING_STUB)
        (bin_dir / name).chmod(0o755)
    calls = tmp_path / "calls"

    # When `make package`'s setup step runs
    result = subprocess.run(
        ["bash", str(checkout / "devtools" / "setup.sh"), "--python"],
        env={"PATH": f"{bin_dir}:/usr/bin:/bin", "HOME": str(tmp_path), "CALLS": str(calls)},
        capture_output=True,
        text=True,
        check=False,
    )

    # Then only uv ran (the locked sync), and no AWS CLI was linked into the venv
    assert result.returncode == 0, result.stderr
    assert calls.read_text().splitlines() == ["uv sync --frozen --quiet"]
    assert not (checkout / ".venv" / "bin" / "aws").exists()


@pytest.mark.parametrize("script", HOST_SCRIPTS, ids=lambda path: path.name)
def test_host_scripts_use_no_gnu_only_tools(script: Path) -> None:
    offending = [
        line.strip()
        for line in script.read_text().splitlines()
        if GNU_ONLY.search(line) and not line.lstrip().startswith("#") and "command -v" not in line
    ]

    assert offending == []

"""`triggers package`: what goes into the Lambda zip (the full build is exercised by `make package`)."""

import os
import zipfile
from pathlib import Path

import pytest

from devtools.package import LambdaTarget, PackageError, copy_project, runtime_requirements, write_zip
from devtools.template import Template


def requirement_names(requirements: str) -> set[str]:
    return {
        line.split("==", 1)[0].lower()
        for line in requirements.splitlines()
        if line and not line.startswith(("#", " "))
    }


def test_runtime_requirements_are_the_locked_runtime_dependencies_only() -> None:
    names = requirement_names(runtime_requirements())

    assert {"aws-lambda-powertools", "pydantic", "opensearch-py", "standardwebhooks"} <= names
    assert names.isdisjoint({"moto", "pytest", "osmem-server", "ruff", "triggers"})


def test_target_follows_the_template_runtime_and_architecture() -> None:
    target = LambdaTarget.from_template(Template("local"))

    assert target == LambdaTarget("3.12", "arm64")
    assert target.platform == "aarch64-manylinux2014"


def test_unknown_architecture_is_refused() -> None:
    with pytest.raises(PackageError, match="mips"):
        _ = LambdaTarget("3.12", "mips").platform


def test_project_is_copied_without_bytecode(tmp_path: Path) -> None:
    copy_project(tmp_path)

    assert (tmp_path / "ingest" / "handler.py").is_file()
    assert (tmp_path / "processors" / "__init__.py").is_file()
    assert not list(tmp_path.rglob("*.pyc"))


def test_zip_is_byte_identical_for_unchanged_code(tmp_path: Path) -> None:
    # Given a code directory with bytecode next to the sources
    code = tmp_path / "code"
    (code / "pkg" / "__pycache__").mkdir(parents=True)
    (code / "pkg" / "module.py").write_text("VALUE = 1\n")
    (code / "pkg" / "__pycache__" / "module.cpython-312.pyc").write_bytes(b"\0")

    # When it is zipped twice, the sources touched in between
    write_zip(code, tmp_path / "first.zip")
    os.utime(code / "pkg" / "module.py", (0, 0))
    write_zip(code, tmp_path / "second.zip")

    # Then both zips are the same bytes and hold no bytecode
    assert (tmp_path / "first.zip").read_bytes() == (tmp_path / "second.zip").read_bytes()
    assert zipfile.ZipFile(tmp_path / "first.zip").namelist() == ["pkg/module.py"]

"""`triggers package`: what goes into each function's zip, and that each zip imports on its own."""

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from devtools.package import (
    ARCHITECTURE_FILE,
    LambdaTarget,
    PackageError,
    build,
    functions,
    host_architecture,
    project_files,
    runtime_requirements,
    targets_for,
    write_zip,
)
from devtools.template import REPO_ROOT, Template

HANDLER_MODULES = {
    "ingest": "ingest.handler",
    "fanout": "processors.fanout.handler",
    "retry": "processors.retry.handler",
    "indexer": "processors.indexer.handler",
}


def requirement_names(requirements: str) -> set[str]:
    return {
        line.split("==", 1)[0].lower()
        for line in requirements.splitlines()
        if line and not line.startswith(("#", " "))
    }


def relative(paths: list[Path]) -> set[str]:
    return {path.relative_to(REPO_ROOT).as_posix() for path in paths}


def test_runtime_requirements_are_the_locked_runtime_dependencies_only() -> None:
    names = requirement_names(runtime_requirements())

    assert {"aws-lambda-powertools", "pydantic", "opensearch-py", "standardwebhooks"} <= names
    assert names.isdisjoint({"moto", "pytest", "osmem-server", "ruff", "triggers"})


def test_target_follows_the_template_runtime_and_architecture() -> None:
    target = LambdaTarget.from_template(Template("local"))

    assert target == LambdaTarget("3.12", "arm64")
    assert target.platform == "aarch64-manylinux_2_28"


def test_unknown_architecture_is_refused() -> None:
    with pytest.raises(PackageError, match="mips"):
        _ = LambdaTarget("3.12", "mips").platform


def test_every_template_function_has_a_zip_named_by_its_code_uri() -> None:
    packages = {package.name: package.handler_module for package in functions(Template("dev"))}

    assert packages == HANDLER_MODULES


def test_function_code_is_its_import_closure_only() -> None:
    indexer = relative(project_files("processors.indexer.handler"))

    assert {"processors/indexer/handler.py", "ingest/core/events_table.py", "ingest/__init__.py"} <= indexer
    assert "processors/indexer/index_template.json" in indexer
    assert not {path for path in indexer if path.startswith(("processors/fanout", "processors/webhooks"))}
    assert "ingest/api.py" not in indexer


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


def test_zip_without_layer_leaves_powertools_out(tmp_path: Path) -> None:
    code = tmp_path / "code"
    for name in ("aws_lambda_powertools", "aws_lambda_powertools-3.37.0.dist-info", "pydantic"):
        (code / name).mkdir(parents=True)
        (code / name / "x.py").write_text("")

    write_zip(code, tmp_path / "aws.zip", include_layer_provided=False)

    assert zipfile.ZipFile(tmp_path / "aws.zip").namelist() == ["pydantic/x.py"]


@pytest.fixture(scope="module")
def local_build(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[Path]]:
    """Both variants for this interpreter and platform (wheels from uv's cache when it has them)."""
    local = LambdaTarget.local()
    return build({"lambda": local, "aws": local}, tmp_path_factory.mktemp("build"), Template("dev"))


@pytest.mark.parametrize("function", sorted(HANDLER_MODULES))
def test_handler_imports_from_its_unpacked_zip_alone(
    function: str, local_build: dict[str, list[Path]], tmp_path: Path
) -> None:
    # Given the function's LocalStack zip unpacked on its own
    (zip_path,) = [path for path in local_build["lambda"] if path.stem == function]
    zipfile.ZipFile(zip_path).extractall(tmp_path)

    # When its handler is imported by an isolated interpreter without site-packages
    code = (
        f"import sys; sys.path.insert(0, {str(tmp_path)!r}); import importlib; "
        f"handler = importlib.import_module({HANDLER_MODULES[function]!r}).lambda_handler; "
        "print(handler.__module__)"
    )
    result = subprocess.run(
        [sys.executable, "-I", "-S", "-c", code],
        capture_output=True,
        text=True,
        check=False,
        cwd=tmp_path,
        env={"PATH": os.environ["PATH"], "AWS_DEFAULT_REGION": "us-east-1"},
        timeout=120,
    )

    # Then it imports, from the unpacked directory only
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == HANDLER_MODULES[function]


def test_aws_zips_are_the_localstack_zips_without_powertools(local_build: dict[str, list[Path]]) -> None:
    for vendored, aws in zip(local_build["lambda"], local_build["aws"], strict=True):
        with_layer = set(zipfile.ZipFile(vendored).namelist())
        without = set(zipfile.ZipFile(aws).namelist())

        assert without < with_layer
        assert {name.split("/", 1)[0].split("-", 1)[0] for name in with_layer - without} == {
            "aws_lambda_powertools"
        }


def test_lambda_build_holds_aarch64_python312_wheels(tmp_path: Path) -> None:
    # When the deployable zips are built for the template's runtime and architecture
    built = build({"aws": LambdaTarget.from_template(Template("dev"))}, tmp_path, Template("dev"))

    # Then compiled dependencies are the Lambda platform's, not this machine's
    names = zipfile.ZipFile(built["aws"][0]).namelist()
    extensions = [name for name in names if name.startswith("pydantic_core/") and name.endswith(".so")]
    assert extensions
    assert all("cpython-312-aarch64-linux-gnu" in name for name in extensions)


def test_the_ingest_function_ships_no_processor_code_and_processors_no_routes() -> None:
    ingest = relative(project_files("ingest.handler"))
    fanout = relative(project_files("processors.fanout.handler"))

    assert "ingest/core/lifecycle.py" in ingest
    assert not {path for path in ingest if path.startswith(("processors/", "devtools/"))}
    routes = {path for path in fanout if path.startswith("ingest/") and not path.startswith("ingest/core/")}
    assert routes <= {"ingest/__init__.py", "ingest/py.typed"}


def test_the_ingest_function_ships_the_console_bundle_but_not_its_sources() -> None:
    ingest = relative(project_files("ingest.handler"))

    assert {"ingest/console/index.html", "ingest/console/console.js", "ingest/console/console.css"} <= ingest
    assert not {path for path in ingest if path.startswith("ingest/console/web/")}


@pytest.mark.parametrize(
    ("machine", "architecture"),
    [
        ("arm64", "arm64"),
        ("aarch64", "arm64"),
        ("AARCH64", "arm64"),
        ("x86_64", "x86_64"),
        ("AMD64", "x86_64"),
    ],
)
def test_host_architecture_is_arm64_on_arm_machines_and_x86_64_elsewhere(
    machine: str, architecture: str
) -> None:
    assert host_architecture(machine) == architecture


def test_localstack_build_follows_the_host_and_the_aws_build_the_template(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Given an x86_64 machine and a template whose functions are arm64
    monkeypatch.setattr("platform.machine", lambda: "x86_64")

    # When the targets of a default `triggers package` are chosen
    targets = targets_for(Template("local"))

    # Then LocalStack gets x86_64 wheels (no emulation) and sam deploy the template's arm64
    assert targets == {"lambda": LambdaTarget("3.12", "x86_64"), "aws": LambdaTarget("3.12", "arm64")}
    assert targets_for(Template("local"), "localstack", "arm64") == {"lambda": LambdaTarget("3.12", "arm64")}
    assert targets_for(Template("local"), "aws") == {"aws": LambdaTarget("3.12", "arm64")}


def test_the_aws_build_refuses_another_architecture() -> None:
    with pytest.raises(PackageError, match="template's architecture"):
        targets_for(Template("local"), "aws", "x86_64")


def test_a_localstack_build_for_another_architecture_leaves_build_aws_untouched(tmp_path: Path) -> None:
    # Given a build/aws/ from an earlier `make package`
    aws_dir = tmp_path / "aws"
    aws_dir.mkdir()
    (aws_dir / "fanout.zip").write_bytes(b"the deployable zip")
    os.utime(aws_dir / "fanout.zip", (1_000_000, 1_000_000))
    before = {path.name: (path.read_bytes(), path.stat().st_mtime) for path in aws_dir.iterdir()}
    other = "arm64" if host_architecture() == "x86_64" else "x86_64"

    # When the LocalStack build is made for the architecture that is not this machine's default
    built = build(targets_for(Template("local"), "localstack", other), tmp_path, Template("local"))

    # Then build/lambda/ holds that architecture's wheels and says so; build/aws/ is as it was
    assert set(built) == {"lambda"}
    assert (tmp_path / "lambda" / ARCHITECTURE_FILE).read_text() == f"{other}\n"
    names = zipfile.ZipFile(built["lambda"][0]).namelist()
    machine = "aarch64" if other == "arm64" else "x86_64"
    extensions = [name for name in names if name.startswith("pydantic_core/") and name.endswith(".so")]
    assert extensions and all(f"cpython-312-{machine}-linux-gnu" in name for name in extensions)
    assert {path.name: (path.read_bytes(), path.stat().st_mtime) for path in aws_dir.iterdir()} == before

"""Build the Lambda code of template.yaml: build/lambda/ (the functions' CodeUri) and build/lambda.zip.

The project packages plus the runtime dependencies of pyproject.toml (not the dev group), installed
as wheels for the template's Lambda runtime and architecture, so the zip runs without layers
(LocalStack's free tier ignores them).
"""

import os
import shutil
import subprocess
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from devtools.template import REPO_ROOT, Template

PROJECT_PACKAGES = ("ingest", "processors")
BUILD_DIR = REPO_ROOT / "build"
# Wheel platforms uv installs for each Lambda architecture.
PLATFORMS = {"arm64": "aarch64-manylinux2014", "x86_64": "x86_64-manylinux2014"}
# Installed console scripts point at the build machine's interpreter: useless in a Lambda.
UNSHIPPED = ("bin",)
# Fixed timestamp for zip entries, so unchanged code gives an unchanged CodeSha256.
ZIP_TIMESTAMP = (1980, 1, 1, 0, 0, 0)


class PackageError(RuntimeError):
    """The Lambda package could not be built."""


@dataclass(frozen=True)
class LambdaTarget:
    python_version: str  # "3.12"
    architecture: str  # "arm64" | "x86_64"

    @classmethod
    def from_template(cls, template: Template) -> "LambdaTarget":
        function = template.raw.get("Globals", {}).get("Function", {})
        runtime = str(function.get("Runtime", "python3.12"))
        return cls(runtime.removeprefix("python"), str(function.get("Architectures", ["arm64"])[0]))

    @property
    def platform(self) -> str:
        try:
            return PLATFORMS[self.architecture]
        except KeyError:
            raise PackageError(f"no wheel platform for architecture {self.architecture!r}") from None


def _uv(*args: str, stdin: str | None = None) -> str:
    uv = shutil.which("uv")
    if uv is None:
        raise PackageError("uv not found on PATH: run `make setup`")
    result = subprocess.run(
        [uv, *args], input=stdin, capture_output=True, text=True, check=False, cwd=REPO_ROOT
    )
    if result.returncode != 0:
        raise PackageError(f"uv {args[0]} {args[1]} failed:\n{result.stderr}")
    return result.stdout


def runtime_requirements() -> str:
    """The locked runtime dependencies (no dev group, no project) as a requirements file."""
    return _uv("export", "--frozen", "--no-dev", "--no-hashes", "--no-emit-project", "--no-header")


def install_dependencies(requirements: str, code_dir: Path, target: LambdaTarget) -> None:
    _uv(
        "pip",
        "install",
        "--quiet",
        "--target",
        str(code_dir),
        "--python-platform",
        target.platform,
        "--python-version",
        target.python_version,
        "--only-binary",
        ":all:",
        "--requirement",
        "-",
        stdin=requirements,
    )
    for name in UNSHIPPED:
        shutil.rmtree(code_dir / name, ignore_errors=True)


def copy_project(code_dir: Path) -> None:
    for package in PROJECT_PACKAGES:
        shutil.copytree(
            REPO_ROOT / package, code_dir / package, ignore=shutil.ignore_patterns("__pycache__", "*.pyc")
        )


def _files(root: Path) -> Iterator[Path]:
    for directory, subdirectories, files in os.walk(root):
        subdirectories[:] = sorted(name for name in subdirectories if name != "__pycache__")
        for name in sorted(files):
            if not name.endswith(".pyc"):
                yield Path(directory) / name


def write_zip(code_dir: Path, zip_path: Path) -> None:
    with zipfile.ZipFile(zip_path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for path in _files(code_dir):
            entry = zipfile.ZipInfo(path.relative_to(code_dir).as_posix(), date_time=ZIP_TIMESTAMP)
            entry.external_attr = (0o755 if os.access(path, os.X_OK) else 0o644) << 16
            entry.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(entry, path.read_bytes())


def build(target: LambdaTarget, build_dir: Path = BUILD_DIR) -> Path:
    """Rebuild build_dir/lambda/ and build_dir/lambda.zip from scratch; returns the zip."""
    code_dir = build_dir / "lambda"
    zip_path = build_dir / "lambda.zip"
    shutil.rmtree(code_dir, ignore_errors=True)
    zip_path.unlink(missing_ok=True)
    code_dir.mkdir(parents=True)
    install_dependencies(runtime_requirements(), code_dir, target)
    copy_project(code_dir)
    write_zip(code_dir, zip_path)
    return zip_path

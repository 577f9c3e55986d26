"""Build one Lambda zip per function of template.yaml, in two variants.

- `build/lambda/<function>.zip`: the function's code, the runtime dependencies of pyproject.toml
  (not the dev group) and Powertools, for LocalStack (its free tier ignores layers), built for this
  machine's architecture by default so LocalStack runs the functions without emulation;
- `build/aws/<function>.zip`: the same without Powertools, which the function gets from the public
  Powertools layer on AWS; these are the template's `CodeUri`s that `sam deploy` uploads, always
  built for the template's architecture.

Each variant directory also holds `architecture` (one line, e.g. `x86_64`): the Lambda
architecture its wheels were built for, which LocalStack's 04-functions.sh creates the functions
with. Dependencies are manylinux wheels for the Lambda runtime, installed with uv (from its cache
when it has them). A function's code is its handler module and every project module that module
imports, directly or not, with the data files of their packages.
"""

import ast
import os
import platform
import shutil
import subprocess
import sys
import zipfile
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from devtools.template import REPO_ROOT, Template

PROJECT_PACKAGES = ("ingest", "processors")
BUILD_DIR = REPO_ROOT / "build"
# Wheel platforms uv installs for each Lambda architecture; "local" is this machine's interpreter.
# The python3.12 runtime is Amazon Linux 2023 (glibc 2.34), so manylinux_2_28 wheels run there (and
# uv still takes manylinux2014 ones); jsonschema-rs ships its aarch64 wheels for 2_28 only.
PLATFORMS: dict[str, str | None] = {
    "arm64": "aarch64-manylinux_2_28",
    "x86_64": "x86_64-manylinux_2_28",
    "local": None,
}
# Installed console scripts point at the build machine's interpreter: useless in a Lambda.
UNSHIPPED = ("bin",)
# What the Powertools layer provides on AWS: left out of the `aws` variant.
LAYER_PROVIDED = ("aws_lambda_powertools",)
# Variant -> whether it vendors what the layer provides.
VARIANTS = {"lambda": True, "aws": False}
LOCALSTACK_VARIANT, AWS_VARIANT = "lambda", "aws"
# The file in each variant directory naming the architecture its wheels are for.
ARCHITECTURE_FILE = "architecture"
# Fixed timestamp for zip entries, so unchanged code gives an unchanged CodeSha256.
ZIP_TIMESTAMP = (1980, 1, 1, 0, 0, 0)


class PackageError(RuntimeError):
    """The Lambda packages could not be built."""


def host_architecture(machine: str | None = None) -> str:
    """The Lambda architecture this machine runs natively: arm64 on arm64/aarch64, x86_64 elsewhere."""
    machine = (platform.machine() if machine is None else machine).lower()
    return "arm64" if machine in ("arm64", "aarch64") else "x86_64"


@dataclass(frozen=True)
class LambdaTarget:
    python_version: str  # "3.12"
    architecture: str  # "arm64" | "x86_64" | "local"

    @classmethod
    def from_template(cls, template: Template) -> "LambdaTarget":
        function = template.raw.get("Globals", {}).get("Function", {})
        runtime = str(function.get("Runtime", "python3.12"))
        return cls(runtime.removeprefix("python"), str(function.get("Architectures", ["arm64"])[0]))

    @classmethod
    def local(cls) -> "LambdaTarget":
        """This interpreter and platform: a build that imports here (tests)."""
        return cls(f"{sys.version_info.major}.{sys.version_info.minor}", "local")

    def with_architecture(self, architecture: str) -> "LambdaTarget":
        return LambdaTarget(self.python_version, architecture)

    @property
    def lambda_architecture(self) -> str:
        """What the functions must be created with to run these wheels (`local`: this machine's)."""
        return host_architecture() if self.architecture == "local" else self.architecture

    @property
    def platform(self) -> str | None:
        try:
            return PLATFORMS[self.architecture]
        except KeyError:
            raise PackageError(f"no wheel platform for architecture {self.architecture!r}") from None


@dataclass(frozen=True)
class FunctionPackage:
    """A function of the template and the zip its `CodeUri` names."""

    logical_id: str
    name: str  # "ingest": the zip is <variant>/<name>.zip
    handler_module: str  # "ingest.handler"


def functions(template: Template) -> list[FunctionPackage]:
    packages = []
    for logical_id in template.of_type("AWS::Serverless::Function"):
        code_uri = PurePosixPath(str(template.function_setting(logical_id, "CodeUri")))
        handler = str(template.function_setting(logical_id, "Handler"))
        packages.append(FunctionPackage(logical_id, code_uri.stem, handler.rsplit(".", 1)[0]))
    return packages


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


def install_dependencies(requirements: str, target_dir: Path, target: LambdaTarget) -> None:
    platform = target.platform
    where = (
        ["--python-platform", platform, "--python-version", target.python_version]
        if platform
        else ["--python", sys.executable]
    )
    _uv(
        "pip",
        "install",
        "--quiet",
        "--target",
        str(target_dir),
        *where,
        "--only-binary",
        ":all:",
        "--requirement",
        "-",
        stdin=requirements,
    )
    for name in UNSHIPPED:
        shutil.rmtree(target_dir / name, ignore_errors=True)


# ---------------------------------------------------------------- the project code of a function


def _module_path(module: str, root: Path) -> Path | None:
    """The source of a project module (`ingest.core.events_table`), or None if it is not one."""
    if module.split(".", 1)[0] not in PROJECT_PACKAGES:
        return None
    base = root.joinpath(*module.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def _imported_modules(path: Path, module: str) -> Iterator[str]:
    """Every module an import statement in the file may load (`from a import b`: a and a.b)."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                base = f"{parent}.{base}" if base else parent
            yield base
            yield from (f"{base}.{alias.name}" for alias in node.names)


def project_modules(handler_module: str, root: Path = REPO_ROOT) -> set[Path]:
    """The handler module and every project module it imports, directly or not, with their packages."""
    found: set[Path] = set()
    pending = [handler_module]
    while pending:
        module = pending.pop()
        parts = module.split(".")
        # Importing a.b.c runs a/__init__.py and a/b/__init__.py first.
        for depth in range(1, len(parts) + 1):
            name = ".".join(parts[:depth])
            path = _module_path(name, root)
            if path is None or path in found:
                continue
            found.add(path)
            pending.extend(_imported_modules(path, name))
    return found


def project_files(handler_module: str, root: Path = REPO_ROOT) -> list[Path]:
    """The function's project modules plus the data files (not other modules) of their packages."""
    modules = project_modules(handler_module, root)
    data = {
        path
        for directory in {module.parent for module in modules}
        for path in directory.iterdir()
        if path.is_file() and path.suffix not in (".py", ".pyc")
    }
    return sorted(modules | data)


# ---------------------------------------------------------------- zips


def _files(root: Path) -> Iterator[Path]:
    for directory, subdirectories, files in os.walk(root):
        subdirectories[:] = sorted(name for name in subdirectories if name != "__pycache__")
        for name in sorted(files):
            if not name.endswith(".pyc"):
                yield Path(directory) / name


def _add(archive: zipfile.ZipFile, path: Path, name: str) -> None:
    entry = zipfile.ZipInfo(name, date_time=ZIP_TIMESTAMP)
    entry.external_attr = (0o755 if os.access(path, os.X_OK) else 0o644) << 16
    entry.compress_type = zipfile.ZIP_DEFLATED
    archive.writestr(entry, path.read_bytes())


def _layer_provided(relative: Path) -> bool:
    top = relative.parts[0]
    return any(top == name or top.startswith(f"{name}-") for name in LAYER_PROVIDED)


def write_zip(code_dir: Path, zip_path: Path, include_layer_provided: bool = True) -> None:
    """Zip a directory; without what the Powertools layer provides unless asked to include it."""
    with zipfile.ZipFile(zip_path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for path in _files(code_dir):
            relative = path.relative_to(code_dir)
            if include_layer_provided or not _layer_provided(relative):
                _add(archive, path, relative.as_posix())


def add_files(zip_path: Path, files: Iterable[Path], root: Path) -> None:
    with zipfile.ZipFile(zip_path, "a", compression=zipfile.ZIP_DEFLATED) as archive:
        for path in files:
            _add(archive, path, path.relative_to(root).as_posix())


def targets_for(template: Template, which: str = "all", arch: str | None = None) -> dict[str, LambdaTarget]:
    """Variant -> target of a `triggers package` run.

    `which` is `all`, `localstack` (build/lambda/ only) or `aws` (build/aws/ only). The LocalStack
    build is for `arch`, by default this machine's architecture; the AWS build is always for the
    template's, so what `sam deploy` uploads matches the functions' `Architectures`.
    """
    deployed = LambdaTarget.from_template(template)
    if which == "aws" and arch not in (None, deployed.architecture):
        raise PackageError(
            f"build/aws/ is always built for the template's architecture ({deployed.architecture}); "
            "--arch only applies to the LocalStack build (build/lambda/)"
        )
    targets = {}
    if which in ("all", "localstack"):
        targets[LOCALSTACK_VARIANT] = deployed.with_architecture(arch or host_architecture())
    if which in ("all", "aws"):
        targets[AWS_VARIANT] = deployed
    if not targets:
        raise PackageError(f"unknown build {which!r}: all, localstack or aws")
    return targets


def build(
    targets: Mapping[str, LambdaTarget],
    build_dir: Path = BUILD_DIR,
    template: Template | None = None,
) -> dict[str, list[Path]]:
    """Rebuild build_dir/<variant>/<function>.zip for each variant of `targets`, and nothing else.

    The dependencies are installed once per target and compressed once per variant; each
    function's zip is a copy of that base with its own code appended. Variant directories not in
    `targets` are left exactly as they are.
    """
    template = template or Template()
    unknown = set(targets) - set(VARIANTS)
    if unknown:
        raise PackageError(f"unknown variant(s) {sorted(unknown)}: {sorted(VARIANTS)}")
    requirements = runtime_requirements()
    deps_dirs: dict[LambdaTarget, Path] = {}
    built: dict[str, list[Path]] = {}
    try:
        for variant, target in targets.items():
            if target not in deps_dirs:
                deps_dirs[target] = build_dir / f".deps-{len(deps_dirs)}"
                shutil.rmtree(deps_dirs[target], ignore_errors=True)
                deps_dirs[target].mkdir(parents=True)
                install_dependencies(requirements, deps_dirs[target], target)
            variant_dir = build_dir / variant
            shutil.rmtree(variant_dir, ignore_errors=True)
            variant_dir.mkdir(parents=True)
            base = build_dir / f".deps-{variant}.zip"
            write_zip(deps_dirs[target], base, include_layer_provided=VARIANTS[variant])
            built[variant] = []
            for function in functions(template):
                zip_path = variant_dir / f"{function.name}.zip"
                shutil.copyfile(base, zip_path)
                add_files(zip_path, project_files(function.handler_module), REPO_ROOT)
                built[variant].append(zip_path)
            base.unlink()
            (variant_dir / ARCHITECTURE_FILE).write_text(target.lambda_architecture + "\n")
    finally:
        for deps_dir in deps_dirs.values():
            shutil.rmtree(deps_dir, ignore_errors=True)
    return built

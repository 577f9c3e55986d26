"""`triggers package`: one Lambda zip per function, build/lambda/ (LocalStack) and build/aws/ (sam deploy).

`--for localstack` builds build/lambda/ only, for this machine's architecture unless `--arch` says
otherwise; it never touches build/aws/, which is always built for the template's architecture.
"""

import argparse
import zipfile
from pathlib import Path

from devtools.package import BUILD_DIR, PLATFORMS, PackageError, build, host_architecture, targets_for
from devtools.template import Template

DIRECT_UPLOAD_LIMIT = 50 * 1024 * 1024  # bytes; init/ready.d/04-functions.sh uploads the zips directly
UNZIPPED_LIMIT = 250 * 1024 * 1024  # bytes, code and layers together
BUILDS = ("all", "localstack", "aws")


def unzipped_size(zip_path: Path) -> int:
    with zipfile.ZipFile(zip_path) as archive:
        return sum(entry.file_size for entry in archive.infolist())


def run(args: argparse.Namespace) -> int:
    template = Template(args.stage)
    try:
        targets = targets_for(template, args.build, args.arch)
        for variant, target in targets.items():
            print(
                f"Packaging {BUILD_DIR / variant}/ for Lambda python{target.python_version} "
                f"{target.architecture}...",
                flush=True,
            )
        built = build(targets, template=template)
    except PackageError as exc:
        print(f"triggers package: {exc}")
        return 1
    for variant, zips in built.items():
        print(f"  {BUILD_DIR / variant}/ ({targets[variant].architecture})")
        for zip_path in zips:
            size, unzipped = zip_path.stat().st_size, unzipped_size(zip_path)
            print(f"    {zip_path.name:<12} {size / 1e6:6.1f} MB ({unzipped / 1e6:.1f} MB unzipped)")
            if size > DIRECT_UPLOAD_LIMIT:
                print("      over Lambda's 50 MB direct upload limit: deploy it through S3 (sam deploy does)")
            if unzipped > UNZIPPED_LIMIT:
                print("      over Lambda's 250 MB unzipped limit")
    return 0


def register(commands: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    package = commands.add_parser(
        "package",
        help="build one Lambda zip per function with its dependencies",
        description=(
            "build/lambda/: Powertools vendored, for LocalStack, built for this machine's architecture "
            f"({host_architecture()}) unless --arch says otherwise. build/aws/: for sam deploy, Powertools "
            "from its layer, always the template's architecture."
        ),
    )
    package.add_argument(
        "--for",
        dest="build",
        choices=BUILDS,
        default="all",
        help="which build: all (default), localstack (build/lambda/ only; build/aws/ is left alone) or aws",
    )
    package.add_argument(
        "--arch",
        choices=sorted(name for name in PLATFORMS if name != "local"),
        help=f"architecture of the LocalStack build (default: this machine's, {host_architecture()}); "
        "build/aws/ always follows template.yaml",
    )
    package.set_defaults(func=run)

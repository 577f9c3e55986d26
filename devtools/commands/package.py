"""`triggers package`: one Lambda zip per function, build/lambda/ (LocalStack) and build/aws/ (sam deploy)."""

import argparse
import zipfile
from pathlib import Path

from devtools.package import BUILD_DIR, PLATFORMS, LambdaTarget, PackageError, build
from devtools.template import Template

DIRECT_UPLOAD_LIMIT = 50 * 1024 * 1024  # bytes; init/ready.d/04-functions.sh uploads the zips directly
UNZIPPED_LIMIT = 250 * 1024 * 1024  # bytes, code and layers together


def unzipped_size(zip_path: Path) -> int:
    with zipfile.ZipFile(zip_path) as archive:
        return sum(entry.file_size for entry in archive.infolist())


def run(args: argparse.Namespace) -> int:
    target = LambdaTarget.from_template(Template(args.stage))
    if args.arch:
        target = LambdaTarget(target.python_version, args.arch)
    print(f"Packaging for Lambda python{target.python_version} {target.architecture}...", flush=True)
    try:
        built = build(target, template=Template(args.stage))
    except PackageError as exc:
        print(f"triggers package: {exc}")
        return 1
    for variant, zips in built.items():
        print(f"  {BUILD_DIR / variant}/")
        for zip_path in zips:
            size, unzipped = zip_path.stat().st_size, unzipped_size(zip_path)
            print(f"    {zip_path.name:<12} {size / 1e6:6.1f} MB ({unzipped / 1e6:.1f} MB unzipped)")
            if size > DIRECT_UPLOAD_LIMIT:
                print("      over Lambda's 50 MB direct upload limit: deploy it through S3 (sam deploy does)")
            if unzipped > UNZIPPED_LIMIT:
                print("      over Lambda's 250 MB unzipped limit")
    return 0


def register(commands: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    package = commands.add_parser("package", help="build one Lambda zip per function with its dependencies")
    package.add_argument(
        "--arch",
        choices=sorted(name for name in PLATFORMS if name != "local"),
        help="Lambda architecture (default: template.yaml's; x86_64 runs LocalStack natively on x86 hosts)",
    )
    package.set_defaults(func=run)

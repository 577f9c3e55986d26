"""`triggers package`: build build/lambda/ (template.yaml's CodeUri) and build/lambda.zip."""

import argparse

from devtools.package import PLATFORMS, LambdaTarget, PackageError, build
from devtools.template import Template

DIRECT_UPLOAD_LIMIT = 50 * 1024 * 1024  # bytes; init/ready.d/04-functions.sh uploads the zip directly


def run(args: argparse.Namespace) -> int:
    target = LambdaTarget.from_template(Template(args.stage))
    if args.arch:
        target = LambdaTarget(target.python_version, args.arch)
    print(f"Packaging for Lambda python{target.python_version} {target.architecture}...", flush=True)
    try:
        zip_path = build(target)
    except PackageError as exc:
        print(f"triggers package: {exc}")
        return 1
    size = zip_path.stat().st_size
    print(f"  {zip_path.parent / 'lambda'}/\n  {zip_path} ({size / 1e6:.1f} MB)")
    if size > DIRECT_UPLOAD_LIMIT:
        print("  over Lambda's 50 MB direct upload limit: deploy it through S3 (sam deploy does)")
    return 0


def register(commands: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    package = commands.add_parser("package", help="build the Lambda code with its dependencies vendored")
    package.add_argument(
        "--arch",
        choices=sorted(PLATFORMS),
        help="Lambda architecture (default: template.yaml's; x86_64 runs LocalStack natively on x86 hosts)",
    )
    package.set_defaults(func=run)

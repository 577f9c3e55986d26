"""template.yaml through the AWS SAM transform (aws-sam-translator), as `sam deploy` runs it.

`python -m devtools.sam_transform [--stage prod] [--output out.json]` prints the CloudFormation
template the transform produces, or the transform's errors (exit status 1). `make lint` runs it
for every stage; tests read the transformed resources (IAM roles, mappings) from `transform()`.

What `sam deploy` does around the transform is done here without AWS: local `CodeUri` paths
become S3 locations (what `sam package` uploads them to), the region is fixed, and the managed
policy map is empty instead of read from IAM (the template names no managed policy).
"""

import argparse
import copy
import json
import sys
from pathlib import Path
from typing import Any

import boto3
from samtranslator.metrics.metrics import DummyMetricsPublisher, Metrics
from samtranslator.model.exceptions import InvalidDocumentException
from samtranslator.parser.parser import Parser
from samtranslator.translator.translator import Translator
from samtranslator.yaml_helper import yaml_parse

from devtools.template import REGION, TEMPLATE_PATH

PACKAGED_BUCKET = "triggers-sam-artifacts"
STAGES = ("local", "dev", "staging", "prod")


class TransformError(RuntimeError):
    """The SAM transform rejected the template."""


def load_sam(path: Path = TEMPLATE_PATH) -> dict[str, Any]:
    """The template as CloudFormation JSON structure (`!Ref x` -> {"Ref": "x"})."""
    parsed: dict[str, Any] = yaml_parse(path.read_text())
    return parsed


def packaged(template: dict[str, Any]) -> dict[str, Any]:
    """A copy with each local CodeUri replaced by the S3 location `sam package` would upload it to."""
    result = copy.deepcopy(template)
    for name, resource in result.get("Resources", {}).items():
        properties = resource.get("Properties", {})
        if resource.get("Type") == "AWS::Serverless::Function" and isinstance(properties.get("CodeUri"), str):
            key = f"{name}/{Path(properties['CodeUri']).name}"
            properties["CodeUri"] = f"s3://{PACKAGED_BUCKET}/{key}"
    return result


def transform(
    template: dict[str, Any] | None = None, parameters: dict[str, Any] | None = None
) -> dict[str, Any]:
    """The CloudFormation template the SAM transform makes of `template` (default: template.yaml)."""
    source = packaged(template if template is not None else load_sam())
    metrics = Metrics(metrics_publisher=DummyMetricsPublisher())
    translator = Translator(None, Parser(), boto_session=boto3.Session(region_name=REGION), metrics=metrics)
    try:
        result: dict[str, Any] = translator.translate(
            source, parameter_values=dict(parameters or {}), get_managed_policy_map=dict
        )
    except InvalidDocumentException as exc:
        causes = "\n".join(f"  {cause.message}" for cause in exc.causes)
        raise TransformError(f"SAM transform failed:\n{causes}") from exc
    finally:
        metrics.publish()
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stage", choices=STAGES, action="append", help="default: every stage")
    parser.add_argument("--output", type=Path, help="write the transformed template (one --stage)")
    args = parser.parse_args(argv)
    stages = args.stage or list(STAGES)
    template = load_sam()
    for stage in stages:
        try:
            result = transform(template, {"Stage": stage})
        except TransformError as exc:
            print(f"{stage}: {exc}", file=sys.stderr)
            return 1
        if args.output:
            args.output.write_text(json.dumps(result, indent=2) + "\n")
        print(f"SAM transform ({stage}): {len(result['Resources'])} CloudFormation resources")
    return 0


if __name__ == "__main__":
    sys.exit(main())

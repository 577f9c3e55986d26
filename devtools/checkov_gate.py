"""checkov over template.yaml: every finding is fixed, or skipped with its reason.

`python -m devtools.checkov_gate` (a `make lint` step) runs checkov over template.yaml and fails when
a check fails, when a check is skipped without a reason, or when checkov could not read the
template. A check is skipped either

- in the template, on the resource: `Metadata: checkov: skip: [{id: CKV_..., comment: <reason>}]`;
- project-wide, in `PROJECT_WIDE` below: checks that judge a choice every resource of a kind shares,
  each with its reason (and, where one exists, the test that keeps the reason true).

checkov runs from an environment of its own (devtools/checkov/pyproject.toml and its uv.lock,
synced into .tools/checkov by `make lint`): every checkov release pins boto3 exactly, which would
downgrade the boto3 of the project's lock, the one the Lambda functions ship with.
"""

import argparse
import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from devtools.template import REPO_ROOT, TEMPLATE_PATH

CHECKOV = REPO_ROOT / ".tools" / "checkov" / "bin" / "checkov"
# What checkov reports as the reason of a skip that has none.
NO_REASON = {"", "No comment provided"}
PROJECT_WIDE: dict[str, str] = {
    "CKV_AWS_27": (
        "Every queue is encrypted with SSE-SQS (SqsManagedSseEnabled; "
        "tests/unit/test_checkov_gate.py::test_every_queue_is_encrypted_with_sse_sqs), which checkov does "
        "not recognise. A KMS key would need grants for the mappings' OnFailure writes and every "
        "`triggers dlq` reader, for no change in who may read them (docs/decisions.md, Encryption)."
    ),
    "CKV_AWS_119": (
        "Every deployed table is encrypted with the data key "
        "(tests/unit/test_template_lint.py::test_deployed_tables_use_the_customer_managed_key_and_pitr); "
        "checkov cannot evaluate the Fn::If that leaves the key out on the local stage, whose emulators "
        "have no KMS."
    ),
    "CKV_AWS_116": (
        "A function's DLQ receives failed asynchronous invocations, and no function is invoked "
        "asynchronously: the stream mappings send exhausted batches to the stream DLQ (OnFailure), the "
        "retry queue redrives to its own DLQ, and API Gateway invokes ingest synchronously."
    ),
    "CKV_AWS_117": (
        "No function reaches a private resource: they call AWS APIs (DynamoDB, SQS, KMS, X-Ray, the "
        "OpenSearch domain's public HTTPS endpoint) with IAM, and subscribers' webhooks on the internet "
        "through the SSRF guard. A VPC would add NAT gateways and interface endpoints and hide nothing."
    ),
    "CKV_AWS_173": (
        "The functions' environments hold resource names, URLs and settings, never a secret (API keys "
        "are stored hashed, signing secrets in DynamoDB); Lambda encrypts them at rest with an "
        "AWS-managed key."
    ),
}


@dataclass(frozen=True)
class Finding:
    resource: str
    check_id: str
    name: str
    lines: tuple[int, int]
    problem: str

    def __str__(self) -> str:
        first, last = self.lines
        return f"{self.resource} (template.yaml:{first}-{last}) {self.check_id} {self.name}: {self.problem}"


def findings(report: dict[str, Any] | list[dict[str, Any]]) -> list[Finding]:
    """What in a checkov JSON report (`-o json`) has neither a fix nor a reason."""
    reports = report if isinstance(report, list) else [report]
    found: list[Finding] = []
    for one in reports:
        summary = one.get("summary", one)
        if summary.get("parsing_errors"):
            errors = ", ".join(one.get("results", {}).get("parsing_errors", [])) or "see checkov's output"
            found.append(Finding("template", "-", "parsing", (0, 0), f"checkov could not parse: {errors}"))
        results = one.get("results", {})
        for check in results.get("failed_checks", []):
            found.append(_finding(check, "failed: fix it, or skip it on the resource with a reason"))
        for check in results.get("skipped_checks", []):
            reason = str(check.get("check_result", {}).get("suppress_comment", "")).strip()
            if reason in NO_REASON:
                found.append(_finding(check, "skipped without a reason: give the skip a `comment`"))
    if not any(one.get("summary", one).get("resource_count") for one in reports):
        found.append(Finding("template", "-", "scan", (0, 0), "checkov found no resource to check"))
    return found


def _finding(check: dict[str, Any], problem: str) -> Finding:
    first, last = check.get("file_line_range") or (0, 0)
    return Finding(check["resource"], check["check_id"], check["check_name"], (first, last), problem)


def run_checkov(checkov: Path = CHECKOV, template: Path = TEMPLATE_PATH) -> Any:
    """checkov's JSON report on `template`, project-wide skips left out."""
    if not checkov.exists():
        raise SystemExit(f"{checkov} not found: `make lint` installs it (devtools/checkov)")
    command = [
        str(checkov),
        "--file",
        str(template),
        "--framework",
        "cloudformation",
        "--skip-check",
        ",".join(PROJECT_WIDE),
        "--skip-download",  # no call to Prisma Cloud for guidelines or policies: offline and faster
        "--output",
        "json",
    ]
    result = subprocess.run(command, capture_output=True, text=True, check=False, timeout=300)
    try:
        return json.loads(result.stdout)
    except json.JSONDecodeError as exc:
        raise SystemExit(f"checkov gave no JSON report (exit {result.returncode}):\n{result.stderr}") from exc


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkov", type=Path, default=CHECKOV, help="the checkov executable")
    parser.add_argument("--template", type=Path, default=TEMPLATE_PATH)
    args = parser.parse_args(argv)
    report = run_checkov(args.checkov, args.template)
    problems = findings(report)
    for problem in problems:
        print(problem, file=sys.stderr)
    reports = report if isinstance(report, list) else [report]
    passed = sum(one.get("summary", one).get("passed", 0) for one in reports)
    skipped = sum(one.get("summary", one).get("skipped", 0) for one in reports)
    print(
        f"checkov: {passed} passed, {skipped} skipped on their resource with a reason, "
        f"{len(PROJECT_WIDE)} skipped project-wide ({', '.join(PROJECT_WIDE)}), {len(problems)} to act on"
    )
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())

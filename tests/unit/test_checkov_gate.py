"""The checkov step of `make lint` (devtools/checkov_gate.py) fails on any finding without a reason.

`make lint` runs checkov itself; these tests hold the gate's judgement of checkov's JSON report
(its shape as checkov 3.3 writes it) and the reasons the template and the gate give.
"""

from typing import Any

import pytest

from devtools.checkov_gate import PROJECT_WIDE, findings
from devtools.template import Template, load_raw


def check(resource: str, check_id: str, **result: Any) -> dict[str, Any]:
    return {
        "check_id": check_id,
        "check_name": f"the {check_id} rule",
        "resource": resource,
        "file_line_range": [10, 20],
        "check_result": result,
    }


def report(
    failed: list[dict[str, Any]] | None = None,
    skipped: list[dict[str, Any]] | None = None,
    parsing_errors: list[str] | None = None,
    resources: int = 3,
) -> dict[str, Any]:
    failed, skipped, parsing_errors = failed or [], skipped or [], parsing_errors or []
    return {
        "check_type": "cloudformation",
        "results": {
            "passed_checks": [],
            "failed_checks": failed,
            "skipped_checks": skipped,
            "parsing_errors": parsing_errors,
        },
        "summary": {
            "passed": 5,
            "failed": len(failed),
            "skipped": len(skipped),
            "parsing_errors": len(parsing_errors),
            "resource_count": resources,
        },
    }


def test_a_clean_report_and_skips_with_reasons_pass() -> None:
    skipped = [check("AWS::Logs::LogGroup.A", "CKV_AWS_158", result="SKIPPED", suppress_comment="no secrets")]

    assert findings(report(skipped=skipped)) == []


def test_a_failed_check_is_a_finding() -> None:
    (finding,) = findings(report(failed=[check("AWS::SQS::Queue.Q", "CKV_AWS_27", result="FAILED")]))

    assert (finding.resource, finding.check_id, finding.lines) == (
        "AWS::SQS::Queue.Q",
        "CKV_AWS_27",
        (10, 20),
    )
    assert "fix it, or skip it on the resource with a reason" in str(finding)
    assert "template.yaml:10-20" in str(finding)


@pytest.mark.parametrize("comment", ["No comment provided", "", "  "])
def test_a_skip_without_a_reason_is_a_finding(comment: str) -> None:
    # checkov reports a skip whose `comment` is missing as "No comment provided"
    skipped = [check("AWS::Logs::LogGroup.B", "CKV_AWS_158", result="SKIPPED", suppress_comment=comment)]

    (finding,) = findings(report(skipped=skipped))

    assert finding.problem == "skipped without a reason: give the skip a `comment`"


def test_a_template_checkov_could_not_read_is_a_finding() -> None:
    unreadable = report(parsing_errors=["/template.yaml"], resources=0)

    assert [finding.check_id for finding in findings(unreadable)] == ["-", "-"]
    assert "checkov could not parse: /template.yaml" in str(findings(unreadable)[0])


def test_a_report_of_several_frameworks_is_judged_whole() -> None:
    # checkov writes a list when it ran more than one framework, a summary alone for one with nothing to check
    empty = {"passed": 0, "failed": 0, "skipped": 0, "parsing_errors": 0, "resource_count": 0}
    failing = report(failed=[check("AWS::SQS::Queue.Q", "CKV_AWS_27", result="FAILED")])

    assert [finding.check_id for finding in findings([empty, failing])] == ["CKV_AWS_27"]
    assert [finding.problem for finding in findings(empty)] == ["checkov found no resource to check"]


def template_skips() -> list[tuple[str, dict[str, Any]]]:
    return [
        (name, skip)
        for name, resource in load_raw()["Resources"].items()
        for skip in resource.get("Metadata", {}).get("checkov", {}).get("skip", [])
    ]


def test_every_skip_in_the_template_names_a_check_and_gives_a_reason() -> None:
    skips = template_skips()

    assert skips, "template.yaml skips no check"
    for name, skip in skips:
        assert str(skip.get("id", "")).startswith("CKV"), name
        assert len(str(skip.get("comment", "")).split()) >= 8, (
            f"{name} skips {skip.get('id')} without a reason"
        )


def test_project_wide_skips_give_reasons_and_are_not_repeated_on_resources() -> None:
    assert all(len(reason.split()) >= 8 for reason in PROJECT_WIDE.values())
    assert not {skip["id"] for _, skip in template_skips()} & set(PROJECT_WIDE)


@pytest.mark.parametrize("stage", ["local", "dev", "prod"])
def test_every_queue_is_encrypted_with_sse_sqs(stage: str) -> None:
    # The reason CKV_AWS_27 is skipped project-wide.
    queues = Template(stage).of_type("AWS::SQS::Queue")

    assert queues
    assert {name: queue.get("SqsManagedSseEnabled") for name, queue in queues.items()} == dict.fromkeys(
        queues, True
    )

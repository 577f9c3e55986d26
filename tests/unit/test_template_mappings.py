"""The deployed event source mappings (after the SAM transform) keep the design's settings.

DESIGN.md "Stream processing semantics": batch 10, window 5 s, ReportBatchItemFailures, bisect,
records older than a day dropped to the stream DLQ, one batch per shard at a time, fanout on
INSERT with 10 retries, indexer on INSERT/MODIFY/REMOVE retrying until the day is over (an
OpenSearch outage must not send index updates to the stream DLQ; docs/decisions.md). The retry
queue: batch 10, window 1 s, at most as many concurrent invocations as the retry function reserves.
"""

import copy
import json
from typing import Any

import pytest

from devtools.sam_transform import load_sam, transform

STREAM_SETTINGS: dict[str, Any] = {
    "EventSourceArn": {"Fn::GetAtt": ["EventsTable", "StreamArn"]},
    "StartingPosition": "TRIM_HORIZON",
    "BatchSize": 10,
    "MaximumBatchingWindowInSeconds": 5,
    "FunctionResponseTypes": ["ReportBatchItemFailures"],
    "BisectBatchOnFunctionError": True,
    "MaximumRetryAttempts": 10,
    "MaximumRecordAgeInSeconds": 86400,
    "ParallelizationFactor": 1,
    "DestinationConfig": {"OnFailure": {"Destination": {"Fn::GetAtt": ["StreamDLQ", "Arn"]}}},
}
DESIGN: dict[str, dict[str, Any]] = {
    "FanoutFunction": {**STREAM_SETTINGS, "EventNames": ["INSERT"]},
    "IndexerFunction": {
        **STREAM_SETTINGS,
        "MaximumRetryAttempts": -1,
        "EventNames": ["INSERT", "MODIFY", "REMOVE"],
    },
    "RetryFunction": {
        "EventSourceArn": {"Fn::GetAtt": ["RetryQueue", "Arn"]},
        "BatchSize": 10,
        "MaximumBatchingWindowInSeconds": 1,
        "FunctionResponseTypes": ["ReportBatchItemFailures"],
        # Never more concurrent invocations than the retry function's reservation (issue 17).
        "ScalingConfig": {
            "Fn::If": [
                "ReservesRetryConcurrency",
                {"MaximumConcurrency": {"Ref": "RetryReservedConcurrency"}},
                {"Ref": "AWS::NoValue"},
            ]
        },
    },
}


def mappings(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Function logical id -> its mapping's settings, filters as the event names they let through."""
    found = {}
    for resource in template["Resources"].values():
        if resource["Type"] != "AWS::Lambda::EventSourceMapping":
            continue
        settings = dict(resource["Properties"])
        function = settings.pop("FunctionName")["Ref"]
        filters = settings.pop("FilterCriteria", None)
        if filters is not None:
            (pattern,) = (json.loads(item["Pattern"]) for item in filters["Filters"])
            settings["EventNames"] = pattern["eventName"]
        found[function] = settings
    return found


def design_violations(template: dict[str, Any]) -> list[str]:
    actual = mappings(template)
    problems = [f"{name}: no event source mapping" for name in DESIGN.keys() - actual.keys()]
    problems += [f"{name}: mapping not in the design" for name in actual.keys() - DESIGN.keys()]
    for name in DESIGN.keys() & actual.keys():
        for key in sorted(DESIGN[name].keys() | actual[name].keys()):
            expected, got = DESIGN[name].get(key), actual[name].get(key)
            if expected != got:
                problems.append(f"{name}/{key}: design {expected!r}, template {got!r}")
    return problems


@pytest.fixture(scope="module")
def deployed() -> dict[str, Any]:
    return transform(load_sam(), {"Stage": "prod"})


def test_mappings_have_the_design_settings(deployed: dict[str, Any]) -> None:
    assert design_violations(deployed) == []


@pytest.mark.parametrize(
    ("function", "key", "value"),
    [
        ("FanoutFunction", "BatchSize", 100),
        ("IndexerFunction", "MaximumBatchingWindowInSeconds", 0),
        ("FanoutFunction", "FunctionResponseTypes", []),
        ("IndexerFunction", "BisectBatchOnFunctionError", False),
        ("FanoutFunction", "MaximumRetryAttempts", -1),
        ("IndexerFunction", "MaximumRecordAgeInSeconds", 604800),
        ("FanoutFunction", "ParallelizationFactor", 10),
        ("FanoutFunction", "StartingPosition", "LATEST"),
        ("IndexerFunction", "DestinationConfig", None),
        ("FanoutFunction", "EventNames", ["INSERT", "MODIFY"]),
        ("RetryFunction", "MaximumBatchingWindowInSeconds", 20),
    ],
)
def test_a_setting_that_differs_from_the_design_is_reported(
    deployed: dict[str, Any], function: str, key: str, value: Any
) -> None:
    # Given the deployed template with one mapping setting changed (or removed, for None)
    template = copy.deepcopy(deployed)
    (mapping,) = (
        resource["Properties"]
        for resource in template["Resources"].values()
        if resource["Type"] == "AWS::Lambda::EventSourceMapping"
        and resource["Properties"]["FunctionName"] == {"Ref": function}
    )
    if key == "EventNames":
        mapping["FilterCriteria"] = {"Filters": [{"Pattern": json.dumps({"eventName": value})}]}
    elif value is None:
        del mapping[key]
    else:
        mapping[key] = value

    # Then exactly that setting is reported
    assert [line.split(":", 1)[0] for line in design_violations(template)] == [f"{function}/{key}"]


def test_a_missing_mapping_is_reported(deployed: dict[str, Any]) -> None:
    template = copy.deepcopy(deployed)
    template["Resources"] = {
        name: resource
        for name, resource in template["Resources"].items()
        if resource["Properties"].get("FunctionName") != {"Ref": "IndexerFunction"}
        or resource["Type"] != "AWS::Lambda::EventSourceMapping"
    }

    assert design_violations(template) == ["IndexerFunction: no event source mapping"]

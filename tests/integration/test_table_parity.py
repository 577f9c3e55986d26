"""Tables created by localstack/init/ready.d on the running stack match template.yaml exactly."""

import copy
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from devtools.stack import EmbeddedStack
from devtools.template import Template


@dataclass(frozen=True)
class DescribedTable:
    """What the AWS API reports about one table."""

    table: dict[str, Any]
    ttl: dict[str, Any]
    backups: dict[str, Any]


def _key_schema(schema: list[dict[str, str]]) -> list[tuple[str, str]]:
    return [(key["AttributeName"], key["KeyType"]) for key in schema]


def _indexes(indexes: list[dict[str, Any]]) -> dict[str, tuple[Any, ...]]:
    return {
        index["IndexName"]: (
            _key_schema(index["KeySchema"]),
            index["Projection"]["ProjectionType"],
            sorted(index["Projection"].get("NonKeyAttributes", [])),
        )
        for index in indexes
    }


def expected_settings(properties: dict[str, Any]) -> dict[str, Any]:
    """The settings a table must have, read from its template.yaml properties."""
    ttl = properties.get("TimeToLiveSpecification", {})
    sse = properties.get("SSESpecification", {})
    return {
        "key schema": _key_schema(properties["KeySchema"]),
        "attribute definitions": sorted(
            (a["AttributeName"], a["AttributeType"]) for a in properties["AttributeDefinitions"]
        ),
        "global secondary indexes": _indexes(properties.get("GlobalSecondaryIndexes", [])),
        "billing mode": properties.get("BillingMode", "PROVISIONED"),
        "ttl attribute": ttl.get("AttributeName") if ttl.get("Enabled") else None,
        "stream view type": properties.get("StreamSpecification", {}).get("StreamViewType"),
        "point-in-time recovery": bool(
            properties.get("PointInTimeRecoverySpecification", {}).get("PointInTimeRecoveryEnabled")
        ),
        "encryption at rest": bool(sse.get("SSEEnabled")),
    }


def actual_settings(described: DescribedTable) -> dict[str, Any]:
    """The same settings, read from describe-table / -time-to-live / -continuous-backups."""
    table = described.table
    ttl = described.ttl.get("TimeToLiveDescription", {})
    stream = table.get("StreamSpecification", {})
    pitr = described.backups.get("ContinuousBackupsDescription", {}).get("PointInTimeRecoveryDescription", {})
    return {
        "key schema": _key_schema(table["KeySchema"]),
        "attribute definitions": sorted(
            (a["AttributeName"], a["AttributeType"]) for a in table["AttributeDefinitions"]
        ),
        "global secondary indexes": _indexes(table.get("GlobalSecondaryIndexes", [])),
        "billing mode": table.get("BillingModeSummary", {}).get("BillingMode", "PROVISIONED"),
        "ttl attribute": ttl.get("AttributeName")
        if ttl.get("TimeToLiveStatus") in ("ENABLED", "ENABLING")
        else None,
        "stream view type": stream.get("StreamViewType") if stream.get("StreamEnabled") else None,
        "point-in-time recovery": pitr.get("PointInTimeRecoveryStatus") == "ENABLED",
        "encryption at rest": table.get("SSEDescription", {}).get("Status") in ("ENABLED", "ENABLING"),
    }


def table_differences(properties: dict[str, Any], described: DescribedTable) -> list[str]:
    """Human-readable differences between a template table and a live one (empty when equal)."""
    expected, actual = expected_settings(properties), actual_settings(described)
    return [
        f"{setting}: template {expected[setting]!r}, stack {actual[setting]!r}"
        for setting in expected
        if expected[setting] != actual[setting]
    ]


@pytest.fixture(scope="module")
def template(stack: EmbeddedStack) -> Template:
    return stack.template


@pytest.fixture(scope="module")
def described(stack: EmbeddedStack, aws_client: Callable[[str], Any]) -> dict[str, DescribedTable]:
    """Every table on the running stack, described as the AWS API reports it."""
    client = aws_client("dynamodb")
    names = [name for page in client.get_paginator("list_tables").paginate() for name in page["TableNames"]]
    return {
        name: DescribedTable(
            table=client.describe_table(TableName=name)["Table"],
            ttl=client.describe_time_to_live(TableName=name),
            backups=client.describe_continuous_backups(TableName=name),
        )
        for name in names
    }


def test_init_scripts_create_exactly_the_template_tables(
    template: Template, described: dict[str, DescribedTable]
) -> None:
    prefix = f"triggers-{template.stage}-"
    created = {name for name in described if name.startswith(prefix)}

    assert created == {properties["TableName"] for properties in template.tables().values()}


def test_every_table_matches_the_template(template: Template, described: dict[str, DescribedTable]) -> None:
    differences = {
        properties["TableName"]: table_differences(properties, described[properties["TableName"]])
        for properties in template.tables().values()
        if properties["TableName"] in described
    }

    assert {name: found for name, found in differences.items() if found} == {}


def _events_table(template: Template) -> dict[str, Any]:
    return copy.deepcopy(template.tables()["EventsTable"])


def _drop_gsi(properties: dict[str, Any]) -> None:
    properties["GlobalSecondaryIndexes"].pop()


def _change_gsi_key(properties: dict[str, Any]) -> None:
    properties["GlobalSecondaryIndexes"][0]["KeySchema"][1]["AttributeName"] = "other_key"


def _change_projection(properties: dict[str, Any]) -> None:
    properties["GlobalSecondaryIndexes"][0]["Projection"] = {"ProjectionType": "KEYS_ONLY"}


def _change_ttl(properties: dict[str, Any]) -> None:
    properties["TimeToLiveSpecification"]["AttributeName"] = "ttl"


def _change_stream(properties: dict[str, Any]) -> None:
    properties["StreamSpecification"]["StreamViewType"] = "NEW_AND_OLD_IMAGES"


def _disable_pitr(properties: dict[str, Any]) -> None:
    del properties["PointInTimeRecoverySpecification"]


def _disable_sse(properties: dict[str, Any]) -> None:
    properties["SSESpecification"]["SSEEnabled"] = False


def _change_key_schema(properties: dict[str, Any]) -> None:
    properties["KeySchema"] = properties["KeySchema"][:1]


def _add_attribute(properties: dict[str, Any]) -> None:
    properties["AttributeDefinitions"].append({"AttributeName": "extra", "AttributeType": "N"})


@pytest.mark.parametrize(
    ("change", "setting"),
    [
        (_drop_gsi, "global secondary indexes"),
        (_change_gsi_key, "global secondary indexes"),
        (_change_projection, "global secondary indexes"),
        (_change_ttl, "ttl attribute"),
        (_change_stream, "stream view type"),
        (_disable_pitr, "point-in-time recovery"),
        (_disable_sse, "encryption at rest"),
        (_change_key_schema, "key schema"),
        (_add_attribute, "attribute definitions"),
    ],
)
def test_comparison_detects_a_deliberate_difference(
    template: Template,
    described: dict[str, DescribedTable],
    change: Callable[[dict[str, Any]], None],
    setting: str,
) -> None:
    # Given the events table's template properties with one setting changed
    properties = _events_table(template)
    change(properties)

    # When they are compared with the live table
    differences = table_differences(properties, described[properties["TableName"]])

    # Then exactly that setting is reported
    assert [difference.split(":")[0] for difference in differences] == [setting]

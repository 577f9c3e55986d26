"""template.yaml passes cfn-lint and the SAM transform, and holds the production settings."""

import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from devtools.sam_transform import STAGES, TransformError, load_sam, transform
from devtools.template import NO_VALUE, REPO_ROOT, TEMPLATE_PATH, Template

CFN_LINT = Path(sys.executable).with_name("cfn-lint")


def test_cfn_lint_reports_nothing() -> None:
    result = subprocess.run(
        [str(CFN_LINT), str(TEMPLATE_PATH)], capture_output=True, text=True, check=False, timeout=240
    )

    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("stage", STAGES)
def test_sam_transform_succeeds(stage: str) -> None:
    resources = transform(load_sam(), {"Stage": stage})["Resources"]

    assert sum(resource["Type"] == "AWS::Lambda::Function" for resource in resources.values()) == 4


def test_sam_transform_errors_are_raised() -> None:
    template = load_sam()
    del template["Resources"]["FanoutFunction"]["Properties"]["Events"]["EventsStream"]["Properties"][
        "Stream"
    ]

    with pytest.raises(TransformError, match="FanoutFunction"):
        transform(template, {"Stage": "dev"})


def test_powertools_layer_is_the_locked_version() -> None:
    locked = re.search(
        r'name = "aws-lambda-powertools"\nversion = "([^"]+)"', (REPO_ROOT / "uv.lock").read_text()
    )
    layer = load_sam()["Globals"]["Function"]["Layers"]["Fn::If"][2][0]["Fn::If"][2]

    assert locked is not None
    assert layer == f"{{{{resolve:ssm:/aws/service/powertools/python/arm64/python3.12/{locked.group(1)}}}}}"


@pytest.mark.parametrize("stage", ["dev", "prod"])
def test_deployed_tables_use_the_customer_managed_key_and_pitr(stage: str) -> None:
    tables = Template(stage).tables()

    for name, table in tables.items():
        assert table["BillingMode"] == "PAY_PER_REQUEST", name
        assert table["SSESpecification"] == {
            "SSEEnabled": True,
            "SSEType": "KMS",
            "KMSMasterKeyId": "DataKey",
        }
        if name != "IdempotencyTable":
            assert table["PointInTimeRecoverySpecification"] == {
                "PointInTimeRecoveryEnabled": True,
                "RecoveryPeriodInDays": 35,  # the RecoveryPeriodInDays parameter's default
            }, name


@pytest.mark.parametrize(
    ("stage", "protected"), [("local", False), ("dev", False), ("staging", False), ("prod", True)]
)
def test_deletion_protection_only_in_prod(stage: str, protected: bool) -> None:
    tables = Template(stage).tables()

    assert {table["DeletionProtectionEnabled"] for table in tables.values()} == {protected}


def test_local_stage_has_no_table_key_and_no_layer_but_keeps_the_secrets_key() -> None:
    template = Template("local")

    assert set(template.of_type("AWS::KMS::Key")) == {"SecretsKey"}
    assert template.resolve(template.raw["Globals"]["Function"]["Layers"]) is NO_VALUE
    assert template.tables()["EventsTable"]["SSESpecification"] == {"SSEEnabled": True}


def test_functions_run_python312_arm64_traced() -> None:
    function: dict[str, Any]
    for function in (
        resource["Properties"]
        for resource in transform(load_sam(), {"Stage": "prod"})["Resources"].values()
        if resource["Type"] == "AWS::Lambda::Function"
    ):
        assert function["Runtime"] == "python3.12"
        assert function["Architectures"] == ["arm64"]
        assert function["TracingConfig"] == {"Mode": "Active"}
        assert "LogGroup" in function["LoggingConfig"]


def test_outputs_name_the_api_tables_and_queues() -> None:
    outputs = set(load_sam()["Outputs"])

    assert {
        "ApiUrl",
        "EventsTableName",
        "SubscriptionsTableName",
        "DeliveriesTableName",
        "ApiKeysTableName",
    } <= outputs
    assert {"RetryQueueUrl", "DeliveryDLQUrl", "StreamDLQUrl", "IndexDLQUrl", "RetryQueueDLQUrl"} <= outputs

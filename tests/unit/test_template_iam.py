"""Least privilege in the deployed template (after the SAM transform).

Every function runs as its own role; no identity policy grants a wildcard action (`*`,
`dynamodb:*`, `sqs:Send*`); a `*` resource is allowed only for actions that have no resource-level
permissions. The KMS key policy is not an identity policy: its `kms:*` for the account root is
AWS's default statement that hands the key's use over to IAM (docs/decisions.md).
"""

import copy
from collections.abc import Iterator
from typing import Any

import pytest

from devtools.sam_transform import load_sam, transform

# Actions without resource-level permissions: `Resource: "*"` is the only form AWS accepts.
UNSCOPED_ACTIONS = {"xray:PutTraceSegments", "xray:PutTelemetryRecords", "dynamodb:ListStreams"}
NO_VALUE = {"Ref": "AWS::NoValue"}


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def statements(value: Any) -> Iterator[dict[str, Any]]:
    """Every statement of a policy document, both branches of an `Fn::If` included."""
    for item in as_list(value):
        if isinstance(item, dict) and "Fn::If" in item:
            _, when_true, when_false = item["Fn::If"]
            yield from statements([branch for branch in (when_true, when_false) if branch != NO_VALUE])
        else:
            yield item


def identity_policies(template: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """(where, statement) for every statement of every role's and identity policy's documents."""
    for name, resource in template["Resources"].items():
        properties = resource.get("Properties", {})
        if resource["Type"] == "AWS::IAM::Role":
            for policy in properties.get("Policies", []):
                for statement in statements(policy["PolicyDocument"]["Statement"]):
                    yield f"{name}/{policy['PolicyName']}", statement
        elif resource["Type"] in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy"):
            for statement in statements(properties["PolicyDocument"]["Statement"]):
                yield name, statement


def violations(template: dict[str, Any]) -> list[str]:
    problems = []
    for where, statement in identity_policies(template):
        if statement.get("Effect") != "Allow":
            continue
        if "NotAction" in statement or "NotResource" in statement:
            problems.append(f"{where}: NotAction/NotResource grants more than it names")
        actions = as_list(statement.get("Action", []))
        problems += [f"{where}: wildcard action {action!r}" for action in actions if "*" in action]
        if "*" in as_list(statement.get("Resource", [])):
            problems += [
                f"{where}: {action} on every resource" for action in actions if action not in UNSCOPED_ACTIONS
            ]
    for name, resource in template["Resources"].items():
        if resource["Type"] == "AWS::IAM::Role" and resource["Properties"].get("ManagedPolicyArns"):
            problems.append(f"{name}: managed policies grant more than the function uses")
    roles: dict[str, list[str]] = {}
    for name, resource in template["Resources"].items():
        if resource["Type"] == "AWS::Lambda::Function":
            role = resource["Properties"]["Role"]["Fn::GetAtt"][0]
            roles.setdefault(role, []).append(name)
    problems += [
        f"{role}: shared by {', '.join(sorted(users))}" for role, users in roles.items() if len(users) > 1
    ]
    return problems


@pytest.fixture(scope="module", params=["dev", "prod"])
def deployed(request: pytest.FixtureRequest) -> dict[str, Any]:
    return transform(load_sam(), {"Stage": request.param})


def test_deployed_template_is_least_privilege(deployed: dict[str, Any]) -> None:
    assert violations(deployed) == []


def test_every_function_has_its_own_role(deployed: dict[str, Any]) -> None:
    functions = [r for r in deployed["Resources"].values() if r["Type"] == "AWS::Lambda::Function"]
    roles = {function["Properties"]["Role"]["Fn::GetAtt"][0] for function in functions}

    assert len(functions) == 4
    assert len(roles) == 4


def with_statement(
    template: dict[str, Any], statement: dict[str, Any], role: str = "FanoutRole"
) -> dict[str, Any]:
    changed = copy.deepcopy(template)
    changed["Resources"][role]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"].append(statement)
    return changed


@pytest.mark.parametrize(
    ("action", "resource", "reported"),
    [
        ("dynamodb:*", {"Fn::GetAtt": ["EventsTable", "Arn"]}, "wildcard action 'dynamodb:*'"),
        ("*", {"Fn::GetAtt": ["EventsTable", "Arn"]}, "wildcard action '*'"),
        ("sqs:Send*", {"Fn::GetAtt": ["StreamDLQ", "Arn"]}, "wildcard action 'sqs:Send*'"),
        ("dynamodb:GetItem", "*", "dynamodb:GetItem on every resource"),
    ],
)
def test_a_wildcard_grant_is_reported(
    deployed: dict[str, Any], action: str, resource: Any, reported: str
) -> None:
    changed = with_statement(deployed, {"Effect": "Allow", "Action": [action], "Resource": resource})

    assert violations(changed) == [f"FanoutRole/fanout: {reported}"]


def test_a_wildcard_inside_a_condition_is_reported(deployed: dict[str, Any]) -> None:
    conditional = {
        "Fn::If": [
            "IsDeployed",
            {"Effect": "Allow", "Action": "kms:*", "Resource": "arn:aws:kms:x"},
            NO_VALUE,
        ]
    }

    assert violations(with_statement(deployed, conditional)) == ["FanoutRole/fanout: wildcard action 'kms:*'"]


def test_a_shared_role_is_reported(deployed: dict[str, Any]) -> None:
    changed = copy.deepcopy(deployed)
    changed["Resources"]["RetryFunction"]["Properties"]["Role"] = {"Fn::GetAtt": ["FanoutRole", "Arn"]}

    assert violations(changed) == ["FanoutRole: shared by FanoutFunction, RetryFunction"]


def test_a_managed_policy_is_reported(deployed: dict[str, Any]) -> None:
    changed = copy.deepcopy(deployed)
    changed["Resources"]["IndexerRole"]["Properties"]["ManagedPolicyArns"] = [
        "arn:aws:iam::aws:policy/service-role/AWSLambdaDynamoDBExecutionRole"
    ]

    assert violations(changed) == ["IndexerRole: managed policies grant more than the function uses"]

"""Every AWS call a function makes in the suites is one its role in template.yaml allows.

moto does not enforce IAM, so a permission missing from a function's role would only show on a
deployed stack (AccessDenied on the first batch). The suites' embedded stacks record each call
the in-process functions make (`invoked_function` names the function, as the local host sets
it), as IAM sees it: the action (`TransactWriteItems` is one action per item, `BatchWriteItem` is
its own) and the resource (a table, its index or stream, a queue, a key). At the end of the
session each recorded access is checked against the role's statements and, for KMS, the key
policy. Calls made by the local ESM runner itself (polling) and by test code are not recorded.
"""

import fnmatch
import threading
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import boto3

from devtools.runner.lambda_context import invoked_function
from devtools.template import Tag, Template


@dataclass(frozen=True)
class Access:
    function: str  # physical function name
    action: str  # e.g. "dynamodb:PutItem"
    resource: str  # logical id, with "/index/<name>" or "/stream" where IAM distinguishes them


def _dynamodb_accesses(operation: str, params: Mapping[str, Any]) -> Iterator[tuple[str, str]]:
    if operation == "TransactWriteItems":
        kinds = {
            "Put": "PutItem",
            "Update": "UpdateItem",
            "Delete": "DeleteItem",
            "ConditionCheck": "ConditionCheckItem",
        }
        for item in params.get("TransactItems", []):
            ((kind, body),) = item.items()
            yield kinds[kind], body["TableName"]
    elif operation == "TransactGetItems":
        for item in params.get("TransactItems", []):
            yield "GetItem", item["Get"]["TableName"]
    elif operation in ("BatchGetItem", "BatchWriteItem"):
        for table in params.get("RequestItems", {}):
            yield operation, table
    elif "TableName" in params:
        table = params["TableName"]
        yield operation, f"{table}/index/{params['IndexName']}" if "IndexName" in params else table


def accesses(service: str, operation: str, params: Mapping[str, Any]) -> Iterator[tuple[str, str]]:
    """(action, physical resource) pairs IAM authorises for one API call."""
    if service == "dynamodb":
        for action, resource in _dynamodb_accesses(operation, params):
            yield f"dynamodb:{action}", resource
    elif service == "sqs":
        # SendMessageBatch / DeleteMessageBatch are authorised as their single-message actions.
        action = operation.removesuffix("Batch")
        queue = params.get("QueueName") or str(params.get("QueueUrl", "*")).rstrip("/").rsplit("/", 1)[-1]
        yield f"sqs:{action}", queue
    elif service == "kms":
        yield f"kms:{operation}", str(params.get("KeyId", "*"))
    else:
        yield f"{service}:{operation}", "*"


class AccessRecorder:
    """Records the accesses of calls made inside an invoked function, from any boto3 client
    created after `attach` on the default session (clients copy its event hooks when created)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.accesses: set[Access] = set()

    def attach(self) -> None:
        boto3._get_default_session().events.register("before-parameter-build", self._record)

    def _record(self, params: Mapping[str, Any], model: Any, **_: Any) -> None:
        function = invoked_function.get()
        if function is None:
            return
        service = model.service_model.endpoint_prefix
        found = {
            Access(function, action, resource) for action, resource in accesses(service, model.name, params)
        }
        with self._lock:
            self.accesses |= found


# --- the template's side ------------------------------------------------------------------------


def _listed(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _deployed(statements: Iterable[Any]) -> Iterator[dict[str, Any]]:
    """Statements as deployed: `!If [IsDeployed, statement, NoValue]` taken on its true branch."""
    for statement in statements:
        if isinstance(statement, Tag) and statement.name == "If":
            _, when_true, _ = statement.value
            if isinstance(when_true, dict):
                yield when_true
        elif isinstance(statement, dict):
            yield statement


def _resource_pattern(resource: Any) -> str:
    """A statement's resource as a pattern over `Access.resource` (logical ids)."""
    if resource == "*":
        return "*"
    if isinstance(resource, Tag) and resource.name == "GetAtt":
        logical, _, attribute = str(resource.value).partition(".")
        return f"{logical}/stream" if attribute == "StreamArn" else logical
    if isinstance(resource, Tag) and resource.name == "Sub" and isinstance(resource.value, str):
        text = resource.value
        if text.startswith("${") and ".Arn}" in text:
            logical = text[2 : text.index(".Arn}")]
            return logical + text[text.index(".Arn}") + len(".Arn}") :]
    return f"<unresolved {resource!r}>"


def _allows(statement: Mapping[str, Any], action: str, resource: str) -> bool:
    if statement.get("Effect") != "Allow":
        return False
    if not any(fnmatch.fnmatchcase(action, pattern) for pattern in _listed(statement.get("Action", []))):
        return False
    return any(
        fnmatch.fnmatchcase(resource, _resource_pattern(r)) for r in _listed(statement.get("Resource", []))
    )


class Permissions:
    """The template's roles and key policies, for the deployed stage."""

    def __init__(self, template: Template) -> None:
        self.template = template
        resources = template.resources
        self.logical_of: dict[str, str] = {}
        for logical, body in resources.items():
            kind = body.get("Type")
            if kind in ("AWS::DynamoDB::Table", "AWS::SQS::Queue", "AWS::Serverless::Function"):
                self.logical_of[template.physical_name(logical)] = logical
            elif kind == "AWS::KMS::Alias":
                properties = body["Properties"]
                target = properties["TargetKeyId"]
                if isinstance(target, Tag) and target.name == "Ref":
                    self.logical_of[str(template.resolve(properties["AliasName"]))] = str(target.value)

    def _logical_resource(self, physical: str) -> str:
        table, sep, rest = physical.partition("/")
        if physical.startswith("alias/"):
            return self.logical_of.get(physical, physical)
        return self.logical_of.get(table, table) + (sep + rest if sep else "")

    def _role_of(self, function: str) -> str:
        role = self.template.resources[self.logical_of[function]]["Properties"]["Role"]
        assert isinstance(role, Tag) and role.name == "GetAtt", f"{function}: role {role!r}"
        return str(role.value).split(".")[0]

    def _role_statements(self, role: str) -> Iterator[dict[str, Any]]:
        for policy in self.template.resources[role]["Properties"].get("Policies", []):
            yield from _deployed(policy["PolicyDocument"]["Statement"])

    def _key_policy_allows(self, key: str, role: str, action: str) -> bool:
        body = self.template.resources.get(key, {})
        if body.get("Type") != "AWS::KMS::Key":
            return False
        for statement in _deployed(body["Properties"]["KeyPolicy"]["Statement"]):
            principals = _listed(statement.get("Principal", {}).get("AWS", []))
            named = any(isinstance(p, Tag) and str(p.value) == f"{role}.Arn" for p in principals)
            actions = _listed(statement.get("Action", []))
            if (
                named
                and statement.get("Effect") == "Allow"
                and any(fnmatch.fnmatchcase(action, a) for a in actions)
            ):
                return True
        return False

    def denied(self, recorded: Iterable[Access]) -> list[str]:
        """Each recorded access no statement allows, described for a failure message."""
        problems = []
        for access in sorted(recorded, key=lambda a: (a.function, a.action, a.resource)):
            if access.function not in self.logical_of:
                continue  # a function the suites made up (tests/handlers), not the template's
            role = self._role_of(access.function)
            resource = self._logical_resource(access.resource)
            allowed = any(_allows(s, access.action, resource) for s in self._role_statements(role))
            if access.action.startswith("kms:"):
                allowed = allowed or self._key_policy_allows(resource, role, access.action)
            if not allowed:
                problems.append(f"{access.function} ({role}): {access.action} on {resource}")
        return problems

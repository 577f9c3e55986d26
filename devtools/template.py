"""Read template.yaml: the one source of truth for resources and their settings.

Intrinsics are resolved for a given stage with just enough CloudFormation to name things
(`!Ref` to parameters and resources, `!Sub` in both forms, `!GetAtt ... .Arn/.StreamArn`,
conditions) so that tests, the local resources (devtools/resources.py) and the local ESM runner
read the same values AWS deploys.
"""

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

REPO_ROOT = Path(__file__).resolve().parent.parent
TEMPLATE_PATH = REPO_ROOT / "template.yaml"
REGION = "us-east-1"
ACCOUNT_ID = "000000000000"
PSEUDO_PARAMETERS = {
    "AWS::Region": REGION,
    "AWS::AccountId": ACCOUNT_ID,
    "AWS::Partition": "aws",
    "AWS::URLSuffix": "amazonaws.com",
}


# What `!Ref AWS::NoValue` resolves to: the property or list item is left out.
NO_VALUE = object()


@dataclass(frozen=True)
class Tag:
    """An unresolved CloudFormation intrinsic such as `!Ref X` or `!Sub "..."`."""

    name: str
    value: Any


class _Loader(yaml.SafeLoader):
    pass


def _construct_tag(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> Tag:
    value: Any
    if isinstance(node, yaml.ScalarNode):
        value = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)  # type: ignore[arg-type]
    return Tag(suffix, value)


_Loader.add_multi_constructor("!", _construct_tag)


@lru_cache(maxsize=4)
def load_raw(path: Path = TEMPLATE_PATH) -> dict[str, Any]:
    with path.open() as handle:
        return yaml.load(handle, Loader=_Loader)  # noqa: S506 - SafeLoader subclass


class Template:
    """template.yaml with intrinsics resolved for one stage."""

    def __init__(
        self, stage: str = "local", path: Path = TEMPLATE_PATH, aws_endpoint: str = "http://localhost:4566"
    ) -> None:
        self.stage = stage
        self.aws_endpoint = aws_endpoint.rstrip("/")
        self.raw = load_raw(path)
        self.resources: dict[str, Any] = self.raw["Resources"]
        # Defaults keep their YAML type (a Number parameter resolves to a number, as in CloudFormation).
        self.parameters: dict[str, Any] = {
            name: spec.get("Default", "") for name, spec in self.raw.get("Parameters", {}).items()
        }
        self.parameters["Stage"] = stage

    def resolve(self, value: Any) -> Any:
        """The value with intrinsics resolved; `!Ref AWS::NoValue` drops its key or list item."""
        if isinstance(value, Tag):
            return self._intrinsic(value)
        if isinstance(value, dict):
            if len(value) == 1:
                ((key, inner),) = value.items()
                if key == "Ref" or key.startswith("Fn::"):
                    return self._intrinsic(Tag(key.removeprefix("Fn::"), inner))
            resolved = {key: self.resolve(inner) for key, inner in value.items()}
            return {key: inner for key, inner in resolved.items() if inner is not NO_VALUE}
        if isinstance(value, list):
            return [item for item in map(self.resolve, value) if item is not NO_VALUE]
        return value

    def _intrinsic(self, tag: Tag) -> Any:
        if tag.name == "Ref":
            return self.ref(tag.value)
        if tag.name == "Sub":
            text, variables = tag.value if isinstance(tag.value, list) else (tag.value, {})
            values = {name: self.resolve(value) for name, value in variables.items()}
            return re.sub(
                r"\$\{([^}]+)\}",
                lambda match: str(
                    values[match.group(1)] if match.group(1) in values else self._sub_var(match.group(1))
                ),
                text,
            )
        if tag.name == "GetAtt":
            target, attribute = tag.value.split(".", 1) if isinstance(tag.value, str) else tag.value
            return self.get_att(target, attribute)
        if tag.name == "Equals":
            left, right = (str(self.resolve(part)) for part in tag.value)
            return left == right
        if tag.name == "If":
            condition, when_true, when_false = tag.value
            return self.resolve(when_true if self.condition(condition) else when_false)
        if tag.name == "Not":
            return not self.resolve(tag.value[0])
        if tag.name == "And":
            return all(self.resolve(part) for part in tag.value)
        if tag.name == "Or":
            return any(self.resolve(part) for part in tag.value)
        if tag.name == "Condition":
            return self.condition(tag.value)
        raise ValueError(f"unsupported intrinsic !{tag.name} in template.yaml")

    def _sub_var(self, name: str) -> Any:
        if name.startswith("AWS::"):
            return PSEUDO_PARAMETERS[name]
        if "." in name:
            target, attribute = name.split(".", 1)
            return self.get_att(target, attribute)
        return self.ref(name)

    def condition(self, name: str) -> bool:
        return bool(self.resolve(self.raw.get("Conditions", {})[name]))

    def ref(self, name: str) -> Any:
        if name == "AWS::NoValue":
            return NO_VALUE
        if name in PSEUDO_PARAMETERS:
            return PSEUDO_PARAMETERS[name]
        if name in self.parameters:
            return self.parameters[name]
        resource = self.resources[name]
        properties = resource.get("Properties", {})
        for key in (
            "TableName",
            "QueueName",
            "FunctionName",
            "LogGroupName",
            "DomainName",
            "TopicName",
            "AliasName",
        ):
            if key in properties:
                value = self.resolve(properties[key])
                if resource["Type"] == "AWS::SQS::Queue":
                    return f"{self.aws_endpoint}/{ACCOUNT_ID}/{value}"
                if resource["Type"] == "AWS::SNS::Topic":
                    return f"arn:aws:sns:{REGION}:{ACCOUNT_ID}:{value}"
                return str(value)
        return name

    def get_att(self, name: str, attribute: str) -> str:
        resource = self.resources[name]
        kind = resource["Type"]
        physical = self.physical_name(name)
        if kind == "AWS::DynamoDB::Table":
            arn = f"arn:aws:dynamodb:{REGION}:{ACCOUNT_ID}:table/{physical}"
            return arn + "/stream/*" if attribute == "StreamArn" else arn
        if kind == "AWS::SQS::Queue":
            return {"Arn": f"arn:aws:sqs:{REGION}:{ACCOUNT_ID}:{physical}", "QueueName": physical}[attribute]
        if kind == "AWS::Serverless::Function":
            return f"arn:aws:lambda:{REGION}:{ACCOUNT_ID}:function:{physical}"
        if kind == "AWS::Logs::LogGroup":
            return f"arn:aws:logs:{REGION}:{ACCOUNT_ID}:log-group:{physical}:*"
        if kind == "AWS::OpenSearchService::Domain":
            if attribute == "Arn":
                return f"arn:aws:es:{REGION}:{ACCOUNT_ID}:domain/{physical}"
            return f"{physical}.{REGION}.opensearch.localhost.localstack.cloud:4566"
        return f"{name}.{attribute}"

    def physical_name(self, name: str) -> str:
        properties = self.resources[name].get("Properties", {})
        for key in (
            "TableName",
            "QueueName",
            "FunctionName",
            "DomainName",
            "TopicName",
            "AlarmName",
            "LogGroupName",
        ):
            if key in properties:
                return str(self.resolve(properties[key]))
        return name

    def exists(self, name: str) -> bool:
        """Whether the resource is created for this stage (its `Condition`, if any, holds)."""
        condition = self.resources[name].get("Condition")
        return condition is None or self.condition(condition)

    def of_type(self, kind: str) -> dict[str, dict[str, Any]]:
        """Resources of one type created for this stage, with resolved properties, by logical id."""
        return {
            name: self.resolve(resource.get("Properties", {}))
            for name, resource in self.resources.items()
            if resource["Type"] == kind and self.exists(name)
        }

    def tables(self) -> dict[str, dict[str, Any]]:
        return self.of_type("AWS::DynamoDB::Table")

    def function_environment(self, name: str) -> dict[str, str]:
        """A function's environment: Globals first, then its own variables."""
        global_env = (
            self.raw.get("Globals", {}).get("Function", {}).get("Environment", {}).get("Variables", {})
        )
        own = self.resources[name].get("Properties", {}).get("Environment", {}).get("Variables", {})
        return {key: str(self.resolve(value)) for key, value in {**global_env, **own}.items()}

    def function_setting(self, name: str, key: str) -> Any:
        own = self.resources[name].get("Properties", {})
        if key in own:
            return self.resolve(own[key])
        return self.resolve(self.raw.get("Globals", {}).get("Function", {}).get(key))

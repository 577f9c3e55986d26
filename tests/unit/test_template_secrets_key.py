"""Who may use the secrets key, as the deployed template (after the SAM transform) says.

Only the functions that sign (fanout, retry) may decrypt signing secrets, and only under an
owner's encryption context; the API function encrypts only; the account administers the key but
holds no decrypting permission that an IAM policy could pass on.
"""

import copy
import fnmatch
from collections.abc import Iterator
from typing import Any

import pytest

from devtools.sam_transform import load_sam, transform
from tests.unit.test_template_iam import as_list, identity_policies

KEY = "SecretsKey"
SECRETS_KEY_ARN = {"Fn::GetAtt": [KEY, "Arn"]}
# Actions that yield a plaintext credential from a ciphertext (ReEncrypt to a key one controls).
REVEALING = ("kms:Decrypt", "kms:ReEncryptFrom", "kms:ReEncryptTo")
CONTEXT = {
    "Null": {"kms:EncryptionContext:tenant_id": "false", "kms:EncryptionContext:subscription_id": "false"}
}
ROOT = {"Fn::Sub": "arn:${AWS::Partition}:iam::${AWS::AccountId}:root"}


def grants(statement: dict[str, Any], action: str) -> bool:
    return any(fnmatch.fnmatchcase(action, pattern) for pattern in as_list(statement.get("Action", [])))


def key_statements(template: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield from template["Resources"][KEY]["Properties"]["KeyPolicy"]["Statement"]


def revealers(template: dict[str, Any]) -> list[Any]:
    """Every principal the key policy allows an action that reveals a secret."""
    return [
        principal
        for statement in key_statements(template)
        if statement["Effect"] == "Allow" and any(grants(statement, action) for action in REVEALING)
        for principal in as_list(statement["Principal"]["AWS"])
    ]


@pytest.fixture(scope="module", params=["dev", "prod"])
def deployed(request: pytest.FixtureRequest) -> dict[str, Any]:
    return transform(load_sam(), {"Stage": request.param})


def test_only_the_fanout_and_retry_roles_may_decrypt(deployed: dict[str, Any]) -> None:
    assert revealers(deployed) == [
        {"Fn::GetAtt": ["FanoutRole", "Arn"]},
        {"Fn::GetAtt": ["RetryRole", "Arn"]},
    ]


def test_decrypt_and_encrypt_require_an_owners_encryption_context(deployed: dict[str, Any]) -> None:
    using = [
        statement
        for statement in key_statements(deployed)
        if grants(statement, "kms:Decrypt") or grants(statement, "kms:Encrypt")
    ]

    assert len(using) == 2
    assert all(statement["Condition"] == CONTEXT for statement in using)


def test_the_account_administers_the_key_without_being_able_to_decrypt(deployed: dict[str, Any]) -> None:
    root = [statement for statement in key_statements(deployed) if statement["Principal"]["AWS"] == ROOT]

    assert any(grants(statement, "kms:PutKeyPolicy") for statement in root)
    assert any(grants(statement, "kms:ScheduleKeyDeletion") for statement in root)
    assert not any(grants(statement, action) for statement in root for action in REVEALING)


def test_no_identity_policy_grants_use_of_the_key_beyond_the_apis_encrypt(deployed: dict[str, Any]) -> None:
    on_key = [
        (where.split("/")[0], action)
        for where, statement in identity_policies(deployed)
        if SECRETS_KEY_ARN in as_list(statement.get("Resource")) or "*" in as_list(statement.get("Resource"))
        for action in as_list(statement["Action"])
        if action.startswith("kms:")
    ]

    assert on_key == [("IngestRole", "kms:Encrypt")]


def test_the_signing_functions_and_the_api_name_the_key_by_its_alias(deployed: dict[str, Any]) -> None:
    environments = {
        name: resource["Properties"]["Environment"]["Variables"]
        for name, resource in deployed["Resources"].items()
        if resource["Type"] == "AWS::Lambda::Function"
    }

    assert {
        name: variables["SECRETS_KEY_ID"]
        for name, variables in environments.items()
        if "SECRETS_KEY_ID" in variables
    } == {name: {"Ref": "SecretsKeyAlias"} for name in ("IngestFunction", "FanoutFunction", "RetryFunction")}


def test_a_root_statement_that_could_decrypt_is_reported(deployed: dict[str, Any]) -> None:
    # The check is only as good as its reading of wildcards: `kms:*` or `kms:Re*` on root counts.
    for action in ("kms:*", "kms:Re*"):
        changed = copy.deepcopy(deployed)
        changed["Resources"][KEY]["Properties"]["KeyPolicy"]["Statement"][0]["Action"].append(action)

        assert ROOT in revealers(changed)

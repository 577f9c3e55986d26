"""Who may do what on the OpenSearch domain, and where its logs go (template.yaml).

The domain's access policy names exactly the ingest and indexer roles, each allowed the requests
its code sends and nothing else; the roles' own policies grant the same. The requests are not
assumed: the ingest search and the indexer run against osmem-server here and every request they
send is checked against the grants, and every grant must be used by one of them.
"""

import json
import re
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest
from opensearchpy import OpenSearch
from osmem_server import OsmemClone

from devtools.resources import read_resources
from devtools.template import ACCOUNT_ID, REGION, Template
from ingest import search
from ingest.core.events_table import EventItem, EventQuery
from ingest.core.ids import isoformat, new_event_id
from processors.indexer.index import TEMPLATE_PATH, versioned_index
from processors.indexer.indexing import _ensure_index_once, index_batch
from tests.streams import stream_record

DEPLOYED = ["dev", "prod"]
INGEST, INDEXER = "IngestRole.Arn", "IndexerRole.Arn"  # how Template resolves `!GetAtt <role>.Arn`
Grant = tuple[str, str]  # (action, resource)


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def iam_matches(pattern: str, value: str) -> bool:
    """IAM's wildcard match: `*` any run of characters (`/` included), `?` any one."""
    regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.fullmatch(regex, value) is not None


def alias(template: Template) -> str:
    return str(
        template.resolve(template.raw["Globals"]["Function"]["Environment"]["Variables"]["INDEX_ALIAS"])
    )


def domain_arn(domain: str) -> str:
    return f"arn:aws:es:{REGION}:{ACCOUNT_ID}:domain/{domain}"


def expected_grants(domain: str, index_alias: str) -> dict[str, set[Grant]]:
    arn = domain_arn(domain)
    return {
        INGEST: {("es:ESHttpPost", f"{arn}/{index_alias}/_search")},
        INDEXER: {
            ("es:ESHttpHead", f"{arn}/_alias/{index_alias}"),
            ("es:ESHttpPut", f"{arn}/_index_template/{index_alias}"),
            ("es:ESHttpPut", f"{arn}/{index_alias}-v*"),
            ("es:ESHttpPut", f"{arn}/{index_alias}/_mapping"),
            ("es:ESHttpPost", f"{arn}/{index_alias}/_bulk"),
        },
    }


def domain_grants(template: Template) -> dict[str, set[Grant]]:
    """Principal -> (action, resource) the domain's access policy allows."""
    (domain,) = template.of_type("AWS::OpenSearchService::Domain").values()
    grants: dict[str, set[Grant]] = {}
    for statement in domain["AccessPolicies"]["Statement"]:
        assert statement["Effect"] == "Allow"
        assert set(statement) <= {"Sid", "Effect", "Principal", "Action", "Resource"}
        for principal in as_list(statement["Principal"]["AWS"]):
            grants.setdefault(principal, set()).update(
                (action, resource)
                for action in as_list(statement["Action"])
                for resource in as_list(statement["Resource"])
            )
    return grants


def role_grants(template: Template, role: str) -> set[Grant]:
    """(action, resource) of the `es:` actions a role's own policies allow."""
    properties = template.resolve(template.resources[role]["Properties"])
    return {
        (action, resource)
        for policy in properties["Policies"]
        for statement in policy["PolicyDocument"]["Statement"]
        for action in as_list(statement["Action"])
        if action.startswith("es:")
        for resource in as_list(statement["Resource"])
    }


@pytest.mark.parametrize("stage", DEPLOYED)
def test_the_domain_policy_names_exactly_the_two_roles_and_what_each_may_do(stage: str) -> None:
    template = Template(stage)

    assert domain_grants(template) == expected_grants(f"triggers-{stage}", alias(template))


@pytest.mark.parametrize("stage", DEPLOYED)
def test_each_role_grants_itself_what_the_domain_allows_it_and_no_other_role_any(stage: str) -> None:
    template = Template(stage)
    expected = expected_grants(f"triggers-{stage}", alias(template))

    assert role_grants(template, "IngestRole") == expected[INGEST]
    assert role_grants(template, "IndexerRole") == expected[INDEXER]
    assert role_grants(template, "FanoutRole") == set()
    assert role_grants(template, "RetryRole") == set()


def test_roles_name_an_existing_domain_when_the_template_creates_none() -> None:
    # Given an existing domain instead of the template's
    template = Template("prod")
    template.parameters |= {
        "OpenSearchEndpoint": "https://search-shared.example",
        "OpenSearchDomainName": "shared",
    }

    # Then the roles name that domain (its owner adds the stack's IngestRoleArn/IndexerRoleArn
    # outputs to its access policy), and no domain, log group or log policy is created
    expected = expected_grants("shared", alias(template))
    assert role_grants(template, "IngestRole") == expected[INGEST]
    assert role_grants(template, "IndexerRole") == expected[INDEXER]
    for kind in ("AWS::OpenSearchService::Domain", "AWS::Logs::ResourcePolicy"):
        assert template.of_type(kind) == {}
    assert not [name for name in template.of_type("AWS::Logs::LogGroup") if name.startswith("Search")]


@pytest.mark.parametrize("stage", DEPLOYED)
def test_bulk_bodies_may_not_name_an_index(stage: str) -> None:
    # Otherwise `POST events/_bulk` could write to any index named in its body (AWS: "Advanced
    # options and API considerations" in the OpenSearch Service access control guide).
    (domain,) = Template(stage).of_type("AWS::OpenSearchService::Domain").values()

    assert domain["AdvancedOptions"]["rest.action.multi.allow_explicit_index"] == "false"


# --- the requests the code sends ---------------------------------------------------------------


class Recorder:
    """Records the method, path and body of every request an opensearch-py client sends."""

    def __init__(self, client: OpenSearch) -> None:
        self.requests: list[tuple[str, str, Any]] = []
        send = client.transport.perform_request

        def perform_request(method: str, url: str, *args: Any, **kwargs: Any) -> Any:
            self.requests.append((method, url.split("?", 1)[0], kwargs.get("body")))
            return send(method, url, *args, **kwargs)

        client.transport.perform_request = perform_request  # type: ignore[method-assign]

    def grants(self, domain: str) -> set[Grant]:
        """Each request as the (action, resource) IAM authorizes it as."""
        return {
            (f"es:ESHttp{method.capitalize()}", f"{domain_arn(domain)}{path}")
            for method, path, _ in self.requests
        }


def event_item(**fields: Any) -> EventItem:
    now = datetime.now(UTC)
    values: dict[str, Any] = {
        "tenant_id": "t-policy",
        "event_id": new_event_id(now),
        "event_type": "order.created",
        "source": "shop",
        "occurred_at": isoformat(now),
        "received_at": isoformat(now),
        "payload": '{"order": 42}',
        "expires_at": int(now.timestamp()) + 86400,
    }
    return EventItem.model_validate({**values, **fields})


@pytest.fixture
def recorded(osmem_clone: OsmemClone, aws: None) -> Iterator[Callable[[], OpenSearch]]:
    """Fresh recording clients of an empty osmem, the indexer's cold-start state cleared."""
    _ensure_index_once.cache_clear()
    yield lambda: OpenSearch(hosts=[osmem_clone.url])
    _ensure_index_once.cache_clear()


def index(client: OpenSearch, *records: dict[str, Any]) -> None:
    sqs = boto3.client("sqs")
    dlq = sqs.create_queue(QueueName="triggers-test-index-dlq")["QueueUrl"]
    outcome = index_batch(list(records), client, sqs, alias(Template("dev")), dlq)
    assert outcome.counts["deferred"] == outcome.counts["rejected"] == 0


def test_what_the_indexer_and_the_search_send_is_exactly_what_their_roles_may_do(
    recorded: Callable[[], OpenSearch],
) -> None:
    template = Template("dev")
    index_alias, domain = alias(template), "triggers-dev"
    allowed = domain_grants(template)
    indexer, ingest = recorded(), recorded()
    indexer_log, ingest_log = Recorder(indexer), Recorder(ingest)
    item = event_item()

    # When the indexer starts cold (creates template, index, alias), indexes, starts cold again (the
    # alias exists: it updates the mapping), updates and deletes, and ingest searches before and after
    search.search_events(ingest, index_alias, item.tenant_id, "order", EventQuery())
    index(indexer, stream_record("INSERT", item))
    _ensure_index_once.cache_clear()
    index(
        indexer, stream_record("MODIFY", item.model_copy(update={"rev": item.rev + 1, "status": "delivered"}))
    )
    page = search.search_events(ingest, index_alias, item.tenant_id, "order", EventQuery())
    index(indexer, stream_record("REMOVE", item))

    # Then each request is one its role's grants allow, and each grant serves a request
    assert [found.event_id for found in page.items] == [item.event_id]
    for role, log in ((INDEXER, indexer_log), (INGEST, ingest_log)):
        sent = log.grants(domain)
        for action, resource in sent:
            assert any(
                action == granted and iam_matches(pattern, resource) for granted, pattern in allowed[role]
            ), f"{role} sends {action} {resource}, which its grants do not allow"
        for granted, pattern in allowed[role]:
            assert any(action == granted and iam_matches(pattern, resource) for action, resource in sent), (
                f"{role} is granted {granted} {pattern} and never uses it"
            )


def test_the_indexers_bulk_bodies_name_no_index(recorded: Callable[[], OpenSearch]) -> None:
    client = recorded()
    log = Recorder(client)
    item = event_item()

    index(client, stream_record("INSERT", item), stream_record("REMOVE", item))

    bulks = [body for method, path, body in log.requests if path.endswith("/_bulk")]
    lines = [json.loads(line) for body in bulks for line in str(body).splitlines() if line.strip()]
    actions = [
        next(iter(line.values())) for line in lines if set(line) <= {"index", "delete", "create", "update"}
    ]
    assert len(bulks) == 1 and len(actions) == 2
    assert all("_index" not in action for action in actions)


# --- logs ----------------------------------------------------------------------------------------

LOG_TYPES = {
    "SEARCH_SLOW_LOGS": "search-slow",
    "INDEX_SLOW_LOGS": "index-slow",
    "ES_APPLICATION_LOGS": "errors",
}


def log_group_arn(stage: str, suffix: str) -> str:
    return f"arn:aws:logs:{REGION}:{ACCOUNT_ID}:log-group:/aws/opensearch/triggers-{stage}/{suffix}"


@pytest.mark.parametrize("stage", ["local", *DEPLOYED])
def test_slow_and_error_logs_go_to_their_log_groups_kept_like_the_functions_logs(stage: str) -> None:
    template = Template(stage)
    (domain,) = template.of_type("AWS::OpenSearchService::Domain").values()
    groups = {
        template.get_att(name, "Arn"): properties
        for name, properties in template.of_type("AWS::Logs::LogGroup").items()
    }

    published = domain["LogPublishingOptions"]

    assert set(published) == set(LOG_TYPES)
    for log_type, suffix in LOG_TYPES.items():
        assert published[log_type]["Enabled"] is True
        group = groups[published[log_type]["CloudWatchLogsLogGroupArn"]]
        assert group["LogGroupName"] == f"/aws/opensearch/triggers-{stage}/{suffix}"
        assert group["RetentionInDays"] == template.parameters["LogRetentionDays"]
        # Search slow logs hold the search text: the data key on deployed stages (none locally).
        assert group.get("KmsKeyId") == (None if stage == "local" else "DataKey.Arn")


@pytest.mark.parametrize("stage", DEPLOYED)
def test_only_this_domain_may_write_to_its_log_groups(stage: str) -> None:
    template = Template(stage)
    (policy,) = template.of_type("AWS::Logs::ResourcePolicy").values()

    (statement,) = json.loads(policy["PolicyDocument"])["Statement"]

    assert statement["Principal"] == {"Service": "es.amazonaws.com"}
    assert sorted(statement["Action"]) == ["logs:CreateLogStream", "logs:PutLogEvents"]
    assert statement["Condition"] == {
        "StringEquals": {"aws:SourceAccount": ACCOUNT_ID},
        "ArnLike": {"aws:SourceArn": domain_arn(f"triggers-{stage}")},
    }
    for suffix in LOG_TYPES.values():
        assert iam_matches(statement["Resource"], f"{log_group_arn(stage, suffix)}:log-stream:node-1")
    assert not iam_matches(
        statement["Resource"], f"arn:aws:logs:{REGION}:{ACCOUNT_ID}:log-group:/aws/lambda/x"
    )
    assert template.resources["SearchDomain"]["DependsOn"] == "SearchLogsResourcePolicy"


@pytest.mark.parametrize("stage", DEPLOYED)
def test_cloudwatch_logs_may_use_the_data_key_for_the_search_log_groups_only(stage: str) -> None:
    template = Template(stage)
    keys = template.of_type("AWS::KMS::Key")
    (statement,) = [
        s
        for s in keys["DataKey"]["KeyPolicy"]["Statement"]
        if s["Sid"] == "CloudWatchLogsEncryptsTheSearchLogs"
    ]

    pattern = statement["Condition"]["ArnLike"]["kms:EncryptionContext:aws:logs:arn"]

    assert statement["Principal"] == {"Service": f"logs.{REGION}.amazonaws.com"}
    other_keys = [key for name, key in keys.items() if name != "DataKey"]
    assert not [
        s
        for key in other_keys
        for s in key["KeyPolicy"]["Statement"]
        if s["Principal"] == statement["Principal"]
    ]
    assert all(iam_matches(pattern, log_group_arn(stage, suffix)) for suffix in LOG_TYPES.values())
    assert not iam_matches(
        pattern, f"arn:aws:logs:{REGION}:{ACCOUNT_ID}:log-group:/aws/lambda/triggers-{stage}-ingest"
    )


def test_indices_log_slow_searches_and_writes_but_no_document() -> None:
    settings = json.loads(TEMPLATE_PATH.read_text())["template"]["settings"]

    assert settings["index.search.slowlog.threshold.query.warn"] == "1s"
    assert settings["index.search.slowlog.threshold.query.info"] == "200ms"
    assert settings["index.indexing.slowlog.threshold.index.warn"] == "1s"
    # An indexing slow log line would otherwise carry the document's payload.
    assert settings["index.indexing.slowlog.source"] == "false"


def test_the_index_the_indexer_creates_has_the_slow_log_thresholds(
    recorded: Callable[[], OpenSearch],
) -> None:
    client = recorded()

    index(client, stream_record("INSERT", event_item()))

    created = client.indices.get_settings(index=versioned_index(alias(Template("dev"))))
    (settings,) = created.values()
    assert settings["settings"]["index"]["indexing"]["slowlog"]["source"] == "false"
    assert settings["settings"]["index"]["search"]["slowlog"]["threshold"]["query"]["warn"] == "1s"


# --- local stacks ------------------------------------------------------------------------------


def test_local_stacks_create_the_log_groups_and_the_domain_without_its_access_policy() -> None:
    # LocalStack's free tier enforces no IAM and has one shared role: the policy's roles do not exist there.
    resources = read_resources(Template("local"))

    assert resources.domain is not None
    assert "AccessPolicies" not in resources.domain
    assert resources.domain["AdvancedOptions"] == {"rest.action.multi.allow_explicit_index": "false"}
    assert [group.name for group in resources.domain_log_groups] == [
        f"/aws/opensearch/triggers-local/{suffix}" for suffix in LOG_TYPES.values()
    ]

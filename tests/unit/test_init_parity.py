"""template.yaml, the LocalStack init scripts and the local ESM runner agree on every resource.

The scripts run against a recording `awslocal` (tests/recording_awslocal.py), so no stack is
needed; the runner's view is devtools.runner.mappings.load_mappings, what it polls and invokes with.
The live describe-table comparison is tests/integration/test_table_parity.py.
"""

import dataclasses
import json
from pathlib import Path

import pytest

from devtools.runner.mappings import load_mappings
from devtools.template import TEMPLATE_PATH, Template
from tests.init_parity import (
    NOT_CREATED_BY_SCRIPTS,
    View,
    differences,
    read_calls,
    run_init_scripts,
    runner_expectation,
    runner_view,
    scripts_view,
    template_view,
)

STAGE = "local"
KINDS = ("tables", "queues", "domains", "functions", "log_groups", "topics", "alarms", "mappings")
CREATES = {
    "create-table",
    "update-time-to-live",
    "create-domain",
    "create-role",
    "create-function",
    "create-log-group",
    "put-retention-policy",
    "create-event-source-mapping",
}
FANOUT_MAPPING = f"triggers-{STAGE}-fanout <- triggers-{STAGE}-events"


@pytest.fixture(scope="module")
def script_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("init-scripts")


@pytest.fixture(scope="module")
def script_calls(script_dir: Path) -> list[list[str]]:
    return run_init_scripts(script_dir, STAGE)


@pytest.fixture(scope="module")
def scripts(script_calls: list[list[str]]) -> View:
    return scripts_view(script_calls)


@pytest.fixture(scope="module")
def template() -> View:
    return template_view(Template(STAGE))


@pytest.fixture(scope="module")
def runner() -> View:
    return runner_view(load_mappings(Template(STAGE)))


def changed_template(tmp_path: Path, old: str, new: str) -> Template:
    text = TEMPLATE_PATH.read_text()
    assert text.count(old) >= 1
    path = tmp_path / "template.yaml"
    path.write_text(text.replace(old, new, 1))
    return Template(STAGE, path=path)


@pytest.mark.parametrize("kind", KINDS)
def test_init_scripts_create_what_the_template_declares(kind: str, template: View, scripts: View) -> None:
    assert template[kind], f"template.yaml declares no {kind}"
    assert differences(template[kind], scripts[kind], ("template", "scripts")) == []


def test_runner_uses_the_template_mappings_and_function_settings(template: View, runner: View) -> None:
    assert differences(runner_expectation(template), runner, ("template", "runner")) == []


def test_runner_and_scripts_agree_on_mappings(scripts: View, runner: View) -> None:
    assert differences(scripts["mappings"], runner["mappings"], ("scripts", "runner")) == []


def test_every_template_resource_kind_is_created_by_a_script_or_excluded() -> None:
    covered = {
        "AWS::DynamoDB::Table",
        "AWS::SQS::Queue",
        "AWS::OpenSearchService::Domain",
        "AWS::Serverless::Function",
        "AWS::Logs::LogGroup",
        "AWS::SNS::Topic",
        "AWS::CloudWatch::Alarm",
    }
    template = Template(STAGE)
    kinds = {resource["Type"] for name, resource in template.resources.items() if template.exists(name)}
    assert kinds - covered - NOT_CREATED_BY_SCRIPTS == set()


def test_second_run_of_the_scripts_creates_nothing(script_dir: Path, script_calls: list[list[str]]) -> None:
    # Given the scripts already ran once (the script_calls fixture)
    assert {call[1] for call in script_calls} & CREATES

    # When they run again against what they created
    second = run_init_scripts(script_dir, STAGE)

    # Then every create is skipped (create-queue and put-metric-alarm are idempotent upserts)
    assert [call[:2] for call in second if call[1] in CREATES] == []


def test_embedded_mode_creates_no_event_source_mappings(tmp_path: Path) -> None:
    calls = run_init_scripts(tmp_path, STAGE, embedded=True)

    assert [call for call in calls if call[1] == "create-event-source-mapping"] == []
    assert any(call[1] == "create-function" for call in calls)


def test_non_local_stage_functions_refuse_loopback_webhooks(tmp_path: Path) -> None:
    scripts = scripts_view(run_init_scripts(tmp_path, "dev"))
    template = template_view(Template("dev"))

    assert scripts["functions"]["triggers-dev-fanout"]["Environment"]["ALLOW_LOOPBACK_WEBHOOKS"] == "false"
    assert differences(template["functions"], scripts["functions"], ("template", "scripts")) == []


# A change to any one of the three alone must be reported.


def test_changed_template_mapping_setting_is_reported(tmp_path: Path, scripts: View) -> None:
    template = changed_template(tmp_path, "MaximumRetryAttempts: 10", "MaximumRetryAttempts: 3")

    found = differences(template_view(template)["mappings"], scripts["mappings"], ("template", "scripts"))

    assert found == [f"{FANOUT_MAPPING}/MaximumRetryAttempts: template 3, scripts 10"]


def test_changed_template_filter_is_reported(tmp_path: Path, scripts: View) -> None:
    template = changed_template(
        tmp_path, """'{"eventName": ["INSERT"]}'""", """'{"eventName": ["MODIFY"]}'"""
    )

    found = differences(template_view(template)["mappings"], scripts["mappings"], ("template", "scripts"))

    assert [line.split(":", 1)[0] for line in found] == [f"{FANOUT_MAPPING}/FilterPatterns"]


def test_changed_template_queue_setting_is_reported(tmp_path: Path, scripts: View) -> None:
    template = changed_template(tmp_path, "VisibilityTimeout: 60", "VisibilityTimeout: 90")

    found = differences(template_view(template)["queues"], scripts["queues"], ("template", "scripts"))

    assert found == [f"triggers-{STAGE}-delivery-retry/VisibilityTimeout: template 90, scripts 60"]


def test_setting_declared_in_template_but_not_created_is_reported(tmp_path: Path, scripts: View) -> None:
    template = changed_template(
        tmp_path,
        "ParallelizationFactor: 1\n",
        "ParallelizationFactor: 1\n            TumblingWindowInSeconds: 30\n",
    )

    found = differences(template_view(template)["mappings"], scripts["mappings"], ("template", "scripts"))

    assert found == [f"{FANOUT_MAPPING}/TumblingWindowInSeconds: in template (30), missing from scripts"]


def test_changed_script_call_is_reported(script_calls: list[list[str]], template: View) -> None:
    # Given the fanout mapping call with its batching window changed
    calls = [list(call) for call in script_calls]
    fanout = next(
        c for c in calls if c[1] == "create-event-source-mapping" and f"triggers-{STAGE}-fanout" in c
    )
    position = fanout.index("--maximum-batching-window-in-seconds") + 1
    fanout[position] = "2"

    found = differences(template["mappings"], scripts_view(calls)["mappings"], ("template", "scripts"))

    assert found == [f"{FANOUT_MAPPING}/MaximumBatchingWindowInSeconds: template 5, scripts 2"]


def test_missing_script_flag_is_reported(script_calls: list[list[str]], template: View) -> None:
    calls = [
        [arg for arg in call if arg != "--bisect-batch-on-function-error"]
        if f"triggers-{STAGE}-fanout" in call and call[1] == "create-event-source-mapping"
        else call
        for call in script_calls
    ]

    found = differences(template["mappings"], scripts_view(calls)["mappings"], ("template", "scripts"))

    assert found == [f"{FANOUT_MAPPING}/BisectBatchOnFunctionError: template True, scripts False"]


def test_changed_runner_setting_is_reported(template: View) -> None:
    specs = [
        dataclasses.replace(spec, parallelization_factor=2)
        if spec.function_logical_id == "FanoutFunction"
        else spec
        for spec in load_mappings(Template(STAGE))
    ]
    runner = runner_view(specs)

    found = differences(runner_expectation(template), runner, ("template", "runner"))

    assert found == [f"mappings/{FANOUT_MAPPING}/ParallelizationFactor: template 1, runner 2"]


def test_changed_runner_destination_is_reported(template: View) -> None:
    specs = [
        dataclasses.replace(spec, on_failure_arn=None)
        if spec.function_logical_id == "IndexerFunction"
        else spec
        for spec in load_mappings(Template(STAGE))
    ]
    runner = runner_view(specs)

    found = differences(runner_expectation(template), runner, ("template", "runner"))

    assert found == [
        f"mappings/triggers-{STAGE}-indexer <- triggers-{STAGE}-events/OnFailure: "
        f"template 'triggers-{STAGE}-stream-dlq', runner None"
    ]


def test_index_template_file_is_applied_and_alias_created_once_the_domain_answers(tmp_path: Path) -> None:
    # Given the indexer's index template file
    index_template = tmp_path / "index_template.json"
    index_template.write_text('{"index_patterns": ["events-*"]}')
    domain_url = f"http://triggers-{STAGE}.us-east-1.opensearch.localhost.localstack.cloud:4566"

    # When the scripts run twice in LocalStack mode
    run_init_scripts(tmp_path, STAGE, index_template=index_template)
    run_init_scripts(tmp_path, STAGE, index_template=index_template)
    curls = read_calls(tmp_path / "calls.jsonl", "curl")

    # Then the template is put each time, the first index behind the alias only once
    puts = [next(arg for arg in call if arg.startswith("http")) for call in curls if "PUT" in call]
    assert puts == [
        f"{domain_url}/_index_template/events",
        f"{domain_url}/events-v1",
        f"{domain_url}/_index_template/events",
    ]
    assert f"@{index_template}" in next(call for call in curls if "PUT" in call)


def test_missing_index_template_file_leaves_opensearch_alone(
    script_dir: Path, script_calls: list[list[str]]
) -> None:
    curls = read_calls(script_dir / "calls.jsonl", "curl")

    assert [call for call in curls if "PUT" in call] == []


def test_mapping_missing_from_runner_is_reported(template: View) -> None:
    specs = [spec for spec in load_mappings(Template(STAGE)) if spec.function_logical_id != "RetryFunction"]
    runner = runner_view(specs)

    found = differences(runner_expectation(template), runner, ("template", "runner"))

    assert sorted(line.split(":", 1)[0] for line in found) == [
        f"functions/triggers-{STAGE}-retry",
        f"mappings/triggers-{STAGE}-retry <- triggers-{STAGE}-delivery-retry",
    ]


def test_changed_template_alarm_is_reported(tmp_path: Path, scripts: View) -> None:
    template = changed_template(tmp_path, "Threshold: 300000", "Threshold: 60000")

    found = differences(template_view(template)["alarms"], scripts["alarms"], ("template", "scripts"))

    assert found == [f"triggers-{STAGE}-fanout-iterator-age/Threshold: template 60000.0, scripts 300000.0"]


def test_changed_script_table_alarm_metric_is_reported(script_calls: list[list[str]], template: View) -> None:
    # Given the events table's system-errors alarm without its DeleteItem metric
    calls = [list(call) for call in script_calls]
    alarm = next(c for c in calls if f"triggers-{STAGE}-events-table-system-errors" in c)
    position = alarm.index("--metrics") + 1
    metrics = [m for m in json.loads(alarm[position]) if m["Id"] != "deleteitem"]
    alarm[position] = json.dumps(metrics)

    found = differences(template["alarms"], scripts_view(calls)["alarms"], ("template", "scripts"))

    alarm_name = f"triggers-{STAGE}-events-table-system-errors"
    assert [line.split(":", 1)[0] for line in found] == [f"{alarm_name}/Metrics"]


def test_api_alarms_are_left_to_aws(template: View) -> None:
    api_alarms = {f"triggers-{STAGE}-api-{name}" for name in ("5xx-rate", "p95-latency", "success-rate")}

    assert api_alarms.isdisjoint(template["alarms"])
    assert f"triggers-{STAGE}-delivery-dlq" in template["alarms"]

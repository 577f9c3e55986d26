"""Every failure path of the deployed template has an alarm that notifies the alarm topic.

Seeds 001/004 and the issue: each dead-letter queue (depth > 0), each stream mapping (iterator
age), each function (errors, throttles), each table (throttles, system errors), the HTTP API (5xx
rate, p95 latency > 100 ms, success rate < 99.9 %); issue 19 adds a 0.1 % 5xx-rate alarm per API route,
DynamoDB latency alarms (write p99 > 20 ms, read p95 > 50 ms) and the PITR period parameter.
"""

import copy
import json
from collections.abc import Iterator
from typing import Any

import pytest

from devtools import route_alarms
from devtools.sam_transform import load_sam, transform
from devtools.template import TEMPLATE_PATH, Template
from ingest.api import openapi_json

TOPIC = {"Ref": "AlarmTopic"}


def of_type(template: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    return {
        name: resource.get("Properties", {})
        for name, resource in template["Resources"].items()
        if resource["Type"] == kind
    }


def metrics(alarm: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """(metric name, dimensions) of every metric an alarm reads, metric math included."""
    if "MetricName" in alarm:
        yield alarm["MetricName"], {d["Name"]: d["Value"] for d in alarm.get("Dimensions", [])}
    for query in alarm.get("Metrics", []):
        if "MetricStat" in query:
            metric = query["MetricStat"]["Metric"]
            yield metric["MetricName"], {d["Name"]: d["Value"] for d in metric.get("Dimensions", [])}


def watched(template: dict[str, Any], metric: str, dimension: str, value: Any) -> list[dict[str, Any]]:
    """The alarms reading `metric` for the resource `value` names in `dimension`."""
    return [
        alarm
        for alarm in of_type(template, "AWS::CloudWatch::Alarm").values()
        if any(name == metric and dims.get(dimension) == value for name, dims in metrics(alarm))
    ]


def dead_letter_queues(template: dict[str, Any]) -> set[str]:
    """Queues that are a redrive target, a mapping's OnFailure destination, or named *-dlq."""
    queues = of_type(template, "AWS::SQS::Queue")
    found = {
        name for name, props in queues.items() if str(props["QueueName"].get("Fn::Sub")).endswith("-dlq")
    }
    for props in queues.values():
        if "RedrivePolicy" in props:
            found.add(props["RedrivePolicy"]["deadLetterTargetArn"]["Fn::GetAtt"][0])
    for props in of_type(template, "AWS::Lambda::EventSourceMapping").values():
        destination = props.get("DestinationConfig", {}).get("OnFailure", {}).get("Destination")
        if destination:
            found.add(destination["Fn::GetAtt"][0])
    return found


def missing_alarms(template: dict[str, Any]) -> list[str]:
    problems = []
    for queue in sorted(dead_letter_queues(template)):
        alarms = watched(
            template, "ApproximateNumberOfMessagesVisible", "QueueName", {"Fn::GetAtt": [queue, "QueueName"]}
        )
        if not any(a["Threshold"] == 0 and a["ComparisonOperator"] == "GreaterThanThreshold" for a in alarms):
            problems.append(f"{queue}: no depth > 0 alarm")
    for props in of_type(template, "AWS::Lambda::EventSourceMapping").values():
        function = props["FunctionName"]["Ref"]
        if props["EventSourceArn"]["Fn::GetAtt"][1] == "StreamArn" and not watched(
            template, "IteratorAge", "FunctionName", {"Ref": function}
        ):
            problems.append(f"{function}: stream mapping without an iterator age alarm")
    for function in sorted(of_type(template, "AWS::Lambda::Function")):
        for metric in ("Errors", "Throttles"):
            if not watched(template, metric, "FunctionName", {"Ref": function}):
                problems.append(f"{function}: no {metric} alarm")
    for table in sorted(of_type(template, "AWS::DynamoDB::Table")):
        for metric in ("ReadThrottleEvents", "WriteThrottleEvents", "SystemErrors"):
            if not watched(template, metric, "TableName", {"Ref": table}):
                problems.append(f"{table}: no {metric} alarm")
    for api in sorted(of_type(template, "AWS::ApiGatewayV2::Api")):
        api_alarms = watched(template, "5xx", "ApiId", {"Ref": api})
        if not any(a["ComparisonOperator"] == "GreaterThanThreshold" for a in api_alarms):
            problems.append(f"{api}: no 5xx rate alarm")
        if not any(
            a["ComparisonOperator"] == "LessThanThreshold" and a["Threshold"] == 99.9 for a in api_alarms
        ):
            problems.append(f"{api}: no success rate < 99.9 % alarm")
        latency = watched(template, "Latency", "ApiId", {"Ref": api})
        if not any(a.get("ExtendedStatistic") == "p95" and a["Threshold"] == 100 for a in latency):
            problems.append(f"{api}: no p95 latency > 100 ms alarm")
    for name, alarm in of_type(template, "AWS::CloudWatch::Alarm").items():
        if TOPIC not in alarm.get("AlarmActions", []):
            problems.append(f"{name}: does not notify the alarm topic")
    return problems


@pytest.fixture(scope="module")
def deployed() -> dict[str, Any]:
    return transform(load_sam(), {"Stage": "prod"})


def without(template: dict[str, Any], *names: str) -> dict[str, Any]:
    changed = copy.deepcopy(template)
    for name in names:
        del changed["Resources"][name]
    return changed


def test_every_failure_path_has_an_alarm(deployed: dict[str, Any]) -> None:
    assert missing_alarms(deployed) == []


def test_the_dlqs_are_found(deployed: dict[str, Any]) -> None:
    assert dead_letter_queues(deployed) == {"RetryQueueDLQ", "DeliveryDLQ", "StreamDLQ", "IndexDLQ"}


@pytest.mark.parametrize(
    ("alarm", "reported"),
    [
        ("DeliveryDLQAlarm", "DeliveryDLQ: no depth > 0 alarm"),
        ("RetryQueueDLQAlarm", "RetryQueueDLQ: no depth > 0 alarm"),
        ("StreamDLQAlarm", "StreamDLQ: no depth > 0 alarm"),
        ("IndexDLQAlarm", "IndexDLQ: no depth > 0 alarm"),
        ("FanoutIteratorAgeAlarm", "FanoutFunction: stream mapping without an iterator age alarm"),
        ("IndexerIteratorAgeAlarm", "IndexerFunction: stream mapping without an iterator age alarm"),
        ("RetryThrottlesAlarm", "RetryFunction: no Throttles alarm"),
        ("IngestErrorsAlarm", "IngestFunction: no Errors alarm"),
        ("EventsTableSystemErrorsAlarm", "EventsTable: no SystemErrors alarm"),
        ("ApiLatencyAlarm", "HttpApi: no p95 latency > 100 ms alarm"),
        ("ApiSuccessRateAlarm", "HttpApi: no success rate < 99.9 % alarm"),
    ],
)
def test_a_missing_alarm_is_reported(deployed: dict[str, Any], alarm: str, reported: str) -> None:
    assert missing_alarms(without(deployed, alarm)) == [reported]


def test_a_new_dlq_without_an_alarm_is_reported(deployed: dict[str, Any]) -> None:
    changed = copy.deepcopy(deployed)
    changed["Resources"]["ExportDLQ"] = {
        "Type": "AWS::SQS::Queue",
        "Properties": {"QueueName": {"Fn::Sub": "triggers-${Stage}-export-dlq"}},
    }

    assert missing_alarms(changed) == ["ExportDLQ: no depth > 0 alarm"]


def test_a_new_stream_mapping_without_an_alarm_is_reported(deployed: dict[str, Any]) -> None:
    # Given the retry function also mapped to the events stream
    changed = copy.deepcopy(deployed)
    mapping = copy.deepcopy(changed["Resources"]["IndexerFunctionEventsStream"])
    mapping["Properties"]["FunctionName"] = {"Ref": "RetryFunction"}
    changed["Resources"]["RetryFunctionEventsStream"] = mapping

    assert missing_alarms(changed) == ["RetryFunction: stream mapping without an iterator age alarm"]


def test_an_alarm_that_notifies_nobody_is_reported(deployed: dict[str, Any]) -> None:
    changed = copy.deepcopy(deployed)
    del changed["Resources"]["StreamDLQAlarm"]["Properties"]["AlarmActions"]

    assert missing_alarms(changed) == ["StreamDLQAlarm: does not notify the alarm topic"]


def test_the_dashboard_is_json_showing_every_dlq_alarm() -> None:
    template = Template("prod")
    (dashboard,) = template.of_type("AWS::CloudWatch::Dashboard").values()

    body = json.loads(dashboard["DashboardBody"])

    (alarm_widget,) = [widget for widget in body["widgets"] if widget["type"] == "alarm"]
    dlq_alarms = {f"{name}Alarm.Arn" for name in ("DeliveryDLQ", "StreamDLQ", "IndexDLQ", "RetryQueueDLQ")}
    assert dlq_alarms <= set(alarm_widget["properties"]["alarms"])


# --- per-endpoint error rate (seed 002: 0.1 % per endpoint, from the function's own metrics) ----------


def api_routes() -> set[tuple[str, str]]:
    """(method, route template) of every route the API documents."""
    paths = json.loads(openapi_json())["paths"]
    return {(method.upper(), path) for path, item in paths.items() for method in item}


def route_alarm_problems(template: dict[str, Any]) -> list[str]:
    """Routes without a 0.1 % 5xx-rate alarm on ServerErrors / Requests of their endpoint and method."""
    function = template["Resources"]["IngestFunction"]["Properties"]
    service = function["Environment"]["Variables"]["POWERTOOLS_SERVICE_NAME"]
    namespace = load_sam()["Globals"]["Function"]["Environment"]["Variables"]["POWERTOOLS_METRICS_NAMESPACE"]
    found: dict[tuple[str, str], list[str]] = {}
    for name, alarm in of_type(template, "AWS::CloudWatch::Alarm").items():
        queries = {query["Id"]: query for query in alarm.get("Metrics", [])}
        stats = {
            query_id: query["MetricStat"] for query_id, query in queries.items() if "MetricStat" in query
        }
        names = {stat["Metric"]["MetricName"]: query_id for query_id, stat in stats.items()}
        if set(names) != {"ServerErrors", "Requests"}:
            continue
        dimensions = [
            {d["Name"]: d["Value"] for d in stat["Metric"]["Dimensions"]} for stat in stats.values()
        ]
        route = (dimensions[0]["method"], dimensions[0]["endpoint"])
        errors, requests = names["ServerErrors"], names["Requests"]
        expressions = [query["Expression"] for query in queries.values() if "Expression" in query]
        checks = {
            "same dimensions": all(d == dimensions[0] for d in dimensions),
            "service": dimensions[0].get("service") == service and len(dimensions[0]) == 3,
            "namespace": all(stat["Metric"]["Namespace"] == namespace for stat in stats.values()),
            "5-minute sums": all(stat["Period"] == 300 and stat["Stat"] == "Sum" for stat in stats.values()),
            "rate in %": expressions == [f"IF({requests} > 0, 100 * FILL({errors}, 0) / {requests}, 0)"],
            "above 0.1": alarm["Threshold"] == 0.1 and alarm["ComparisonOperator"] == "GreaterThanThreshold",
            "3 of 3": alarm["EvaluationPeriods"] == 3 and alarm["DatapointsToAlarm"] == 3,
        }
        found.setdefault(route, []).extend(f"{name}: {check}" for check, ok in checks.items() if not ok)
    problems = [
        f"{method} {path}: no 0.1 % error-rate alarm" for method, path in sorted(api_routes() - set(found))
    ]
    problems += [f"{method} {path}: alarm for no route" for method, path in sorted(set(found) - api_routes())]
    return problems + [problem for route in sorted(found) for problem in found[route]]


def test_every_route_has_its_error_rate_alarm(deployed: dict[str, Any]) -> None:
    assert len(api_routes()) >= 18
    assert route_alarm_problems(deployed) == []


def test_a_route_without_an_error_rate_alarm_is_reported(deployed: dict[str, Any]) -> None:
    changed = without(deployed, "ApiPostEventsErrorRateAlarm")

    assert route_alarm_problems(changed) == ["POST /v1/events: no 0.1 % error-rate alarm"]


def test_an_error_rate_alarm_with_another_threshold_is_reported(deployed: dict[str, Any]) -> None:
    changed = copy.deepcopy(deployed)
    changed["Resources"]["ApiGetInboxErrorRateAlarm"]["Properties"]["Threshold"] = 1

    assert route_alarm_problems(changed) == ["ApiGetInboxErrorRateAlarm: above 0.1"]


def test_the_one_percent_5xx_alarm_stays(deployed: dict[str, Any]) -> None:
    alarm = deployed["Resources"]["ApiServerErrorRateAlarm"]["Properties"]

    assert (alarm["Threshold"], alarm["ComparisonOperator"]) == (1, "GreaterThanThreshold")
    assert {name for name, _ in metrics(alarm)} == {"5xx", "Count"}


# --- DynamoDB latency (seeds 000/001: write p99 > 20 ms, read p95 > 50 ms, 3 of 5-minute periods) ----

LATENCY_ALARMS = {
    # alarm: (table, statistic, threshold, operations it must read)
    "EventsTableWriteLatencyAlarm": ("EventsTable", "p99", 20, {"PutItem", "BatchWriteItem", "UpdateItem"}),
    "EventsTableReadLatencyAlarm": ("EventsTable", "p95", 50, {"GetItem", "Query"}),
    "ApiKeysTableReadLatencyAlarm": ("ApiKeysTable", "p95", 50, {"GetItem"}),
    "TenantsTableWriteLatencyAlarm": ("TenantsTable", "p99", 20, {"UpdateItem"}),
    "DeliveriesTableWriteLatencyAlarm": (
        "DeliveriesTable",
        "p99",
        20,
        {"PutItem", "BatchWriteItem", "UpdateItem"},
    ),
}


@pytest.mark.parametrize("name", sorted(LATENCY_ALARMS))
def test_dynamodb_latency_alarm(deployed: dict[str, Any], name: str) -> None:
    table, statistic, threshold, operations = LATENCY_ALARMS[name]
    alarm = deployed["Resources"][name]["Properties"]

    stats = [query["MetricStat"] for query in alarm["Metrics"] if "MetricStat" in query]
    (expression,) = [query for query in alarm["Metrics"] if "Expression" in query]
    assert expression["Expression"] == "MAX(METRICS())"
    assert {stat["Metric"]["MetricName"] for stat in stats} == {"SuccessfulRequestLatency"}
    assert {stat["Metric"]["Namespace"] for stat in stats} == {"AWS/DynamoDB"}
    dimensions = [{d["Name"]: d["Value"] for d in stat["Metric"]["Dimensions"]} for stat in stats]
    assert {d["TableName"]["Ref"] for d in dimensions} == {table}
    assert {d["Operation"] for d in dimensions} == operations
    assert {(stat["Stat"], stat["Period"]) for stat in stats} == {(statistic, 300)}
    assert (alarm["Threshold"], alarm["ComparisonOperator"]) == (threshold, "GreaterThanThreshold")
    assert (alarm["EvaluationPeriods"], alarm["DatapointsToAlarm"]) == (3, 3)
    assert alarm["AlarmActions"] == [TOPIC]


def test_the_dashboard_shows_dynamodb_latency_limits_and_endpoint_metrics() -> None:
    template = Template("prod")
    (dashboard,) = template.of_type("AWS::CloudWatch::Dashboard").values()
    widgets = {
        widget["properties"]["title"]: widget["properties"]
        for widget in json.loads(dashboard["DashboardBody"])["widgets"]
    }

    write = widgets["DynamoDB write latency p99 (ms)"]
    read = widgets["DynamoDB read latency p95 (ms)"]
    assert write["metrics"][0][:2] == read["metrics"][0][:2] == ["AWS/DynamoDB", "SuccessfulRequestLatency"]
    assert [line["value"] for line in write["annotations"]["horizontal"]] == [20]
    assert [line["value"] for line in read["annotations"]["horizontal"]] == [50]
    limits = json.dumps(widgets["Table limits: request units/s (on-demand) and throttled requests"])
    assert "ConsumedWriteCapacityUnits" in limits
    assert "ThrottledRequests" in limits
    assert 'MetricName=\\"Requests\\"' in json.dumps(widgets["API requests by endpoint (function metrics)"])
    (alarms,) = [props for props in widgets.values() if "alarms" in props]
    assert {f"{name}.Arn" for name in LATENCY_ALARMS} <= set(alarms["alarms"])


# --- point-in-time recovery --------------------------------------------------------------------------


def test_every_table_with_pitr_keeps_the_recovery_period_parameter(deployed: dict[str, Any]) -> None:
    parameter = load_sam()["Parameters"]["RecoveryPeriodInDays"]
    tables = of_type(deployed, "AWS::DynamoDB::Table")

    with_pitr = {
        name: props["PointInTimeRecoverySpecification"]
        for name, props in tables.items()
        if "PointInTimeRecoverySpecification" in props
    }
    assert set(with_pitr) == set(tables) - {"IdempotencyTable"}
    for specification in with_pitr.values():
        assert specification == {
            "PointInTimeRecoveryEnabled": True,
            "RecoveryPeriodInDays": {"Ref": "RecoveryPeriodInDays"},
        }
    assert (parameter["Default"], parameter["MinValue"], parameter["MaxValue"]) == (35, 1, 35)


def test_the_per_route_alarms_are_written_from_the_apis_routes() -> None:
    # Given template.yaml as committed and the API's document as the code makes it
    text = TEMPLATE_PATH.read_text()

    # Then regenerating the block changes nothing (else: run `make init-scripts`)
    assert route_alarms.render(text, openapi_json()) == text


def test_a_new_route_gets_its_alarm_from_the_generator() -> None:
    document = json.loads(openapi_json())
    document["paths"]["/v1/widgets/{widget_id}"] = {"put": {}}

    rendered = route_alarms.render(TEMPLATE_PATH.read_text(), json.dumps(document))

    assert "  ApiPutWidgetsWidgetIdErrorRateAlarm:\n" in rendered
    assert '{ Name: endpoint, Value: "/v1/widgets/{widget_id}" }, { Name: method, Value: PUT }' in rendered

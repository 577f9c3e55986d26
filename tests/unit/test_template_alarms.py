"""Every failure path of the deployed template has an alarm that notifies the alarm topic.

Seeds 001/004 and the issue: each dead-letter queue (depth > 0), each stream mapping (iterator
age), each function (errors, throttles), each table (throttles, system errors), the HTTP API (5xx
rate, p95 latency > 100 ms, success rate < 99.9 %).
"""

import copy
import json
from collections.abc import Iterator
from typing import Any

import pytest

from devtools.sam_transform import load_sam, transform
from devtools.template import Template

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

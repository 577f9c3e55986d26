#!/usr/bin/env bash
# GENERATED from template.yaml (stage local) by devtools/initscripts.py: do not edit.
# Change template.yaml, then run `make init-scripts` (or `uv run triggers init-scripts`).
#
# The alarm topic and the CloudWatch alarms notifying it (the HTTP API's alarms exist only on
# AWS: LocalStack's free tier has no HTTP API). Idempotent: create-topic returns the existing
# topic; put-metric-alarm creates or replaces.
set -euo pipefail

topic=triggers-local-alarms
topic_arn=$(awslocal sns create-topic --name "$topic" --query TopicArn --output text)
echo "topic $topic ready"

put_alarm() {  # name, PutMetricAlarm request
  awslocal cloudwatch put-metric-alarm --cli-input-json "$2"
  echo "alarm $1 ready"
}

pids=()
put_alarm triggers-local-delivery-retry-dlq '{"AlarmName": "triggers-local-delivery-retry-dlq",
  "AlarmDescription": "Retry messages the retry function could not process (pipeline failure)",
  "Namespace": "AWS/SQS", "MetricName": "ApproximateNumberOfMessagesVisible",
  "Dimensions": [{"Name": "QueueName", "Value": "triggers-local-delivery-retry-dlq"}], "Statistic": "Maximum",
  "Period": 300, "EvaluationPeriods": 1, "Threshold": 0, "ComparisonOperator": "GreaterThanThreshold",
  "TreatMissingData": "notBreaching",
  "AlarmActions": ["'"${topic_arn}"'"],
  "OKActions": ["'"${topic_arn}"'"]}' &
pids+=($!)
put_alarm triggers-local-delivery-dlq '{"AlarmName": "triggers-local-delivery-dlq",
  "AlarmDescription": "Webhook deliveries exhausted their retry schedule", "Namespace": "AWS/SQS",
  "MetricName": "ApproximateNumberOfMessagesVisible",
  "Dimensions": [{"Name": "QueueName", "Value": "triggers-local-delivery-dlq"}], "Statistic": "Maximum",
  "Period": 300, "EvaluationPeriods": 1, "Threshold": 0, "ComparisonOperator": "GreaterThanThreshold",
  "TreatMissingData": "notBreaching",
  "AlarmActions": ["'"${topic_arn}"'"],
  "OKActions": ["'"${topic_arn}"'"]}' &
pids+=($!)
put_alarm triggers-local-stream-dlq '{"AlarmName": "triggers-local-stream-dlq",
  "AlarmDescription": "Stream batches failed permanently (pipeline failure, not a subscriber)",
  "Namespace": "AWS/SQS", "MetricName": "ApproximateNumberOfMessagesVisible",
  "Dimensions": [{"Name": "QueueName", "Value": "triggers-local-stream-dlq"}], "Statistic": "Maximum",
  "Period": 300, "EvaluationPeriods": 1, "Threshold": 0, "ComparisonOperator": "GreaterThanThreshold",
  "TreatMissingData": "notBreaching",
  "AlarmActions": ["'"${topic_arn}"'"],
  "OKActions": ["'"${topic_arn}"'"]}' &
pids+=($!)
put_alarm triggers-local-index-dlq '{"AlarmName": "triggers-local-index-dlq",
  "AlarmDescription": "Documents OpenSearch rejected (mapping errors)", "Namespace": "AWS/SQS",
  "MetricName": "ApproximateNumberOfMessagesVisible",
  "Dimensions": [{"Name": "QueueName", "Value": "triggers-local-index-dlq"}], "Statistic": "Maximum",
  "Period": 300, "EvaluationPeriods": 1, "Threshold": 0, "ComparisonOperator": "GreaterThanThreshold",
  "TreatMissingData": "notBreaching",
  "AlarmActions": ["'"${topic_arn}"'"],
  "OKActions": ["'"${topic_arn}"'"]}' &
pids+=($!)
put_alarm triggers-local-fanout-iterator-age '{"AlarmName": "triggers-local-fanout-iterator-age",
  "AlarmDescription": "Fanout is more than 5 minutes behind the events stream", "Namespace": "AWS/Lambda",
  "MetricName": "IteratorAge", "Dimensions": [{"Name": "FunctionName", "Value": "triggers-local-fanout"}],
  "Statistic": "Maximum", "Period": 60, "EvaluationPeriods": 5, "Threshold": 300000,
  "ComparisonOperator": "GreaterThanThreshold", "TreatMissingData": "notBreaching",
  "AlarmActions": ["'"${topic_arn}"'"],
  "OKActions": ["'"${topic_arn}"'"]}' &
pids+=($!)
put_alarm triggers-local-indexer-iterator-age '{"AlarmName": "triggers-local-indexer-iterator-age",
  "AlarmDescription": "The indexer is more than 5 minutes behind the events stream", "Namespace": "AWS/Lambda",
  "MetricName": "IteratorAge", "Dimensions": [{"Name": "FunctionName", "Value": "triggers-local-indexer"}],
  "Statistic": "Maximum", "Period": 60, "EvaluationPeriods": 5, "Threshold": 300000,
  "ComparisonOperator": "GreaterThanThreshold", "TreatMissingData": "notBreaching",
  "AlarmActions": ["'"${topic_arn}"'"],
  "OKActions": ["'"${topic_arn}"'"]}' &
pids+=($!)
put_alarm triggers-local-ingest-errors '{"AlarmName": "triggers-local-ingest-errors",
  "AlarmDescription": "The ingest function failed (unhandled error or timeout)", "Namespace": "AWS/Lambda",
  "MetricName": "Errors", "Dimensions": [{"Name": "FunctionName", "Value": "triggers-local-ingest"}],
  "Statistic": "Sum", "Period": 300, "EvaluationPeriods": 1, "Threshold": 0,
  "ComparisonOperator": "GreaterThanThreshold", "TreatMissingData": "notBreaching",
  "AlarmActions": ["'"${topic_arn}"'"],
  "OKActions": ["'"${topic_arn}"'"]}' &
pids+=($!)
put_alarm triggers-local-ingest-throttles '{"AlarmName": "triggers-local-ingest-throttles",
  "AlarmDescription": "Ingest invocations were throttled (account or function concurrency)",
  "Namespace": "AWS/Lambda", "MetricName": "Throttles",
  "Dimensions": [{"Name": "FunctionName", "Value": "triggers-local-ingest"}], "Statistic": "Sum",
  "Period": 300, "EvaluationPeriods": 1, "Threshold": 0, "ComparisonOperator": "GreaterThanThreshold",
  "TreatMissingData": "notBreaching",
  "AlarmActions": ["'"${topic_arn}"'"],
  "OKActions": ["'"${topic_arn}"'"]}' &
pids+=($!)
put_alarm triggers-local-fanout-errors '{"AlarmName": "triggers-local-fanout-errors",
  "AlarmDescription": "The fanout function failed (unhandled error or timeout)", "Namespace": "AWS/Lambda",
  "MetricName": "Errors", "Dimensions": [{"Name": "FunctionName", "Value": "triggers-local-fanout"}],
  "Statistic": "Sum", "Period": 300, "EvaluationPeriods": 1, "Threshold": 0,
  "ComparisonOperator": "GreaterThanThreshold", "TreatMissingData": "notBreaching",
  "AlarmActions": ["'"${topic_arn}"'"],
  "OKActions": ["'"${topic_arn}"'"]}' &
pids+=($!)
put_alarm triggers-local-fanout-throttles '{"AlarmName": "triggers-local-fanout-throttles",
  "AlarmDescription": "Fanout invocations were throttled (account or function concurrency)",
  "Namespace": "AWS/Lambda", "MetricName": "Throttles",
  "Dimensions": [{"Name": "FunctionName", "Value": "triggers-local-fanout"}], "Statistic": "Sum",
  "Period": 300, "EvaluationPeriods": 1, "Threshold": 0, "ComparisonOperator": "GreaterThanThreshold",
  "TreatMissingData": "notBreaching",
  "AlarmActions": ["'"${topic_arn}"'"],
  "OKActions": ["'"${topic_arn}"'"]}' &
pids+=($!)
put_alarm triggers-local-retry-errors '{"AlarmName": "triggers-local-retry-errors",
  "AlarmDescription": "The retry function failed (unhandled error or timeout)", "Namespace": "AWS/Lambda",
  "MetricName": "Errors", "Dimensions": [{"Name": "FunctionName", "Value": "triggers-local-retry"}],
  "Statistic": "Sum", "Period": 300, "EvaluationPeriods": 1, "Threshold": 0,
  "ComparisonOperator": "GreaterThanThreshold", "TreatMissingData": "notBreaching",
  "AlarmActions": ["'"${topic_arn}"'"],
  "OKActions": ["'"${topic_arn}"'"]}' &
pids+=($!)
put_alarm triggers-local-retry-throttles '{"AlarmName": "triggers-local-retry-throttles",
  "AlarmDescription": "Retry invocations were throttled (account or function concurrency)",
  "Namespace": "AWS/Lambda", "MetricName": "Throttles",
  "Dimensions": [{"Name": "FunctionName", "Value": "triggers-local-retry"}], "Statistic": "Sum", "Period": 300,
  "EvaluationPeriods": 1, "Threshold": 0, "ComparisonOperator": "GreaterThanThreshold",
  "TreatMissingData": "notBreaching",
  "AlarmActions": ["'"${topic_arn}"'"],
  "OKActions": ["'"${topic_arn}"'"]}' &
pids+=($!)
put_alarm triggers-local-indexer-errors '{"AlarmName": "triggers-local-indexer-errors",
  "AlarmDescription": "The indexer function failed (unhandled error or timeout)", "Namespace": "AWS/Lambda",
  "MetricName": "Errors", "Dimensions": [{"Name": "FunctionName", "Value": "triggers-local-indexer"}],
  "Statistic": "Sum", "Period": 300, "EvaluationPeriods": 1, "Threshold": 0,
  "ComparisonOperator": "GreaterThanThreshold", "TreatMissingData": "notBreaching",
  "AlarmActions": ["'"${topic_arn}"'"],
  "OKActions": ["'"${topic_arn}"'"]}' &
pids+=($!)
put_alarm triggers-local-indexer-throttles '{"AlarmName": "triggers-local-indexer-throttles",
  "AlarmDescription": "Indexer invocations were throttled (its reserved concurrency is below the shard count)",
  "Namespace": "AWS/Lambda", "MetricName": "Throttles",
  "Dimensions": [{"Name": "FunctionName", "Value": "triggers-local-indexer"}], "Statistic": "Sum",
  "Period": 300, "EvaluationPeriods": 1, "Threshold": 0, "ComparisonOperator": "GreaterThanThreshold",
  "TreatMissingData": "notBreaching",
  "AlarmActions": ["'"${topic_arn}"'"],
  "OKActions": ["'"${topic_arn}"'"]}' &
pids+=($!)
put_alarm triggers-local-events-table-throttles '{"AlarmName": "triggers-local-events-table-throttles",
  "AlarmDescription": "Reads or writes on the events table were throttled",
  "Metrics": [{"Id": "throttles", "Expression": "reads + writes", "Label": "Throttled requests"},
    {"Id": "reads", "ReturnData": false,
      "MetricStat": {"Metric": {"Namespace": "AWS/DynamoDB", "MetricName": "ReadThrottleEvents",
          "Dimensions": [{"Name": "TableName", "Value": "triggers-local-events"}]},
        "Period": 300, "Stat": "Sum"}},
    {"Id": "writes", "ReturnData": false,
      "MetricStat": {"Metric": {"Namespace": "AWS/DynamoDB", "MetricName": "WriteThrottleEvents",
          "Dimensions": [{"Name": "TableName", "Value": "triggers-local-events"}]},
        "Period": 300, "Stat": "Sum"}}],
  "EvaluationPeriods": 2, "Threshold": 10, "ComparisonOperator": "GreaterThanThreshold",
  "TreatMissingData": "notBreaching",
  "AlarmActions": ["'"${topic_arn}"'"],
  "OKActions": ["'"${topic_arn}"'"]}' &
pids+=($!)
put_alarm triggers-local-events-table-system-errors '{"AlarmName": "triggers-local-events-table-system-errors",
  "AlarmDescription": "DynamoDB failed requests on the events table (HTTP 500)",
  "Metrics": [{"Id": "errors", "Expression": "SUM(METRICS())", "Label": "System errors"},
    {"Id": "batchwriteitem", "ReturnData": false,
      "MetricStat": {"Metric": {"Namespace": "AWS/DynamoDB", "MetricName": "SystemErrors",
          "Dimensions": [{"Name": "TableName", "Value": "triggers-local-events"},
            {"Name": "Operation", "Value": "BatchWriteItem"}]},
        "Period": 300, "Stat": "Sum"}},
    {"Id": "getitem", "ReturnData": false,
      "MetricStat": {"Metric": {"Namespace": "AWS/DynamoDB", "MetricName": "SystemErrors",
          "Dimensions": [{"Name": "TableName", "Value": "triggers-local-events"}, {"Name": "Operation", "Value": "GetItem"}]},
        "Period": 300, "Stat": "Sum"}},
    {"Id": "query", "ReturnData": false,
      "MetricStat": {"Metric": {"Namespace": "AWS/DynamoDB", "MetricName": "SystemErrors",
          "Dimensions": [{"Name": "TableName", "Value": "triggers-local-events"}, {"Name": "Operation", "Value": "Query"}]},
        "Period": 300, "Stat": "Sum"}},
    {"Id": "updateitem", "ReturnData": false,
      "MetricStat": {"Metric": {"Namespace": "AWS/DynamoDB", "MetricName": "SystemErrors",
          "Dimensions": [{"Name": "TableName", "Value": "triggers-local-events"},
            {"Name": "Operation", "Value": "UpdateItem"}]},
        "Period": 300, "Stat": "Sum"}},
    {"Id": "deleteitem", "ReturnData": false,
      "MetricStat": {"Metric": {"Namespace": "AWS/DynamoDB", "MetricName": "SystemErrors",
          "Dimensions": [{"Name": "TableName", "Value": "triggers-local-events"},
            {"Name": "Operation", "Value": "DeleteItem"}]},
        "Period": 300, "Stat": "Sum"}}],
  "EvaluationPeriods": 1, "Threshold": 0, "ComparisonOperator": "GreaterThanThreshold",
  "TreatMissingData": "notBreaching",
  "AlarmActions": ["'"${topic_arn}"'"],
  "OKActions": ["'"${topic_arn}"'"]}' &
pids+=($!)
put_alarm triggers-local-api-keys-table-throttles '{"AlarmName": "triggers-local-api-keys-table-throttles",
  "AlarmDescription": "Reads or writes on the api-keys table were throttled",
  "Metrics": [{"Id": "throttles", "Expression": "reads + writes", "Label": "Throttled requests"},
    {"Id": "reads", "ReturnData": false,
      "MetricStat": {"Metric": {"Namespace": "AWS/DynamoDB", "MetricName": "ReadThrottleEvents",
          "Dimensions": [{"Name": "TableName", "Value": "triggers-local-api-keys"}]},
        "Period": 300, "Stat": "Sum"}},
    {"Id": "writes", "ReturnData": false,
      "MetricStat": {"Metric": {"Namespace": "AWS/DynamoDB", "MetricName": "WriteThrottleEvents",
          "Dimensions": [{"Name": "TableName", "Value": "triggers-local-api-keys"}]},
        "Period": 300, "Stat": "Sum"}}],
  "EvaluationPeriods": 2, "Threshold": 10, "ComparisonOperator": "GreaterThanThreshold",
  "TreatMissingData": "notBreaching",
  "AlarmActions": ["'"${topic_arn}"'"],
  "OKActions": ["'"${topic_arn}"'"]}' &
pids+=($!)
put_alarm triggers-local-api-keys-table-system-errors '{"AlarmName": "triggers-local-api-keys-table-system-errors",
  "AlarmDescription": "DynamoDB failed requests on the api-keys table (HTTP 500)",
  "Metrics": [{"Id": "errors", "Expression": "SUM(METRICS())", "Label": "System errors"},
    {"Id": "getitem", "ReturnData": false,
      "MetricStat": {"Metric": {"Namespace": "AWS/DynamoDB", "MetricName": "SystemErrors",
          "Dimensions": [{"Name": "TableName", "Value": "triggers-local-api-keys"},
            {"Name": "Operation", "Value": "GetItem"}]},
        "Period": 300, "Stat": "Sum"}},
    {"Id": "putitem", "ReturnData": false,
      "MetricStat": {"Metric": {"Namespace": "AWS/DynamoDB", "MetricName": "SystemErrors",
          "Dimensions": [{"Name": "TableName", "Value": "triggers-local-api-keys"},
            {"Name": "Operation", "Value": "PutItem"}]},
        "Period": 300, "Stat": "Sum"}}],
  "EvaluationPeriods": 1, "Threshold": 0, "ComparisonOperator": "GreaterThanThreshold",
  "TreatMissingData": "notBreaching",
  "AlarmActions": ["'"${topic_arn}"'"],
  "OKActions": ["'"${topic_arn}"'"]}' &
pids+=($!)
put_alarm triggers-local-idempotency-table-throttles '{"AlarmName": "triggers-local-idempotency-table-throttles",
  "AlarmDescription": "Reads or writes on the idempotency table were throttled",
  "Metrics": [{"Id": "throttles", "Expression": "reads + writes", "Label": "Throttled requests"},
    {"Id": "reads", "ReturnData": false,
      "MetricStat": {"Metric": {"Namespace": "AWS/DynamoDB", "MetricName": "ReadThrottleEvents",
          "Dimensions": [{"Name": "TableName", "Value": "triggers-local-idempotency"}]},
        "Period": 300, "Stat": "Sum"}},
    {"Id": "writes", "ReturnData": false,
      "MetricStat": {"Metric": {"Namespace": "AWS/DynamoDB", "MetricName": "WriteThrottleEvents",
          "Dimensions": [{"Name": "TableName", "Value": "triggers-local-idempotency"}]},
        "Period": 300, "Stat": "Sum"}}],
  "EvaluationPeriods": 2, "Threshold": 10, "ComparisonOperator": "GreaterThanThreshold",
  "TreatMissingData": "notBreaching",
  "AlarmActions": ["'"${topic_arn}"'"],
  "OKActions": ["'"${topic_arn}"'"]}' &
pids+=($!)
put_alarm triggers-local-idempotency-table-system-errors '{"AlarmName": "triggers-local-idempotency-table-system-errors",
  "AlarmDescription": "DynamoDB failed requests on the idempotency table (HTTP 500)",
  "Metrics": [{"Id": "errors", "Expression": "SUM(METRICS())", "Label": "System errors"},
    {"Id": "getitem", "ReturnData": false,
      "MetricStat": {"Metric": {"Namespace": "AWS/DynamoDB", "MetricName": "SystemErrors",
          "Dimensions": [{"Name": "TableName", "Value": "triggers-local-idempotency"},
            {"Name": "Operation", "Value": "GetItem"}]},
        "Period": 300, "Stat": "Sum"}},
    {"Id": "putitem", "ReturnData": false,
      "MetricStat": {"Metric": {"Namespace": "AWS/DynamoDB", "MetricName": "SystemErrors",
          "Dimensions": [{"Name": "TableName", "Value": "triggers-local-idempotency"},
            {"Name": "Operation", "Value": "PutItem"}]},
        "Period": 300, "Stat": "Sum"}},
    {"Id": "updateitem", "ReturnData": false,
      "MetricStat": {"Metric": {"Namespace": "AWS/DynamoDB", "MetricName": "SystemErrors",
          "Dimensions": [{"Name": "TableName", "Value": "triggers-local-idempotency"},
            {"Name": "Operation", "Value": "UpdateItem"}]},
        "Period": 300, "Stat": "Sum"}},
    {"Id": "deleteitem", "ReturnData": false,
      "MetricStat": {"Metric": {"Namespace": "AWS/DynamoDB", "MetricName": "SystemErrors",
          "Dimensions": [{"Name": "TableName", "Value": "triggers-local-idempotency"},
            {"Name": "Operation", "Value": "DeleteItem"}]},
        "Period": 300, "Stat": "Sum"}}],
  "EvaluationPeriods": 1, "Threshold": 0, "ComparisonOperator": "GreaterThanThreshold",
  "TreatMissingData": "notBreaching",
  "AlarmActions": ["'"${topic_arn}"'"],
  "OKActions": ["'"${topic_arn}"'"]}' &
pids+=($!)
put_alarm triggers-local-subscriptions-table-throttles '{"AlarmName": "triggers-local-subscriptions-table-throttles",
  "AlarmDescription": "Reads or writes on the subscriptions table were throttled",
  "Metrics": [{"Id": "throttles", "Expression": "reads + writes", "Label": "Throttled requests"},
    {"Id": "reads", "ReturnData": false,
      "MetricStat": {"Metric": {"Namespace": "AWS/DynamoDB", "MetricName": "ReadThrottleEvents",
          "Dimensions": [{"Name": "TableName", "Value": "triggers-local-subscriptions"}]},
        "Period": 300, "Stat": "Sum"}},
    {"Id": "writes", "ReturnData": false,
      "MetricStat": {"Metric": {"Namespace": "AWS/DynamoDB", "MetricName": "WriteThrottleEvents",
          "Dimensions": [{"Name": "TableName", "Value": "triggers-local-subscriptions"}]},
        "Period": 300, "Stat": "Sum"}}],
  "EvaluationPeriods": 2, "Threshold": 10, "ComparisonOperator": "GreaterThanThreshold",
  "TreatMissingData": "notBreaching",
  "AlarmActions": ["'"${topic_arn}"'"],
  "OKActions": ["'"${topic_arn}"'"]}' &
pids+=($!)
put_alarm triggers-local-subscriptions-table-system-errors '{"AlarmName": "triggers-local-subscriptions-table-system-errors",
  "AlarmDescription": "DynamoDB failed requests on the subscriptions table (HTTP 500)",
  "Metrics": [{"Id": "errors", "Expression": "SUM(METRICS())", "Label": "System errors"},
    {"Id": "getitem", "ReturnData": false,
      "MetricStat": {"Metric": {"Namespace": "AWS/DynamoDB", "MetricName": "SystemErrors",
          "Dimensions": [{"Name": "TableName", "Value": "triggers-local-subscriptions"},
            {"Name": "Operation", "Value": "GetItem"}]},
        "Period": 300, "Stat": "Sum"}},
    {"Id": "query", "ReturnData": false,
      "MetricStat": {"Metric": {"Namespace": "AWS/DynamoDB", "MetricName": "SystemErrors",
          "Dimensions": [{"Name": "TableName", "Value": "triggers-local-subscriptions"},
            {"Name": "Operation", "Value": "Query"}]},
        "Period": 300, "Stat": "Sum"}},
    {"Id": "updateitem", "ReturnData": false,
      "MetricStat": {"Metric": {"Namespace": "AWS/DynamoDB", "MetricName": "SystemErrors",
          "Dimensions": [{"Name": "TableName", "Value": "triggers-local-subscriptions"},
            {"Name": "Operation", "Value": "UpdateItem"}]},
        "Period": 300, "Stat": "Sum"}},
    {"Id": "transactwriteitems", "ReturnData": false,
      "MetricStat": {"Metric": {"Namespace": "AWS/DynamoDB", "MetricName": "SystemErrors",
          "Dimensions": [{"Name": "TableName", "Value": "triggers-local-subscriptions"},
            {"Name": "Operation", "Value": "TransactWriteItems"}]},
        "Period": 300, "Stat": "Sum"}}],
  "EvaluationPeriods": 1, "Threshold": 0, "ComparisonOperator": "GreaterThanThreshold",
  "TreatMissingData": "notBreaching",
  "AlarmActions": ["'"${topic_arn}"'"],
  "OKActions": ["'"${topic_arn}"'"]}' &
pids+=($!)
put_alarm triggers-local-deliveries-table-throttles '{"AlarmName": "triggers-local-deliveries-table-throttles",
  "AlarmDescription": "Reads or writes on the deliveries table were throttled",
  "Metrics": [{"Id": "throttles", "Expression": "reads + writes", "Label": "Throttled requests"},
    {"Id": "reads", "ReturnData": false,
      "MetricStat": {"Metric": {"Namespace": "AWS/DynamoDB", "MetricName": "ReadThrottleEvents",
          "Dimensions": [{"Name": "TableName", "Value": "triggers-local-deliveries"}]},
        "Period": 300, "Stat": "Sum"}},
    {"Id": "writes", "ReturnData": false,
      "MetricStat": {"Metric": {"Namespace": "AWS/DynamoDB", "MetricName": "WriteThrottleEvents",
          "Dimensions": [{"Name": "TableName", "Value": "triggers-local-deliveries"}]},
        "Period": 300, "Stat": "Sum"}}],
  "EvaluationPeriods": 2, "Threshold": 10, "ComparisonOperator": "GreaterThanThreshold",
  "TreatMissingData": "notBreaching",
  "AlarmActions": ["'"${topic_arn}"'"],
  "OKActions": ["'"${topic_arn}"'"]}' &
pids+=($!)
put_alarm triggers-local-deliveries-table-system-errors '{"AlarmName": "triggers-local-deliveries-table-system-errors",
  "AlarmDescription": "DynamoDB failed requests on the deliveries table (HTTP 500)",
  "Metrics": [{"Id": "errors", "Expression": "SUM(METRICS())", "Label": "System errors"},
    {"Id": "getitem", "ReturnData": false,
      "MetricStat": {"Metric": {"Namespace": "AWS/DynamoDB", "MetricName": "SystemErrors",
          "Dimensions": [{"Name": "TableName", "Value": "triggers-local-deliveries"},
            {"Name": "Operation", "Value": "GetItem"}]},
        "Period": 300, "Stat": "Sum"}},
    {"Id": "query", "ReturnData": false,
      "MetricStat": {"Metric": {"Namespace": "AWS/DynamoDB", "MetricName": "SystemErrors",
          "Dimensions": [{"Name": "TableName", "Value": "triggers-local-deliveries"},
            {"Name": "Operation", "Value": "Query"}]},
        "Period": 300, "Stat": "Sum"}},
    {"Id": "updateitem", "ReturnData": false,
      "MetricStat": {"Metric": {"Namespace": "AWS/DynamoDB", "MetricName": "SystemErrors",
          "Dimensions": [{"Name": "TableName", "Value": "triggers-local-deliveries"},
            {"Name": "Operation", "Value": "UpdateItem"}]},
        "Period": 300, "Stat": "Sum"}}],
  "EvaluationPeriods": 1, "Threshold": 0, "ComparisonOperator": "GreaterThanThreshold",
  "TreatMissingData": "notBreaching",
  "AlarmActions": ["'"${topic_arn}"'"],
  "OKActions": ["'"${topic_arn}"'"]}' &
pids+=($!)
for pid in "${pids[@]}"; do
  wait "$pid"
done

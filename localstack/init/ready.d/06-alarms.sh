#!/usr/bin/env bash
# CloudWatch alarms of template.yaml on the dead-letter queues (any visible message alarms).
# Idempotent: put-metric-alarm creates or replaces the alarm of that name.
set -euo pipefail
STAGE="${STAGE:-local}"
prefix="triggers-${STAGE}"

dlq_alarm() {  # queue short name, description
  awslocal cloudwatch put-metric-alarm --alarm-name "${prefix}-$1" --alarm-description "$2" \
    --namespace AWS/SQS --metric-name ApproximateNumberOfMessagesVisible \
    --dimensions "Name=QueueName,Value=${prefix}-$1" --statistic Maximum --period 300 \
    --evaluation-periods 1 --threshold 0 --comparison-operator GreaterThanThreshold \
    --treat-missing-data notBreaching
  echo "alarm ${prefix}-$1 ready"
}

# Side by side: each AWS CLI start-up costs about half a second.
dlq_alarm delivery-dlq "Webhook deliveries exhausted their retry schedule" &
delivery=$!
dlq_alarm stream-dlq "Stream batches failed permanently (pipeline failure, not a subscriber)" &
stream=$!
wait "$delivery"
wait "$stream"

"""Scenario 3, indexer: documents/s through the indexer handler vs raw `helpers.bulk`.

The handler is invoked in-process with stream batches of 10 INSERT records (the mapping's batch
size); the baseline bulk-indexes the same documents (fresh ids, same shape, same external
versions, through the same alias) with opensearch-py's `helpers.bulk` in chunks of the same
size. Rounds alternate between the two.
"""

import time

from opensearchpy import helpers

from devtools.bench.context import BenchContext, event_body, stream_event
from devtools.bench.core import Figure, Sample
from devtools.runner.lambda_context import LocalLambdaContext
from ingest.core.opensearch_client import opensearch_client
from processors.indexer.index import document

SCENARIO = "3. indexer"
BATCH = 10
ROUNDS = 2


def run_scenario(context: BenchContext) -> list[Figure]:
    from processors.indexer.handler import lambda_handler

    settings = context.app_settings
    client = opensearch_client(settings.opensearch_endpoint)
    stream_arn = context.dynamodb.describe_table(TableName=settings.events_table)["Table"]["LatestStreamArn"]
    tenant_id, _ = context.new_tenant("bench-index")
    batches = max(1, context.settings.indexer_batches // ROUNDS)

    def measured_round() -> Sample:
        events = [
            stream_event(context.items(tenant_id, [event_body(n) for n in range(BATCH)]), stream_arn)
            for _ in range(batches)
        ]
        started = time.perf_counter()
        for event in events:
            response = lambda_handler(event, LocalLambdaContext("triggers-local-indexer", timeout_seconds=30))
            if response.get("batchItemFailures"):
                raise RuntimeError(f"indexer deferred records: {response}")
        return Sample(time.perf_counter() - started, operations=batches, events=batches * BATCH)

    def baseline_round() -> Sample:
        actions = [
            {
                "_op_type": "index",
                "_index": settings.index_alias,
                "_id": item.event_id,
                "version": item.rev,
                "version_type": "external",
                "_source": document(item),
            }
            for _ in range(batches)
            for item in context.items(tenant_id, [event_body(n) for n in range(BATCH)])
        ]
        started = time.perf_counter()
        indexed, errors = helpers.bulk(client, actions, chunk_size=BATCH, stats_only=True)
        if errors:
            raise RuntimeError(f"helpers.bulk failed for {errors} documents")
        return Sample(time.perf_counter() - started, operations=batches, events=indexed)

    context.say("indexer: warming up")
    measured_round()
    baseline_round()
    measured, baseline = Sample(0.0), Sample(0.0)
    for round_number in range(ROUNDS):
        context.say(f"indexer: round {round_number + 1} of {ROUNDS}")
        measured = measured.merge(measured_round())
        baseline = baseline.merge(baseline_round())
    return [
        Figure(
            scenario=SCENARIO,
            name=f"indexer handler, stream batches of {BATCH}",
            unit="docs/s",
            measured=measured.events_per_second,
            baseline=baseline.events_per_second,
            baseline_name=f"helpers.bulk, chunks of {BATCH}",
            target=0.8,
            target_text="≥ 0.8x raw",
            details={"measured": measured.summary(), "baseline": baseline.summary()},
        )
    ]

"""The indexer: keeps the OpenSearch `events` alias in step with the events table stream."""

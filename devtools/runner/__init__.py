"""The local Lambda runtime: hosting handlers in-process, the event source mapping runner, the API server."""

"""Ingest: the HTTP API Lambda and the event contract every processor imports."""

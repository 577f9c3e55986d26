"""Fanout: delivers each new event to every matching subscriber webhook."""

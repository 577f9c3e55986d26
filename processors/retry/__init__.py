"""Retry: re-attempts failed webhook deliveries on the retry schedule."""

"""Webhook delivery shared by the fanout and retry functions: signing, SSRF guard, transport, schedule."""

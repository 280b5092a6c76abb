"""Webhooks: emitting events, delivering them, the HTTP client, the delivery policy."""

"""The conversation core: events in, one transaction, effects out through the outbox. No platform imports."""

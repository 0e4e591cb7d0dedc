"""Persistence: SQLModel tables, named queries, the outbox and the inbound dedup receipts."""

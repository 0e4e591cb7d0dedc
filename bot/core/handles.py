"""What adapters may hold from storage without querying it: the database handle (opaque, passed back to the
core's functions), the outbox row's payload decoder and its in-flight marker, and the id rules people type."""

from __future__ import annotations

from storage.db import Database
from storage.ids import MAX_ID, as_id, looks_numeric
from storage.outbox import IN_FLIGHT, payload_of

__all__ = ["IN_FLIGHT", "MAX_ID", "Database", "as_id", "looks_numeric", "payload_of"]

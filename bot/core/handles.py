"""What adapters may hold from storage without querying it: the database handle (opaque, passed back to the
core's functions), the outbox row's in-flight marker, and the id rules people type. (A row's payload reaches
its handler already parsed: bot/core/outbox_kinds.py.)"""

from __future__ import annotations

from storage.db import Database
from storage.ids import MAX_ID, as_id, looks_numeric
from storage.outbox import IN_FLIGHT

__all__ = ["IN_FLIGHT", "MAX_ID", "Database", "as_id", "looks_numeric"]

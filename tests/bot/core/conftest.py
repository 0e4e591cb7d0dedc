"""The core's tests: a migrated database of their own (SQLite, or PostgreSQL when asked) and a clock they move."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from storage.db import Database
from tests.support import databases
from tests.support.harness import ShiftedClock


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    url = databases.url_for(tmp_path, "core")
    await databases.prepare(url)
    database = Database(url)
    await database.upgrade()
    yield database
    await database.dispose()


@pytest.fixture
def clock() -> ShiftedClock:
    return ShiftedClock()

"""A migrated database of the suite's kind (SQLite, or PostgreSQL with BATON_TEST_DATABASE_URL) for each test."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from storage.db import Database
from tests.support import databases


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    url = databases.url_for(tmp_path)
    await databases.prepare(url)
    database = Database(url)
    yield database
    await database.dispose()

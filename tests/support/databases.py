"""Where a test's data lives: a SQLite file in tmp_path by default, or a fresh PostgreSQL database.

Set BATON_TEST_DATABASE_URL=postgresql+asyncpg://user@host:port/db to run the suite on PostgreSQL. Each
test then gets its own database, created on first use by copying one migrated template
(`CREATE DATABASE x TEMPLATE tpl` is a file copy: far faster than migrating every time) and dropped when
the test ends. The database named in the URL is only used to create and drop the others.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Protocol, TypeVar

import pytest
from sqlalchemy.engine import make_url

from storage.db import Database

PG_ENV = "BATON_TEST_DATABASE_URL"
PG_URL = os.environ.get(PG_ENV) or None

_sqlite_template: Path | None = None
_pg_template: str | None = None
# Databases made for the running test (tests in one process run one at a time), dropped at its end.
_pg_created: list[str] = []
_pg_names: dict[str, str] = {}


def on_postgres() -> bool:
    return PG_URL is not None


def postgres_only(why: str) -> pytest.MarkDecorator:
    """Skips a test (or a module, as `pytestmark`) that needs PostgreSQL, saying why and how to run it."""
    return pytest.mark.skipif(not on_postgres(), reason=f"{why}: set {PG_ENV} (make test-postgres)")


def _pg_dsn(database: str | None = None) -> str:
    """A plain libpq/asyncpg DSN for the admin connection (asyncpg does not know "+asyncpg")."""
    assert PG_URL is not None
    url = make_url(PG_URL).set(drivername="postgresql")
    if database is not None:
        url = url.set(database=database)
    return url.render_as_string(hide_password=False)


def url_for(tmp_path: Path, name: str = "baton") -> str:
    """The storage URL of this test's database `name` (not created yet: see prepare)."""
    if PG_URL is None:
        return f"sqlite+aiosqlite:///{tmp_path / f'{name}.db'}"
    key = f"{tmp_path}:{name}"
    if key not in _pg_names:
        _pg_names[key] = f"baton_t_{uuid.uuid4().hex[:16]}"
    return make_url(PG_URL).set(database=_pg_names[key]).render_as_string(hide_password=False)


async def prepare(url: str, *, migrated: bool = True) -> None:
    """Create the database behind `url` if it does not exist yet: at the current schema, or empty."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        target = Path(parsed.database or "")
        if migrated and not target.exists():
            shutil.copyfile(await _sqlite_migrated_template(), target)
        return
    name = parsed.database or ""
    if name in _pg_created:
        return
    template = await _pg_migrated_template() if migrated else "template0"
    await _pg_admin(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
    _pg_created.append(name)


class _Closable(Protocol):
    async def close(self) -> None: ...


C = TypeVar("C", bound=_Closable)


@asynccontextmanager
async def two_instances_of(tmp_path: Path, make: Callable[[Database], C]) -> AsyncIterator[tuple[C, C]]:
    """`make` run for two Baton instances (an engine each) sharing one prepared database; both closed after."""
    url = url_for(tmp_path)
    await prepare(url)
    dbs = [Database(url), Database(url)]
    made = [make(db) for db in dbs]
    try:
        yield made[0], made[1]
    finally:
        for each in made:
            await each.close()
        for db in dbs:
            await db.dispose()


async def drop_created() -> None:
    """Drop this test's PostgreSQL databases (FORCE: a killed Baton's connections may linger)."""
    while _pg_created:
        await _pg_admin(f'DROP DATABASE IF EXISTS "{_pg_created.pop()}" WITH (FORCE)')
    _pg_names.clear()


async def drop_template() -> None:
    global _pg_template
    if _pg_template is not None:
        await _pg_admin(f'DROP DATABASE IF EXISTS "{_pg_template}" WITH (FORCE)')
        _pg_template = None


async def reachable() -> str | None:
    """None when PostgreSQL answers; otherwise why not, for the skip message."""
    try:
        await _pg_admin("SELECT 1")
    except Exception as exc:
        return f"{type(exc).__name__}: {exc}"
    return None


async def _sqlite_migrated_template() -> Path:
    global _sqlite_template
    if _sqlite_template is None:
        path = Path(tempfile.mkdtemp(prefix="baton-template-")) / "template.db"
        db = Database(f"sqlite+aiosqlite:///{path}")
        await db.upgrade()
        await db.dispose()
        _sqlite_template = path
    return _sqlite_template


async def _pg_migrated_template() -> str:
    global _pg_template
    if _pg_template is None:
        name = f"baton_tpl_{os.getpid()}_{uuid.uuid4().hex[:8]}"
        await _pg_admin(f'CREATE DATABASE "{name}" TEMPLATE template0')
        assert PG_URL is not None
        db = Database(make_url(PG_URL).set(database=name).render_as_string(hide_password=False))
        await db.upgrade()
        # A template must have no connections while it is copied.
        await db.dispose()
        _pg_template = name
    return _pg_template


async def _pg_admin(sql: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(_pg_dsn(), timeout=5)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()

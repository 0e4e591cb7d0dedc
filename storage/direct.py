"""Hot-path statements run straight on the driver, without SQLAlchemy's per-statement machinery.

Executing a Core statement through an `AsyncSession` costs about 150 µs of CPU here on SQLite and about
twice that on PostgreSQL (the session, the execution context, the result object, and greenlet round trips
through the asyncio adapter), where the databases take a few tens of microseconds to run the statements
of Baton's hot path. A `Direct` statement is compiled once per dialect; a call binds its parameters with
the types' own processors (so values are stored exactly as SQLAlchemy would store them), runs the SQL on
the session's own driver connection, in its transaction, and hands back plain tuples converted by the
result types' processors.

- SQLite: on the PrefetchingConnection (storage/sqlite_driver.py) of the session's transaction.
- PostgreSQL: on the asyncpg connection of the session's transaction, once that transaction has begun on
  the server (`is_in_transaction()`, asyncpg's own word for it). SQLAlchemy's asyncpg adapter begins it
  lazily, with the transaction's first statement, so a transaction's first statement goes through
  SQLAlchemy, which begins it, and the rest go to the driver. Commit and rollback stay SQLAlchemy's.
- Any other dialect: the statement goes through the session's connection as usual (Core, not the ORM),
  so behaviour is the same everywhere and only the cost differs.
- The session's pending ORM changes are flushed first, as SQLAlchemy's autoflush would before a query,
  so a statement never overtakes a row the session has yet to write.
- Driver errors are raised as SQLAlchemy's (`DBAPIError.instance`), as the engine would raise them (on
  PostgreSQL through the same classes SQLAlchemy's adapter maps asyncpg's errors to).
- The engine's `before_cursor_execute` event does not see these statements; `on_statement` listeners do
  (the benchmark counts statements with both).

Statements with expanding (IN-list) parameters are refused when compiled: their SQL depends on the values.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, cast

from sqlalchemy import exc as sa_exc
from sqlalchemy.dialects.sqlite import aiosqlite
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql import ClauseElement, Executable, Insert, Select
from sqlalchemy.sql.compiler import SQLCompiler
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.sqlite_driver import PrefetchingConnection

# Called with each statement's SQL before it runs (bench/counted.py counts them).
on_statement: list[Callable[[str], None]] = []

_Processor = Callable[[Any], Any] | None
_CONNECTION = "baton.direct_connection"  # session.info: (its transaction, the connection, the driver's or None)
_MISSING = object()
_ROWS, _COUNT, _MANY = "rows", "count", "many"  # what a Direct call wants back
_SQLITE = aiosqlite.dialect()


class _Compiled:
    """One statement, compiled for one dialect: the SQL and how to bind and read it."""

    __slots__ = ("binds", "results", "sql")

    def __init__(self, statement: Executable, dialect: Dialect, column_keys: Sequence[str] | None) -> None:
        compiled = cast(SQLCompiler, cast(ClauseElement, statement).compile(
            dialect=dialect, column_keys=list(column_keys or ()) or None))
        positions = compiled.positiontup
        if positions is None:
            raise ValueError(f"{dialect.name} has no positional parameters: not a Direct statement")
        defaulted = [*compiled.insert_prefetch, *compiled.update_prefetch]
        if defaulted:  # SQLAlchemy computes these per execution; this runs no defaults
            raise ValueError(f"{', '.join(c.name for c in defaulted)} would take Python-side defaults: give them "
                             "values (an INSERT names them in column_keys)")
        self.sql = compiled.string
        self.binds: list[tuple[str, Any, _Processor]] = []
        for name in positions:
            bind = compiled.binds[name]
            if bind.expanding:
                raise ValueError(f"expanding parameter {name!r}: not a Direct statement")
            default = bind.effective_value if not bind.required else _MISSING
            self.binds.append((bind.key, default, bind.type.dialect_impl(dialect).bind_processor(dialect)))
        columns: Iterable[Any] = (statement.selected_columns if isinstance(statement, Select)
                                  else getattr(statement, "exported_columns", ()))  # RETURNING
        self.results: list[_Processor] = [column.type.dialect_impl(dialect).result_processor(dialect, None)
                                          for column in columns]

    def parameters(self, values: Mapping[str, Any]) -> list[Any]:
        out = []
        for key, default, process in self.binds:
            value = values.get(key, default)
            if value is _MISSING:  # as SQLAlchemy says it
                problem = f"A value is required for bind parameter {key!r}"
                raise sa_exc.StatementError(problem, self.sql, dict(values), sa_exc.InvalidRequestError(problem))
            out.append(process(value) if process is not None else value)
        return out

    def row(self, raw: Sequence[Any]) -> tuple[Any, ...]:
        return tuple(value if process is None else process(value) for value, process in zip(raw, self.results,
                                                                                           strict=False))


class Direct:
    """A Core statement (built once, with `bindparam`s) to run on the hot path."""

    def __init__(self, statement: Executable, *, column_keys: Iterable[str] | None = None) -> None:
        if isinstance(statement, Insert) and column_keys is None:
            raise ValueError("an INSERT names the columns it sets (column_keys): the SQL depends on them")
        self.statement = statement
        self._column_keys = tuple(column_keys) if column_keys is not None else None  # an INSERT's columns
        self._compiled: dict[str, _Compiled] = {}  # by dialect name
        _Compiled(statement, _SQLITE, self._column_keys)  # what cannot run directly fails here, at import

    def _for(self, dialect: Dialect) -> _Compiled:
        compiled = self._compiled.get(dialect.name)
        if compiled is None:
            compiled = self._compiled[dialect.name] = _Compiled(self.statement, dialect, self._column_keys)
        return compiled

    async def rows(self, session: AsyncSession, params: Mapping[str, Any]) -> list[tuple[Any, ...]]:
        """Every row the statement returns (a SELECT, or RETURNING)."""
        return cast(list[tuple[Any, ...]], await self._run(session, params, _ROWS))

    async def first(self, session: AsyncSession, params: Mapping[str, Any]) -> tuple[Any, ...] | None:
        rows = await self.rows(session, params)
        return rows[0] if rows else None

    async def execute(self, session: AsyncSession, params: Mapping[str, Any]) -> int:
        """A statement that returns no rows; how many rows it changed."""
        return cast(int, await self._run(session, params, _COUNT))

    async def execute_many(self, session: AsyncSession, rows: Sequence[Mapping[str, Any]]) -> None:
        """The statement once per row, in order (an INSERT of several rows)."""
        await self._run(session, rows, _MANY)

    async def _run(self, session: AsyncSession, values: Any, want: str) -> Any:
        """`values` (a mapping, or one per row for _MANY) bound and run where the session's transaction is;
        the rows (_ROWS), the count of rows changed (_COUNT) or nothing (_MANY)."""
        connection, driver = await _connection(session)
        on_sqlite = isinstance(driver, PrefetchingConnection)
        if on_sqlite or (driver is not None and driver.is_in_transaction()):
            compiled = self._for(connection.dialect)
            params = ([compiled.parameters(row) for row in values] if want == _MANY
                      else compiled.parameters(values))
            for listener in on_statement:
                listener(compiled.sql)
            run = _on_sqlite if on_sqlite else _on_asyncpg
            return await run(driver, compiled, params, connection.dialect, want)
        # Another dialect, or a PostgreSQL transaction not begun yet: SQLAlchemy runs it (and begins it).
        result = await connection.execute(self.statement, [dict(row) for row in values] if want == _MANY
                                          else dict(values))
        if want == _ROWS:
            return [tuple(row) for row in result.all()]
        return int(result.rowcount or 0) if want == _COUNT else None


async def _connection(session: AsyncSession) -> tuple[AsyncConnection, Any]:
    """The connection of the session's transaction (beginning it) and the driver connection to run on (the
    SQLite PrefetchingConnection, an asyncpg connection, or None), once the session's pending ORM changes
    are written."""
    sync = session.sync_session
    if sync.new or sync.dirty or sync.deleted:
        await session.flush()
    transaction = sync.get_transaction()
    cached = session.info.get(_CONNECTION)
    if cached is not None and cached[0] is transaction:
        return cached[1], cached[2]
    connection = await session.connection()
    driver = connection.sync_connection.connection.driver_connection if connection.sync_connection else None
    found = (connection, driver if isinstance(driver, PrefetchingConnection) or _is_asyncpg(driver) else None)
    session.info[_CONNECTION] = (sync.get_transaction(), *found)
    return found


async def _on_sqlite(driver: PrefetchingConnection, compiled: _Compiled, params: list[Any], dialect: Dialect,
                     want: str) -> Any:
    try:
        if want == _MANY:
            await driver.executemany(compiled.sql, params)
            return None
        cursor = await driver.execute(compiled.sql, params)
    except sqlite3.Error as error:
        raise sa_exc.DBAPIError.instance(compiled.sql, params, error, sqlite3.Error, dialect=dialect) from error
    if want == _ROWS:
        return [compiled.row(raw) for raw in await cursor.fetchall()]
    return int(cursor.rowcount)


def _is_asyncpg(driver: object) -> bool:
    return type(driver).__module__.startswith("asyncpg")


async def _on_asyncpg(driver: Any, compiled: _Compiled, params: list[Any], dialect: Dialect, want: str) -> Any:
    import asyncpg  # only ever here with asyncpg in use

    try:
        if want == _MANY:
            await driver.executemany(compiled.sql, params)
            return None
        if want == _ROWS:
            return [compiled.row(record) for record in await driver.fetch(compiled.sql, *params)]
        status = await driver.execute(compiled.sql, *params)
    except (asyncpg.PostgresError, asyncpg.InterfaceError) as error:
        dbapi = cast(Any, dialect.dbapi)
        # The classes SQLAlchemy's asyncpg adapter raises for these (PEP 249's names on its DBAPI module).
        kind = (dbapi.IntegrityError if isinstance(error, asyncpg.IntegrityConstraintViolationError)
                else dbapi.ProgrammingError if isinstance(error, asyncpg.SyntaxOrAccessError)
                else dbapi.InterfaceError if isinstance(error, asyncpg.InterfaceError)
                else dbapi.Error)
        translated = kind(f"{type(error)}: {error}")
        translated.pgcode = translated.sqlstate = getattr(error, "sqlstate", None)
        raise sa_exc.DBAPIError.instance(compiled.sql, params, translated, dbapi.Error, dialect=dialect) from error
    count = str(status).rsplit(" ", 1)[-1]  # "UPDATE 3", "INSERT 0 1", "DELETE 0"
    return int(count) if count.isdigit() else 0

"""Read access to the marts, async and never blocking the event loop.

- PostgreSQL: an `AsyncConnectionPool` of autocommit connections with a statement timeout.
  The marts are never read in place (dbt rebuilds and tests them there): the API follows the
  newest version in `publication.versions` and reads the schema published for it,
  `published_<version>`, named by `orchestration.lib.publish.published_schema`, never by a
  request. The `marts.` of every statement in api/queries.py is rewritten to that schema.
- DuckDB: the API never opens the pipeline's file (DuckDB locks it against other processes
  while the pipeline writes). It follows `<snapshot_dir>/CURRENT`, loads that version's
  Parquet files into its own in-memory DuckDB database, and swaps databases when CURRENT
  changes. Queries run in worker threads, each on its own cursor of the loaded database.
"""

from __future__ import annotations

import asyncio
import logging
import re
import threading
import time
from datetime import datetime
from pathlib import Path
from typing import Any

from api import queries
from api.config import Settings
from orchestration.lib.publish import MANIFEST_FILE, published_schema, read_current

log = logging.getLogger("polyboard.api.warehouse")

Row = dict[str, Any]
_PG_PARAM = re.compile(r"%\((\w+)\)s")
_MARTS = re.compile(r"\bmarts\.")


NOT_PUBLISHED = (
    "no published marts in PostgreSQL yet: the pipeline publishes them after a build whose "
    "data tests pass"
)


class WarehouseUnavailable(RuntimeError):
    """The marts cannot be read right now (no publication yet, database unreachable)."""


class MartsMissing(WarehouseUnavailable):
    """A mart or column the API reads is not there (marts not built, or built differently)."""


class Warehouse:
    kind: str
    version: str | None = None  # the publication the data comes from: the cache stamp
    as_of: datetime | None = None  # the data watermark of that publication

    async def start(self) -> None: ...

    async def stop(self) -> None: ...

    async def fetch(self, sql: str, params: dict[str, Any] | None = None) -> list[Row]:
        raise NotImplementedError

    async def fetch_one(self, sql: str, params: dict[str, Any] | None = None) -> Row | None:
        rows = await self.fetch(sql, params)
        return rows[0] if rows else None

    async def refresh(self) -> bool:
        """Re-read the publication; True when the version changed."""
        raise NotImplementedError

    async def ping(self) -> None:
        """Raise when the marts cannot be read."""
        await self.fetch(queries.PING)


class PostgresWarehouse(Warehouse):
    kind = "postgres"

    def __init__(self, settings: Settings):
        from psycopg.rows import dict_row
        from psycopg_pool import AsyncConnectionPool

        options = f"-c statement_timeout={settings.pg_statement_timeout_ms}"
        self.pool = AsyncConnectionPool(
            settings.database_url,
            min_size=settings.pg_pool_min_size,
            max_size=settings.pg_pool_max_size,
            kwargs={"autocommit": True, "row_factory": dict_row, "options": options},
            open=False,
            timeout=5.0,
            name="polyboard-api",
        )
        self._schema: str | None = None  # where the published `version` is read

    async def start(self) -> None:
        # Do not wait for the database: the process comes up and /ready tells when it can serve.
        await self.pool.open(wait=False)

    async def stop(self) -> None:
        await self.pool.close()

    async def _execute(self, sql: str, params: dict[str, Any] | None = None) -> list[Row]:
        import psycopg
        from psycopg_pool import PoolTimeout

        try:
            async with self.pool.connection() as con:
                cur = await con.execute(sql, params or None)
                return await cur.fetchall()
        except (PoolTimeout, psycopg.OperationalError) as exc:
            raise WarehouseUnavailable(f"PostgreSQL unavailable: {exc}") from exc
        except (psycopg.errors.UndefinedTable, psycopg.errors.UndefinedColumn) as exc:
            raise MartsMissing(f"the marts are not built as expected: {exc}") from exc

    async def fetch(self, sql: str, params: dict[str, Any] | None = None) -> list[Row]:
        schema = self._schema
        if schema is None:
            raise WarehouseUnavailable(NOT_PUBLISHED)
        try:
            return await self._execute(_in_schema(sql, schema), params)
        except MartsMissing:
            # Publications older than the two newest are dropped, possibly before this process
            # polled: follow the newest one and ask again, once.
            if not await self.refresh() or self._schema is None:
                raise
            log.info("%s was dropped; serving publication %s", schema, self.version)
            return await self._execute(_in_schema(sql, self._schema), params)

    async def refresh(self) -> bool:
        try:
            rows = await self._execute(queries.PUBLICATION_VERSION)
        except MartsMissing:  # no publication has ever been recorded
            rows = []
        version = rows[0]["version"] if rows else None
        if version == self.version:
            return False
        if version is None:
            self.version = self._schema = self.as_of = None
            return True
        schema = published_schema(version)
        watermark = await self._execute(_in_schema(queries.DATA_WATERMARK, schema))
        # Set together, with no await in between: `version` always names what `_schema` holds.
        self.version, self._schema = version, schema
        self.as_of = watermark[0]["as_of"] if watermark else None
        return True

    async def ping(self) -> None:
        if self._schema is None:
            # Tells an unreachable database from one with nothing published yet.
            await self.refresh()
        await self.fetch(queries.DATA_WATERMARK)


def _in_schema(sql: str, schema: str) -> str:
    """The statement reading `schema` where it names `marts.`."""
    return _MARTS.sub(schema + ".", sql)


class _Snapshot:
    """One published version, loaded into an in-memory DuckDB database."""

    def __init__(self, version: str, folder: Path):
        import duckdb

        self.version = version
        self.db = duckdb.connect(":memory:")
        self.db.execute("set threads = 2")
        self.db.execute("create schema marts")
        self.tables: list[str] = []
        for path in sorted(folder.glob("*.parquet")):
            table = path.stem
            escaped = str(path).replace("'", "''")
            self.db.execute(
                f"create table marts.\"{table}\" as select * from read_parquet('{escaped}')"
            )
            self.tables.append(table)
        if not (folder / MANIFEST_FILE).exists():
            raise WarehouseUnavailable(f"snapshot {version} has no {MANIFEST_FILE}")
        row = (
            self.db.execute(queries.DATA_WATERMARK).fetchone()
            if "data_watermark" in self.tables
            else None
        )
        self.as_of = row[0] if row else None
        self._local = threading.local()

    def query(self, sql: str, params: dict[str, Any]) -> list[Row]:
        # A DuckDB connection must not run two queries at once; a cursor per thread can.
        cur = getattr(self._local, "cursor", None)
        if cur is None:
            cur = self._local.cursor = self.db.cursor()
        cur.execute(sql, params)
        names = [d[0] for d in cur.description]
        return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]

    def close(self) -> None:
        self.db.close()


class SnapshotWarehouse(Warehouse):
    kind = "duckdb"

    def __init__(self, settings: Settings):
        self.root = Path(settings.snapshot_dir)
        self._snapshot: _Snapshot | None = None
        self._failed_version: str | None = None

    async def stop(self) -> None:
        if self._snapshot is not None:
            self._snapshot.close()
            self._snapshot = None

    async def fetch(self, sql: str, params: dict[str, Any] | None = None) -> list[Row]:
        snapshot = self._snapshot
        if snapshot is None:
            raise WarehouseUnavailable(
                f"no published snapshot under {self.root} yet: run the pipeline"
            )
        import duckdb

        duck_sql = _PG_PARAM.sub(r"$\1", sql)
        # DuckDB rejects parameters the statement does not use; psycopg ignores them.
        used = set(_PG_PARAM.findall(sql))
        duck_params = {k: v for k, v in (params or {}).items() if k in used}
        try:
            return await asyncio.to_thread(snapshot.query, duck_sql, duck_params)
        except (duckdb.CatalogException, duckdb.BinderException) as exc:
            raise MartsMissing(
                f"snapshot {snapshot.version} lacks a mart or column: {exc}"
            ) from exc

    async def refresh(self) -> bool:
        version = await asyncio.to_thread(read_current, self.root)
        if version is None or version == self.version or version == self._failed_version:
            return False
        started = time.perf_counter()
        try:
            snapshot = await asyncio.to_thread(_Snapshot, version, self.root / version)
        except Exception as exc:
            # A broken publication keeps the previous one in service; retried when CURRENT moves.
            self._failed_version = version
            log.error("cannot load snapshot %s: %s", version, exc)
            return False
        previous, self._snapshot = self._snapshot, snapshot
        self.version, self.as_of = snapshot.version, snapshot.as_of
        log.info(
            "serving snapshot %s (%d tables, loaded in %.2fs)",
            version,
            len(snapshot.tables),
            time.perf_counter() - started,
        )
        if previous is not None:
            # Queries already running on the old database finish before it is closed.
            asyncio.get_running_loop().call_later(30, previous.close)
        return True

    async def ping(self) -> None:
        await self.fetch(queries.PING)


def make_warehouse(settings: Settings) -> Warehouse:
    if settings.database_url:
        return PostgresWarehouse(settings)
    return SnapshotWarehouse(settings)

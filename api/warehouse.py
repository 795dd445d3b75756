"""Read access to the marts, async and never blocking the event loop.

- PostgreSQL: an `AsyncConnectionPool` of autocommit connections with a statement timeout.
  The marts are never read in place (dbt rebuilds and tests them there): the API follows the
  newest version in `publication.versions` and reads the schema published for it,
  `published_<version>`, named by `orchestration.lib.publish.published_schema`, never by a
  request. The `marts.` of every statement in api/queries.py is rewritten to that schema.
  While the database is unreachable a breaker answers at once (see `api/breaker.py`).
- DuckDB: the API never opens the pipeline's file (DuckDB locks it against other processes
  while the pipeline writes). It follows `<snapshot_dir>/CURRENT`, loads that version's
  Parquet files into its own in-memory DuckDB database, and swaps databases when CURRENT
  changes. Queries run in worker threads, each on its own cursor of the loaded database,
  which is interrupted when the statement runs past its timeout.

Both run costly reads (`fetch_costly`: uncached leaderboard rankings, whose cost grows with
the number of traders) a few at a time, so a storm of them waits for its own slots and
leaves the connections and worker threads to trader lookups.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import time
from datetime import datetime
from pathlib import Path
from typing import Any

from api import queries
from api.breaker import Breaker
from api.config import Settings
from orchestration.lib.publish import MANIFEST_FILE, published_schema, read_current

log = logging.getLogger("polyboard.api.warehouse")

Row = dict[str, Any]
_PG_PARAM = re.compile(r"%\((\w+)\)s")
PROBE_TIMEOUT_SECONDS = 1.0
_MARTS = re.compile(r"\bmarts\.")


NOT_PUBLISHED = (
    "no published marts in PostgreSQL yet: the pipeline publishes them after a build whose "
    "data tests pass"
)


class WarehouseUnavailable(RuntimeError):
    """The marts cannot be read right now (no publication yet, database unreachable).

    The message is for the log (it may name paths, SQL and driver errors); `reason` is what
    a client is told.
    """

    reason = "the warehouse cannot be read right now"


class NothingPublished(WarehouseUnavailable):
    """The pipeline has not published any marts yet."""

    reason = "no marts are published yet"


class MartsMissing(WarehouseUnavailable):
    """A mart or column the API reads is not there (marts not built, or built differently)."""

    reason = "the marts are not built as this API expects"


class QueryTimeout(WarehouseUnavailable):
    """A statement ran past the statement timeout and was cancelled."""

    reason = "the query ran past the statement timeout and was cancelled; retry shortly"


class WarehouseBusy(WarehouseUnavailable):
    """Every slot for costly reads stayed taken for as long as a statement may run, or every
    connection was busy."""

    reason = "the warehouse is busy with other reads; retry shortly"


class WarehouseDown(WarehouseUnavailable):
    """PostgreSQL refuses connections; the breaker answers at once until it is back."""

    reason = "PostgreSQL unavailable; the API tries it again every few seconds"


class Warehouse:
    kind: str
    version: str | None = None  # the publication the data comes from: the cache stamp
    as_of: datetime | None = None  # the data watermark of that publication
    statement_timeout: float  # seconds; also the longest wait for a costly-read slot

    def __init__(self, settings: Settings):
        self._costly_slots = asyncio.Semaphore(settings.costly_query_concurrency)

    async def start(self) -> None: ...

    async def stop(self) -> None: ...

    async def fetch(self, sql: str, params: dict[str, Any] | None = None) -> list[Row]:
        raise NotImplementedError

    async def fetch_one(self, sql: str, params: dict[str, Any] | None = None) -> Row | None:
        rows = await self.fetch(sql, params)
        return rows[0] if rows else None

    async def fetch_costly(self, sql: str, params: dict[str, Any] | None = None) -> list[Row]:
        """`fetch` for a read that scans a whole mart: it waits for one of the few slots of
        such reads, at most a statement timeout, then gives up with 503."""
        try:
            async with asyncio.timeout(self.statement_timeout or None):
                await self._costly_slots.acquire()
        except TimeoutError:
            raise WarehouseBusy(
                f"too many uncached rankings in flight (none finished within "
                f"{self.statement_timeout:g}s); retry shortly"
            ) from None
        try:
            return await self.fetch(sql, params)
        finally:
            self._costly_slots.release()

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

        super().__init__(settings)
        self.url = settings.database_url
        self.statement_timeout = settings.pg_statement_timeout_ms / 1000
        self.breaker = Breaker("PostgreSQL", settings.pg_retry_seconds)
        options = f"-c statement_timeout={settings.pg_statement_timeout_ms}"
        self.pool = AsyncConnectionPool(
            settings.database_url,
            min_size=settings.pg_pool_min_size,
            max_size=settings.pg_pool_max_size,
            kwargs={"autocommit": True, "row_factory": dict_row, "options": options},
            open=False,
            timeout=5.0,
            # The pool's own reconnection backs off for minutes by default; the breaker's
            # probes ask for a connection every pg_retry_seconds instead, and each one must
            # find the pool ready to try at once.
            reconnect_timeout=settings.pg_retry_seconds,
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

        breaker = self.breaker
        probing = breaker.open
        if not breaker.allow():
            # The driver's error (host, port) went to the log when the breaker opened.
            raise WarehouseDown(
                f"PostgreSQL unavailable; next connection attempt in {breaker.retry_in():.1f}s"
            )
        # A probe of a database that may still be down must not hold its request for the
        # whole pool timeout.
        timeout = PROBE_TIMEOUT_SECONDS if probing else None
        try:
            async with self.pool.connection(timeout=timeout) as con:
                cur = await con.execute(sql, params or None)
                rows = await cur.fetchall()
        except psycopg.errors.QueryCanceled as exc:
            breaker.succeeded()  # the server answered: it is up, the statement was too slow
            raise QueryTimeout(
                f"the query ran past the {self.statement_timeout:g}s statement timeout"
            ) from exc
        except (PoolTimeout, psycopg.OperationalError) as exc:
            # A pool whose connections are all busy times out too, and a restart drops
            # connections: only a database that refuses a new connection opens the breaker.
            if await self._reachable():
                breaker.succeeded()
                log.warning("PostgreSQL read failed while the database is reachable: %s", exc)
                raise WarehouseBusy(
                    "PostgreSQL could not serve this read (every connection busy, or the "
                    "connection was lost); retry shortly"
                ) from exc
            breaker.failed(exc)
            raise WarehouseDown(f"PostgreSQL unavailable: {exc}") from exc
        except (psycopg.errors.UndefinedTable, psycopg.errors.UndefinedColumn) as exc:
            breaker.succeeded()
            raise MartsMissing(f"the marts are not built as expected: {exc}") from exc
        breaker.succeeded()
        return rows

    async def _reachable(self) -> bool:
        import psycopg

        try:
            async with asyncio.timeout(PROBE_TIMEOUT_SECONDS):
                con = await psycopg.AsyncConnection.connect(self.url)
        except (TimeoutError, psycopg.OperationalError):
            return False
        await con.close()
        return True

    async def fetch(self, sql: str, params: dict[str, Any] | None = None) -> list[Row]:
        schema = self._schema
        if schema is None:
            raise NothingPublished(NOT_PUBLISHED)
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
        # Not the host's zone: timestamps come back, and dates compute, in UTC on every cursor.
        self.db.execute("set global TimeZone = 'UTC'")
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

    def cursor(self):
        # A DuckDB connection runs one statement at a time; each statement gets its own
        # cursor (microseconds), which also lets a timeout interrupt exactly that statement.
        return self.db.cursor()

    @staticmethod
    def query(cur, sql: str, params: dict[str, Any]) -> list[Row]:
        try:
            cur.execute(sql, params)
            names = [d[0] for d in cur.description]
            return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]
        finally:
            cur.close()

    def close(self, wait_seconds: float = 2.0) -> None:
        """Close the in-memory database once no statement runs on it: a statement interrupted
        by its timeout can still be unwinding in its worker thread."""
        import duckdb

        deadline = time.monotonic() + wait_seconds
        while True:
            try:
                self.db.close()
                return
            except duckdb.Error as exc:
                if time.monotonic() >= deadline:
                    log.warning("snapshot %s left to the garbage collector: %s", self.version, exc)
                    return
                time.sleep(0.05)


class SnapshotWarehouse(Warehouse):
    kind = "duckdb"

    def __init__(self, settings: Settings):
        super().__init__(settings)
        self.statement_timeout = settings.duckdb_statement_timeout_ms / 1000
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
            raise NothingPublished(f"no published snapshot under {self.root} yet: run the pipeline")
        import duckdb

        duck_sql = _PG_PARAM.sub(r"$\1", sql)
        # DuckDB rejects parameters the statement does not use; psycopg ignores them.
        used = set(_PG_PARAM.findall(sql))
        duck_params = {k: v for k, v in (params or {}).items() if k in used}
        cur = snapshot.cursor()
        try:
            return await asyncio.wait_for(
                asyncio.to_thread(snapshot.query, cur, duck_sql, duck_params),
                self.statement_timeout or None,
            )
        except TimeoutError:
            # DuckDB has no statement timeout of its own: stop the worker thread's statement
            # (unless it finished, and closed its cursor, in the meantime).
            with contextlib.suppress(duckdb.ConnectionException):
                cur.interrupt()
            raise QueryTimeout(
                f"the query ran past the {self.statement_timeout:g}s statement timeout"
            ) from None
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

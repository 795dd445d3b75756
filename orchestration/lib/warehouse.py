"""Raw-table loading for both warehouses: PostgreSQL (DATABASE_URL) or embedded DuckDB.

Every load is one transaction that upserts a page of rows keyed by entity id and, when
given, the extraction cursor that produced them. A crash before COMMIT loses the page and
its cursor together; a crash after it keeps both; so a rerun neither loses nor duplicates.
Rows arrive as the subgraph serves them (GraphQL field names, BigInt as strings) and are
cast by the database, which is exact for 78-digit integers where Python floats are not.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime
from operator import itemgetter
from pathlib import Path
from typing import Any

from orchestration.lib.chain_tables import CHAIN_TABLES, ChainTable
from orchestration.lib.entities import ENTITIES, Entity
from orchestration.lib.gamma_tables import GAMMA_TABLES, GammaTable

CURSOR_TABLE = "raw._cursors"
DEFAULT_DUCKDB_PATH = ".polyboard/warehouse.duckdb"
DUCKDB_LOADER_MEMORY = "128MB"
# What a staged load writes to: a raw table with `table`, `columns` and `fields`.
Table = Entity | ChainTable | GammaTable

_PG_TYPES = {
    "text": "text",
    "bigint": "numeric(78,0)",
    "int": "integer",
    "long": "bigint",
    "bigints": "numeric(78,0)[]",
    "texts": "text[]",
    "bool": "boolean",
}
_DUCKDB_TYPES = {
    "text": "varchar",
    "bigint": "hugeint",
    "int": "integer",
    "long": "bigint",
    "bigints": "hugeint[]",
    "texts": "varchar[]",
    "bool": "boolean",
}


def normalize_pg_url(url: str) -> str:
    """Accept SQLAlchemy-style URLs (`postgresql+asyncpg://`) as libpq ones."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        raise ValueError(f"DATABASE_URL is not a URL: {url!r}")
    base = scheme.split("+", 1)[0]
    if base not in ("postgresql", "postgres"):
        raise ValueError(f"DATABASE_URL must be a postgresql:// URL, got scheme {scheme!r}")
    return f"postgresql://{rest}"


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _dedupe_last(rows: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    # One statement may not upsert the same key twice; the newest version of an id wins.
    by_id: dict[str, dict[str, Any]] = {}
    for row in rows:
        by_id[row["id"]] = row
    return list(by_id.values())


class Warehouse:
    """Common behaviour; subclasses own the connection and the bulk path."""

    kind: str
    placeholder: str  # the driver's parameter marker

    def keyed(self, entity: Entity) -> bool:
        """Whether the table enforces its id with a primary key (see DuckDBWarehouse)."""
        return True

    def table_ddl(self, entity: Entity) -> str:
        types = _PG_TYPES if self.kind == "postgres" else _DUCKDB_TYPES
        cols = [f"{_quote(name)} {types[kind]}" for name, kind in entity.columns]
        if self.keyed(entity):
            cols[0] += " primary key"
        cols += ["_block_number bigint not null", "_extracted_at timestamptz not null"]
        return f"create table if not exists raw.{entity.table} ({', '.join(cols)})"

    def _upsert_sql(self, entity: Entity, source: str) -> str:
        cols = ", ".join(_quote(c) for c in entity.fields)
        target = f"raw.{entity.table}"
        insert = (
            f"insert into {target} ({cols}, _block_number, _extracted_at) "
            f"select {self._select_casts(entity)}, {self.placeholder}, {self.placeholder} "
            f"from {source} "
        )
        if not self.keyed(entity):
            # Rows already loaded are skipped by an anti-join on (timestamp, id): the batch's
            # timestamp range prunes the table's row groups, so only a sliver is probed.
            return insert + (
                f"where not exists (select 1 from {target} loaded where loaded.id = {source}.id "
                f'and loaded."timestamp" = cast({source}."timestamp" as hugeint))'
            )
        if not entity.mutable:
            # An event never changes: re-extracting it is a no-op, which keeps reruns cheap.
            return insert + "on conflict (id) do nothing"
        updates = ", ".join(
            f"{_quote(c)} = excluded.{_quote(c)}"
            for c in (*entity.fields[1:], "_block_number", "_extracted_at")
        )
        # A row re-extracted unchanged (every open condition is, on every fetch) keeps its
        # stamps: `_extracted_at` says when this version landed, which the incremental dbt
        # models read as "changed since", so a refresh rebuilds only what really changed.
        changed = " or ".join(
            f"{entity.table}.{_quote(c)} is distinct from excluded.{_quote(c)}"
            for c in entity.fields[1:]
        )
        # A source answering from an older block (a reindex, a lagging replica) never
        # replaces a version that landed from a newer one.
        newer = f"{entity.table}._block_number <= excluded._block_number"
        return insert + f"on conflict (id) do update set {updates} where ({changed}) and {newer}"

    def _select_casts(self, entity: Entity) -> str:
        return ", ".join(_quote(c) for c in entity.fields)

    # --- cursors ------------------------------------------------------------------------
    def get_cursor(self, name: str) -> dict[str, Any] | None:
        row = self.fetchone(
            f"select state from {CURSOR_TABLE} where name = {self.placeholder}", [name]
        )
        return json.loads(row[0]) if row else None

    def count(self, entity: Entity) -> int:
        return int(self.fetchone(f"select count(*) from raw.{entity.table}")[0])

    def ensure_raw_schema(self) -> None:
        self.execute_script(
            [
                "create schema if not exists raw",
                f"create table if not exists {CURSOR_TABLE} "
                "(name text primary key, state text not null, updated_at timestamptz not null)",
                *(self.table_ddl(e) for e in ENTITIES),
                *(ddl for e in ENTITIES for ddl in self.index_ddl(e)),
                # The chain's tables exist, empty, where that source is off: the dbt models
                # read both eras' sources either way.
                *(ddl for t in CHAIN_TABLES for ddl in self.chain_table_ddl(t)),
                # So are Gamma's, before the metadata is first read: the marts label a market
                # without metadata by its condition id.
                *(self.gamma_table_ddl(t) for t in GAMMA_TABLES),
            ]
        )

    def index_ddl(self, entity: Entity) -> list[str]:
        """Secondary indexes: the incremental models and a refresh's data tests read the rows
        loaded since their last run, by `_extracted_at`. On PostgreSQL a refresh looks the
        splits, merges and redemptions of a condition (and of a wallet in it) up by condition
        and holder, as the staging views spell them (lowered), instead of scanning the
        activity's whole history; DuckDB scans."""
        statements = [
            f"create index if not exists {entity.table}__extracted_at "
            f"on raw.{entity.table} (_extracted_at)"
        ]
        holder = next((f for f in ("stakeholder", "redeemer") if f in entity.fields), None)
        if self.kind == "postgres" and holder and "condition" in entity.fields:
            statements.append(
                f"create index if not exists {entity.table}__condition_holder "
                f"on raw.{entity.table} (lower(condition), lower({holder}))"
            )
        return statements

    # --- gamma tables --------------------------------------------------------------------
    def gamma_table_ddl(self, table: GammaTable) -> str:
        types = _PG_TYPES if self.kind == "postgres" else _DUCKDB_TYPES
        cols = [f"{_quote(name)} {types[kind]}" for name, kind in table.columns]
        cols[0] += " primary key"  # thousands of rows, not millions: DuckDB's key index is fine
        cols.append("_extracted_at timestamptz not null")
        return f"create table if not exists raw.{table.table} ({', '.join(cols)})"

    def _gamma_upsert_sql(self, table: GammaTable, source: str) -> str:
        """Upsert the rows of `source`; a row that comes back unchanged keeps its stamp."""
        cols = ", ".join(_quote(c) for c in table.fields)
        updates = ", ".join(
            f"{_quote(c)} = excluded.{_quote(c)}" for c in (*table.fields[1:], "_extracted_at")
        )
        changed = " or ".join(
            f"{table.table}.{_quote(c)} is distinct from excluded.{_quote(c)}"
            for c in table.fields[1:]
            if c != "payload"  # volumes and prices in it move all day; the columns are what counts
        )
        return (
            f"insert into raw.{table.table} ({cols}, _extracted_at) "
            f"select {self._select_casts(table)}, {self.placeholder} from {source} "
            f"on conflict ({_quote(table.key)}) do update set {updates} where {changed}"
        )

    def load_gamma(
        self,
        batches: dict[GammaTable, Sequence[dict[str, Any]]],
        cursor: tuple[str, dict[str, Any]] | None = None,
    ) -> int:
        """Upsert rows of several Gamma tables (and a cursor) in one transaction; rows given."""
        deduped = {table: _dedupe_on(rows, table.key) for table, rows in batches.items()}
        return self._load_tables(deduped, self._gamma_upsert_sql, cursor)

    # --- chain tables --------------------------------------------------------------------
    def chain_table_ddl(self, table: ChainTable) -> list[str]:
        types = _PG_TYPES if self.kind == "postgres" else _DUCKDB_TYPES
        cols = [f"{_quote(name)} {types[kind]}" for name, kind in table.columns]
        cols.append("_extracted_at timestamptz not null")
        if self.kind == "postgres":
            cols.append(f"primary key ({', '.join(table.key)})")
        statements = [f"create table if not exists raw.{table.table} ({', '.join(cols)})"]
        if self.kind == "postgres" and table.key != ("block_number",):
            # A reorg deletes by block; the incremental models read by load stamp.
            statements += [
                f"create index if not exists {table.table}__block_number "
                f"on raw.{table.table} (block_number)",
                f"create index if not exists {table.table}__extracted_at "
                f"on raw.{table.table} (_extracted_at)",
            ]
        return statements

    def _insert_new_sql(self, table: ChainTable, source: str) -> str:
        """Insert the rows of `source` not loaded yet: a re-read range adds nothing twice."""
        cols = ", ".join(_quote(c) for c in table.fields)
        insert = (
            f"insert into raw.{table.table} ({cols}, _extracted_at) "
            f"select {self._select_casts(table)}, {self.placeholder} from {source} "
        )
        if self.kind == "postgres":
            return insert + "on conflict do nothing"
        # No key index on DuckDB (see DuckDBWarehouse); `block_number` comes first in the
        # probe, so zone maps prune the table to the batch's blocks.
        match = " and ".join(
            f"loaded.{_quote(c)} = cast({source}.{_quote(c)} as {_DUCKDB_TYPES[kind]})"
            for c, kind in sorted(
                ((c, k) for c, k in table.columns if c in table.key or c == "block_number"),
                key=lambda ck: ck[0] != "block_number",
            )
        )
        return insert + f"where not exists (select 1 from raw.{table.table} loaded where {match})"

    def load_chain(
        self,
        batches: dict[ChainTable, Sequence[dict[str, Any]]],
        cursor: tuple[str, dict[str, Any]],
    ) -> int:
        """Rows of several chain tables and the cursor, in one transaction; rows loaded."""
        return self._load_tables(batches, self._insert_new_sql, cursor)

    def delete_chain_from(self, block_number: int, cursor: tuple[str, dict[str, Any]]) -> int:
        """Every chain row and block at or after `block_number`, and the cursor moved back,
        in one transaction; rows deleted."""
        raise NotImplementedError

    def _chain_deletes(self) -> list[str]:
        return [
            f"delete from raw.{t.table} where block_number >= {self.placeholder}"
            for t in CHAIN_TABLES
        ]

    # --- subgraph entities ---------------------------------------------------------------
    def upsert(
        self,
        entity: Entity,
        rows: Sequence[dict[str, Any]],
        block_number: int,
        cursor: tuple[str, dict[str, Any]] | None = None,
    ) -> int:
        """Upsert a page of one entity's rows (and a cursor) in one transaction; rows given."""
        batches = {entity: _dedupe_last(rows)}
        return self._load_tables(batches, self._upsert_sql, cursor, params=[block_number])

    # Subclass API
    def _load_tables(
        self,
        batches: Mapping[Table, Sequence[dict[str, Any]]],
        statement: Callable[[Any, str], str],
        cursor: tuple[str, dict[str, Any]] | None,
        params: Sequence[Any] = (),
    ) -> int:
        """Each table's rows, staged, then written by the SQL `statement(table, stage)` (its
        parameters: `params`, then the load stamp), and the cursor, in one transaction; rows
        written."""
        raise NotImplementedError

    def fetchone(self, sql: str, params: Sequence[Any] = ()) -> tuple | None:
        raise NotImplementedError

    def fetchall(self, sql: str, params: Sequence[Any] = ()) -> list[tuple]:
        raise NotImplementedError

    def execute_script(self, statements: Sequence[str]) -> None:
        raise NotImplementedError

    def close(self) -> None:
        raise NotImplementedError

    def __enter__(self) -> Warehouse:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class DuckDBWarehouse(Warehouse):
    """The embedded warehouse.

    Event tables (immutable, timestamped, the big ones) carry no primary key here: DuckDB
    keeps a key's ART index in memory and its inserts slow as it grows, which would make
    memory grow with history. Their ids stay unique because loads skip loaded rows by
    (timestamp, id) and one process writes at a time.
    """

    kind = "duckdb"
    placeholder = "?"

    def keyed(self, entity: Entity) -> bool:
        return entity.mutable or not entity.timestamped

    def index_ddl(self, entity: Entity) -> list[str]:
        return []  # zone maps serve a range of load stamps, which only grow

    def __init__(self, path: str | os.PathLike[str]):
        import duckdb

        self.path = Path(path)
        if str(path) != ":memory:":
            self.path.parent.mkdir(parents=True, exist_ok=True)
        self.con = duckdb.connect(str(path))
        # DuckDB caches table blocks up to its memory limit (80% of RAM by default), so a
        # loader's memory would grow with the history it has written. Loads stream pages;
        # a small cache is all they need.
        self.con.execute(f"set memory_limit = '{DUCKDB_LOADER_MEMORY}'")

    def _select_casts(self, entity: Entity) -> str:
        types = _DUCKDB_TYPES
        return ", ".join(
            f"cast({_quote(name)} as {types[kind]})" if kind != "text" else _quote(name)
            for name, kind in entity.columns
        )

    def _load_tables(self, batches, statement, cursor, params=()) -> int:
        now = datetime.now(UTC)
        con = self.con
        loaded = 0
        con.begin()
        try:
            for table, rows in batches.items():
                if not rows:
                    continue
                con.register("_load_batch", _arrow_batch(table.columns, rows))
                con.execute(statement(table, "_load_batch"), [*params, now])
                con.unregister("_load_batch")
                loaded += len(rows)
            if cursor is not None:
                self._put_cursor(*cursor, now)
            con.commit()
        except BaseException:
            con.rollback()
            raise
        return loaded

    def delete_chain_from(self, block_number, cursor) -> int:
        con = self.con
        deleted = 0
        con.begin()
        try:
            for statement in self._chain_deletes():
                deleted += con.execute(statement, [block_number]).fetchone()[0]
            self._put_cursor(*cursor, datetime.now(UTC))
            con.commit()
        except BaseException:
            con.rollback()
            raise
        return deleted

    def _put_cursor(self, name: str, state: dict[str, Any], now: datetime) -> None:
        self.con.execute(
            f"insert into {CURSOR_TABLE} values (?, ?, ?) on conflict (name) do update "
            "set state = excluded.state, updated_at = excluded.updated_at",
            [name, json.dumps(state), now],
        )

    def fetchone(self, sql, params=()):
        return self.con.execute(sql, list(params)).fetchone()

    def fetchall(self, sql, params=()):
        return self.con.execute(sql, list(params)).fetchall()

    def execute_script(self, statements):
        for statement in statements:
            self.con.execute(statement)

    def close(self) -> None:
        self.con.close()


class PostgresWarehouse(Warehouse):
    kind = "postgres"
    placeholder = "%s"

    def __init__(self, url: str):
        import psycopg

        self.url = normalize_pg_url(url)
        self.con = psycopg.connect(self.url, autocommit=False)
        # Loads commit a page at a time. Without waiting for each commit's WAL flush, a server
        # crash can lose the last few commits, but each took its cursor with it, so the next
        # run re-reads those pages: consistency is kept, only the flush wait is saved.
        self.con.execute("set synchronous_commit = off")
        self.con.commit()
        self._stages: set[str] = set()  # temporary load tables created on this connection

    def _load_tables(self, batches, statement, cursor, params=()) -> int:
        now = datetime.now(UTC)
        loaded = 0
        try:
            with self.con.transaction(), self.con.cursor() as cur:
                for table, rows in batches.items():
                    if not rows:
                        continue
                    stage = self._copy_to_stage(cur, table, rows)
                    cur.execute(statement(table, stage), [*params, now])
                    loaded += len(rows)
                if cursor is not None:
                    self._put_cursor(cur, *cursor, now)
        except BaseException:
            # A rolled-back transaction took the stage tables along.
            self._stages.difference_update(f"_load_{t.table}" for t in batches)
            raise
        return loaded

    def delete_chain_from(self, block_number, cursor) -> int:
        deleted = 0
        with self.con.transaction(), self.con.cursor() as cur:
            for statement in self._chain_deletes():
                cur.execute(statement, [block_number])
                deleted += cur.rowcount
            self._put_cursor(cur, *cursor, datetime.now(UTC))
        return deleted

    def _copy_to_stage(self, cur, table: Table, rows: Sequence[dict[str, Any]]) -> str:
        """`rows` copied into a temporary table typed as the target, without constraints
        (COPY casts on the way in); its name."""
        stage = f"_load_{table.table}"
        cols = ", ".join(_quote(c) for c in table.fields)
        if stage not in self._stages:
            cur.execute(
                f"create temp table {stage} on commit delete rows as "
                f"select {cols} from raw.{table.table} with no data"
            )
            self._stages.add(stage)
        values = itemgetter(*table.fields)
        with cur.copy(f"copy {stage} ({cols}) from stdin") as copy:
            for row in rows:
                copy.write_row(values(row))
        return stage

    @staticmethod
    def _put_cursor(cur, name: str, state: dict[str, Any], now: datetime) -> None:
        cur.execute(
            f"insert into {CURSOR_TABLE} values (%s, %s, %s) on conflict (name) do update "
            "set state = excluded.state, updated_at = excluded.updated_at",
            [name, json.dumps(state), now],
        )

    def fetchone(self, sql, params=()):
        with self.con.cursor() as cur:
            cur.execute(sql, list(params))
            row = cur.fetchone()
        self.con.rollback()
        return row

    def fetchall(self, sql, params=()):
        with self.con.cursor() as cur:
            cur.execute(sql, list(params))
            rows = cur.fetchall()
        self.con.rollback()
        return rows

    def execute_script(self, statements):
        with self.con.transaction(), self.con.cursor() as cur:
            for statement in statements:
                cur.execute(statement)

    def close(self) -> None:
        self.con.close()


def _dedupe_on(rows: Iterable[dict[str, Any]], key: str) -> list[dict[str, Any]]:
    by_key: dict[Any, dict[str, Any]] = {}
    for row in rows:
        by_key[row[key]] = row
    return list(by_key.values())


def _arrow_batch(columns: Sequence[tuple[str, str]], rows: Sequence[dict[str, Any]]):
    """Rows as an Arrow table of strings (lists of strings for arrays): the insert casts them,
    exactly, to the column types."""
    import pyarrow as pa

    arrays: dict[str, Any] = {}
    for name, kind in columns:
        values = [r.get(name) for r in rows]
        if kind in ("bigints", "texts"):
            arrays[name] = pa.array(
                [None if v is None else [str(x) for x in v] for v in values],
                type=pa.list_(pa.string()),
            )
            continue
        try:  # the subgraph serves BigInt as strings already: no per-value conversion
            arrays[name] = pa.array(values, type=pa.string())
        except (pa.ArrowTypeError, pa.ArrowInvalid):
            arrays[name] = pa.array(
                [None if v is None else str(v) for v in values], type=pa.string()
            )
    return pa.table(arrays)


def connect_warehouse(
    database_url: str | None = None, duckdb_path: str | os.PathLike[str] | None = None
) -> Warehouse:
    """PostgreSQL when a URL is given (or DATABASE_URL is set), embedded DuckDB otherwise."""
    url = database_url if database_url is not None else os.environ.get("DATABASE_URL") or None
    if url:
        return PostgresWarehouse(url)
    path = duckdb_path or os.environ.get("DUCKDB_PATH") or DEFAULT_DUCKDB_PATH
    return DuckDBWarehouse(path)

"""Publication of the marts to the read API: write, audit, publish.

dbt writes the marts into schema `marts` and tests them there, after writing them. That schema
is the pipeline's workspace and the API never reads it: it serves only publications, copies
of the marts taken after a `dbt build` whose data tests passed (the `marts_publication` asset
in orchestration/defs/dbt/publication.py runs only then). A build whose tests fail, or any
later change of `marts.*`, leaves the previous publication in service.

Every publication has a version, sortable by time and unique across processes. It is also the
API's cache stamp: a new publication invalidates every cached response without scanning keys,
and since what a version names never changes, a cached answer and a fresh one under the same
version come from the same state.

- DuckDB: the API must not open the pipeline's file (DuckDB locks it against other
  processes). Every table of `marts` is exported to Parquet in a new folder
  `<snapshot_root>/<version>/` with a `manifest.json`, and only then `<snapshot_root>/CURRENT`
  is replaced with the version (a temp file and `os.replace`, atomic on POSIX), so a reader
  that follows CURRENT sees a complete snapshot, old or new, never a half-written one.
- PostgreSQL: one transaction copies every table of `marts` into a new schema
  `published_<version>` (`published_schema`), builds there the indexes dbt declares on the
  mart, refreshes the planner statistics, and records the version with the row counts in
  `publication.versions`. The API reads the newest version there and queries the schema named
  after it. An error midway rolls the whole publication back; nothing half-copied is seen.
  The copy costs about one write of the marts plus their index builds, paid once per build.

Either way the two newest publications are kept, so a reader still on the previous one is not
pulled from under; older ones are dropped.
"""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
import uuid
from datetime import UTC, datetime
from pathlib import Path

from orchestration.lib.warehouse import DUCKDB_LOADER_MEMORY, Warehouse

log = logging.getLogger(__name__)

DEFAULT_SNAPSHOT_ROOT = ".polyboard/snapshot"
CURRENT_FILE = "CURRENT"
MANIFEST_FILE = "manifest.json"
KEEP_SNAPSHOTS = 2
# Parquet buffers a whole row group (122,880 rows) of every column before writing it: a wide
# mart of that many rows needs more than the loader's small block cache.
DUCKDB_PUBLISH_MEMORY = "1GB"

PUBLICATIONS_TABLE = "publication.versions"
PUBLISHED_SCHEMA_PREFIX = "published_"
VERSION_PATTERN = re.compile(r"\d{8}T\d{12}-[0-9a-f]{8}")
_PUBLISHED_SCHEMA_PATTERN = re.compile(r"published_\d{8}t\d{12}_[0-9a-f]{8}")
# A reader still on a schema being dropped holds a lock on its tables: the drop waits this long,
# then leaves the schema for the next publication to drop.
DROP_LOCK_TIMEOUT = "5s"
HISTORY_ROWS = 100
# `marts.publication`, where earlier releases recorded the versions on PostgreSQL: not a mart.
LEGACY_PUBLICATION_TABLE = "publication"


def new_version(now: datetime | None = None) -> str:
    """Sortable by time, unique across processes: `20260101T120000123456-1a2b3c4d`."""
    now = now or datetime.now(UTC)
    return f"{now:%Y%m%dT%H%M%S%f}-{uuid.uuid4().hex[:8]}"


def published_schema(version: str) -> str:
    """The PostgreSQL schema holding a published version (a valid unquoted identifier)."""
    if not VERSION_PATTERN.fullmatch(version):
        raise ValueError(f"not a publication version: {version!r}")
    return PUBLISHED_SCHEMA_PREFIX + version.lower().replace("-", "_")


def read_current(snapshot_root: str | os.PathLike[str]) -> str | None:
    """The published version, or None before the first publication."""
    try:
        version = (Path(snapshot_root) / CURRENT_FILE).read_text().strip()
    except FileNotFoundError:
        return None
    return version or None


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _mart_tables(warehouse: Warehouse) -> list[str]:
    p = warehouse.placeholder
    rows = warehouse.fetchall(
        "select table_name from information_schema.tables "
        f"where table_schema = {p} and table_name <> {p} order by table_name",
        ["marts", LEGACY_PUBLICATION_TABLE],
    )
    return [r[0] for r in rows]


def publish_snapshot(
    warehouse: Warehouse, snapshot_root: str | os.PathLike[str] = DEFAULT_SNAPSHOT_ROOT
) -> str:
    """Publish the current marts; returns the new version."""
    version = new_version()
    tables = _mart_tables(warehouse)
    if not tables:
        raise RuntimeError("the warehouse has no tables in schema marts: build the marts first")
    if warehouse.kind == "postgres":
        _publish_schema(warehouse, version, tables)
        _prune_schemas(warehouse)
        return version
    root = Path(snapshot_root)
    root.mkdir(parents=True, exist_ok=True)

    staging = root / f".tmp-{version}"
    staging.mkdir()
    try:
        con = warehouse.con
        counts: dict[str, int] = {}
        con.execute(f"set memory_limit = '{DUCKDB_PUBLISH_MEMORY}'")
        # One read transaction, so every file comes from the same state of the marts.
        con.begin()
        try:
            for table in tables:
                target = staging / f"{table}.parquet"
                escaped = str(target).replace("'", "''")
                con.execute(
                    f"copy (select * from marts.{_quote(table)}) to '{escaped}' "
                    "(format parquet, compression zstd)"
                )
                counts[table] = int(
                    con.execute(f"select count(*) from marts.{_quote(table)}").fetchone()[0]
                )
        finally:
            con.rollback()
            con.execute(f"set memory_limit = '{DUCKDB_LOADER_MEMORY}'")
        manifest = {
            "version": version,
            "published_at": datetime.now(UTC).isoformat(),
            "tables": counts,
        }
        (staging / MANIFEST_FILE).write_text(json.dumps(manifest, indent=2) + "\n")
        os.replace(staging, root / version)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise

    tmp_current = root / f".{CURRENT_FILE}.{version}"
    tmp_current.write_text(version + "\n")
    os.replace(tmp_current, root / CURRENT_FILE)
    _prune(root, version)
    return version


def _prune(root: Path, current: str) -> None:
    versions = sorted(
        (p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")),
        key=lambda p: p.name,
    )
    keep = {p.name for p in versions[-KEEP_SNAPSHOTS:]} | {current}
    for path in versions:
        if path.name not in keep:
            shutil.rmtree(path, ignore_errors=True)


def _publish_schema(warehouse: Warehouse, version: str, tables: list[str]) -> None:
    schema = published_schema(version)
    con = warehouse.con
    counts: dict[str, int] = {}
    with con.transaction():
        # Every table copied from one snapshot of the marts, whatever writes meanwhile.
        con.execute("set transaction isolation level repeatable read")
        con.execute(f"create schema {schema}")
        for table in tables:
            source, target = f"marts.{_quote(table)}", f"{schema}.{_quote(table)}"
            # Indexes are built after the rows are in: cheaper than maintaining them per row.
            counts[table] = con.execute(f"create table {target} as table {source}").rowcount
            for statement in _index_statements(con, source, target):
                con.execute(statement)
            # A new table has no statistics; the planner would misjudge every read of it.
            con.execute(f"analyze {target}")
        con.execute("create schema if not exists publication")
        con.execute(
            f"create table if not exists {PUBLICATIONS_TABLE} ("
            "version text primary key, published_at timestamptz not null default now(), "
            "tables jsonb not null)"
        )
        con.execute(
            f"insert into {PUBLICATIONS_TABLE} (version, tables) values (%s, %s)",
            [version, json.dumps(counts)],
        )


def _index_statements(con, source: str, target: str) -> list[str]:
    """`create index` on target for each index dbt built on source (config `indexes`)."""
    rows = con.execute(
        "select i.indisunique, am.amname, array("
        "  select pg_get_indexdef(i.indexrelid, k, true)"
        "  from generate_series(1, i.indnkeyatts) as k order by k"
        ") "
        "from pg_index as i "
        "join pg_class as c on c.oid = i.indexrelid "
        "join pg_am as am on am.oid = c.relam "
        "where i.indrelid = cast(%s as regclass) and i.indpred is null "
        "order by c.relname",
        [source],
    ).fetchall()
    return [
        f"create {'unique ' if unique else ''}index on {target} using {method} "
        f"({', '.join(columns)})"
        for unique, method, columns in rows
    ]


def _prune_schemas(warehouse: Warehouse) -> None:
    """Drop the published schemas older than the KEEP_SNAPSHOTS newest (names sort by time)."""
    import psycopg

    con = warehouse.con
    schemas = sorted(
        name
        for (name,) in warehouse.fetchall("select nspname from pg_namespace")
        if _PUBLISHED_SCHEMA_PATTERN.fullmatch(name)
    )
    for schema in schemas[:-KEEP_SNAPSHOTS]:
        try:
            with con.transaction():
                con.execute(f"set local lock_timeout = '{DROP_LOCK_TIMEOUT}'")
                con.execute(f"drop schema {schema} cascade")
        except psycopg.errors.LockNotAvailable:
            log.warning(
                "published schema %s is still being read; a later publication drops it", schema
            )
    with con.transaction():
        # The API reads the newest row only; the rest is a short history for operators.
        con.execute(
            f"delete from {PUBLICATIONS_TABLE} where version not in (select version from "
            f"{PUBLICATIONS_TABLE} order by published_at desc, version desc "
            f"limit {HISTORY_ROWS})"
        )

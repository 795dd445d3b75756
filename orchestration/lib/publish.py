"""Publication of the marts to the read API: a version stamp, and in DuckDB mode a snapshot.

DuckDB lets one process hold its file and locks it against the others, so the API never
opens the pipeline's warehouse. After the marts are built the pipeline exports every table
of the `marts` schema to Parquet in a new folder `<snapshot_root>/<version>/`, writes a
`manifest.json` beside the files, and only then replaces `<snapshot_root>/CURRENT` (a temp
file and `os.replace`, atomic on POSIX) with the version. A reader that follows CURRENT
therefore sees a complete snapshot, old or new, never a half-written one. The two newest
snapshots are kept, so a reader still loading the previous one is not pulled from under.

On PostgreSQL the API reads the marts in place; publishing only records the version in
`marts.publication`. Either way the version is the API's cache stamp: a new publication
invalidates every cached response without scanning keys.
"""

from __future__ import annotations

import json
import os
import shutil
import uuid
from datetime import UTC, datetime
from pathlib import Path

from orchestration.lib.warehouse import Warehouse

DEFAULT_SNAPSHOT_ROOT = ".polyboard/snapshot"
CURRENT_FILE = "CURRENT"
MANIFEST_FILE = "manifest.json"
PUBLICATION_TABLE = "marts.publication"
KEEP_SNAPSHOTS = 2


def new_version(now: datetime | None = None) -> str:
    """Sortable by time, unique across processes: `20260101T120000123456-1a2b3c4d`."""
    now = now or datetime.now(UTC)
    return f"{now:%Y%m%dT%H%M%S%f}-{uuid.uuid4().hex[:8]}"


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
        ["marts", PUBLICATION_TABLE.split(".", 1)[1]],
    )
    return [r[0] for r in rows]


def publish_snapshot(
    warehouse: Warehouse, snapshot_root: str | os.PathLike[str] = DEFAULT_SNAPSHOT_ROOT
) -> str:
    """Publish the current marts; returns the new version."""
    version = new_version()
    if warehouse.kind == "postgres":
        _record_publication(warehouse, version)
        return version
    root = Path(snapshot_root)
    root.mkdir(parents=True, exist_ok=True)
    tables = _mart_tables(warehouse)
    if not tables:
        raise RuntimeError("the warehouse has no tables in schema marts: build the marts first")

    staging = root / f".tmp-{version}"
    staging.mkdir()
    try:
        con = warehouse.con
        counts: dict[str, int] = {}
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


def _record_publication(warehouse: Warehouse, version: str) -> None:
    warehouse.execute_script(
        [
            "create schema if not exists marts",
            f"create table if not exists {PUBLICATION_TABLE} ("
            "version text primary key, published_at timestamptz not null default now())",
            f"insert into {PUBLICATION_TABLE} (version) values ('{version}')",
            # The newest version is all the API needs; keep a short history for operators.
            f"delete from {PUBLICATION_TABLE} where version not in "
            f"(select version from {PUBLICATION_TABLE} order by published_at desc, version desc "
            "limit 100)",
        ]
    )

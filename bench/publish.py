"""Publication cost on PostgreSQL, as a fraction of the `dbt build` it follows.

A publication copies every mart into a schema of its own, builds the marts' indexes there and
analyzes them, in one transaction (orchestration/lib/publish.py); the pipeline pays it once
after every build whose data tests pass. The bench loads a generated dataset into the raw
tables, builds the marts with `dbt build` (models and data tests, as the pipeline does), then
times `--runs` publications of them and prints their median next to the build's time, with the
size of each mart.

    uv run python bench/publish.py [--preset demo] [--fills N] [--runs 3]

The database is created on POLYBOARD_TEST_PG_URL (default postgres@127.0.0.1:5432) and dropped
at the end.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import tempfile
import time
import uuid
from pathlib import Path

import psycopg

from orchestration.lib.dbt_env import dbt_command, dbt_environment
from orchestration.lib.entities import ENTITIES
from orchestration.lib.publish import publish_snapshot
from orchestration.lib.warehouse import connect_warehouse
from subgraph_sim.generator import generate

PG_ADMIN = os.environ.get("POLYBOARD_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
LOAD_BATCH = 50_000

MART_SIZES = """
select c.relname, c.reltuples::bigint, pg_total_relation_size(c.oid)
from pg_class as c join pg_namespace as n on n.oid = c.relnamespace
where n.nspname = 'marts' and c.relkind = 'r'
order by pg_total_relation_size(c.oid) desc
"""


def load(dataset, url: str) -> None:
    with connect_warehouse(url) as warehouse:
        warehouse.ensure_raw_schema()
        for entity in ENTITIES:
            rows = dataset.entities(entity.subgraph, entity.graphql_type)
            for start in range(0, len(rows), LOAD_BATCH):
                warehouse.upsert(entity, rows[start : start + LOAD_BATCH], dataset.head_block)


def build(url: str) -> float:
    """Seconds of `dbt build` of every model, as the pipeline runs it."""
    with tempfile.TemporaryDirectory() as tmp:
        command = dbt_command(
            "build",
            "--exclude-resource-type",
            "unit_test",
            target="postgres",
            target_path=Path(tmp) / "target",
        )
        started = time.perf_counter()
        subprocess.run(
            command,
            env={**os.environ, **dbt_environment(url, None)},
            check=True,
            capture_output=True,
            timeout=3600,
        )
        return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="demo", help="generator preset (tiny, demo, bench)")
    parser.add_argument("--fills", type=int, help="override the preset's number of fills")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()

    dataset = generate(args.preset, **({"fills": args.fills} if args.fills else {}))
    name = f"polyboard_bench_publish_{uuid.uuid4().hex[:8]}"
    base, _, _ = PG_ADMIN.rpartition("/")
    url = f"{base}/{name}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as con:
        con.execute(f'create database "{name}"')
    try:
        load(dataset, url)
        build_seconds = build(url)
        with psycopg.connect(url) as con:
            sizes = con.execute(MART_SIZES).fetchall()
            fills = con.execute("select count(*) from raw.order_filled_events").fetchone()[0]
        times = []
        for _ in range(args.runs):
            with connect_warehouse(url) as warehouse:
                started = time.perf_counter()
                publish_snapshot(warehouse)
                times.append(time.perf_counter() - started)
    finally:
        with psycopg.connect(PG_ADMIN, autocommit=True) as con:
            con.execute(f'drop database if exists "{name}" with (force)')

    print(f"preset {args.preset}, {fills:,} fills")
    for table, rows, size in sizes:
        print(f"  marts.{table:<16} {rows:>10,} rows {size / 1e6:>9.1f} MB with indexes")
    print(f"  total {sum(s for *_, s in sizes) / 1e6:.1f} MB")
    publication = statistics.median(times)
    print(f"dbt build    {build_seconds:8.2f} s")
    print(
        f"publication  {publication:8.2f} s (median of {args.runs}: "
        + ", ".join(f"{t:.2f}" for t in times)
        + ")"
    )
    print(f"publication / build = {publication / build_seconds:.3f}")


if __name__ == "__main__":
    main()

"""Transform benchmarks, each a ratio against a baseline measured in the same run.

P3  `dbt build` after +1% new fills (incremental models incremental), as a fraction of the
    time of `dbt build --full-refresh` over the same data                  (bar: <= 0.10)
    and the full build against a floor: one hand-written SQL aggregation of the same fills
    (per-maker volume, trades and cash flow over raw.order_filled_events), run directly on
    the warehouse. The first run also prints, for the marts marked to market at as_of, the
    share of their rows the refresh changes in value: what any refresh has to rewrite.

    uv run python bench/transform.py [--fills 1000000] [--runs 3] [--engine duckdb|postgres]
                                     [--top 8]

The bench dataset is generated once. Everything visible at a block chosen so that ~1% of the
fills come after it is loaded into the raw tables and built once with a full build; that
warehouse is the snapshot each run starts from (a copied file on DuckDB, a template database
on PostgreSQL). A run loads the rest (the rows new or changed since that block), times
`dbt build`, then `dbt build --full-refresh` and the floor query over the same data. Times are
wall clock of the whole dbt process (startup and parsing included); dbt's own elapsed time
(from each invocation's run_results.json) is printed next to them. PostgreSQL databases are
created on POLYBOARD_TEST_PG_URL (default postgres@127.0.0.1:5432) and dropped at the end.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from orchestration.lib.dbt_env import dbt_command, dbt_environment, keep_parsed_state
from orchestration.lib.entities import ENTITIES, ORDER_FILLED_EVENTS
from orchestration.lib.warehouse import connect_warehouse
from subgraph_sim.generator import generate

REPO_ROOT = Path(__file__).resolve().parent.parent
PG_ADMIN = os.environ.get("POLYBOARD_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
BAR = 0.10
NEW_FRACTION = 0.01
LOAD_BATCH = 50_000

# The floor: what the marts cost at the very least, one pass over the fills per maker.
FLOOR_SQL = """
create temp table bench_floor_makers as
select
    lower(maker) as maker,
    count(*) as trades,
    sum(case when "makerAssetId" = '0' then "makerAmountFilled"
        else "takerAmountFilled" end) as volume_units,
    sum(case when "makerAssetId" = '0' then -"makerAmountFilled"
        else "takerAmountFilled" end) as cash_flow_units
from raw.order_filled_events
group by lower(maker)
"""


# The marts marked to market at as_of, and the daily stats for contrast: how many of their
# rows a refresh must rewrite because their values change (as_of and load stamps aside).
MOVED_TABLES = {
    "marts.trader_markets": ("wallet_address", "token_id"),
    "marts.traders_v2": ("wallet_address",),
    "intermediate.int_position_equity_windowed": ("instant_name", "trader_address", "token_id"),
    "marts.trader_stats": ("wallet_address", "day"),
}
UNCOMPARED = {"as_of", "extracted_at"}


@dataclass
class DbtRun:
    seconds: float  # wall clock of the dbt process
    elapsed: float  # dbt's own elapsed_time
    models: dict[str, float]  # model name -> execution_time
    incremental: dict[str, bool]  # incremental model -> merged into (not rebuilt)
    tests: float  # summed execution_time of the data and unit tests


@dataclass
class Target:
    """One warehouse database: a DuckDB file or a PostgreSQL database."""

    duckdb_path: str | None = None
    database_url: str | None = None

    def connect(self):
        return connect_warehouse(database_url=self.database_url, duckdb_path=self.duckdb_path)


def dataset_entities(dataset, block: int | None = None) -> dict[str, list[dict]]:
    """The dataset's entities visible at `block`, keyed by raw table name."""
    return {e.table: dataset.entities(e.subgraph, e.graphql_type, block) for e in ENTITIES}


def new_rows(early: dict[str, list[dict]], late: dict[str, list[dict]]) -> dict[str, list[dict]]:
    """Rows of `late` that are new or changed since `early`: what an extraction would land."""
    delta = {}
    for table, rows in late.items():
        before = {r["id"]: r for r in early[table]}
        delta[table] = [r for r in rows if before.get(r["id"]) != r]
    return delta


def load(target: Target, entities: dict[str, list[dict]], block: int) -> float:
    started = time.perf_counter()
    with target.connect() as wh:
        wh.ensure_raw_schema()
        for entity in ENTITIES:
            rows = entities[entity.table]
            # in batches, as the extraction lands them: the loader's memory is capped
            for start in range(0, len(rows), LOAD_BATCH):
                wh.upsert(entity, rows[start : start + LOAD_BATCH], block_number=block)
    return time.perf_counter() - started


def settle(target: Target) -> None:
    """Planner statistics on the raw tables, as autovacuum keeps them in a running PostgreSQL
    warehouse; a table bulk-loaded a moment ago has none yet. DuckDB keeps its own."""
    if not target.database_url:
        return
    import psycopg

    with psycopg.connect(target.database_url, autocommit=True) as con:
        for entity in ENTITIES:
            con.execute(f"analyze raw.{entity.table}")


def dbt(target: Target, work: Path, *args: str) -> DbtRun:
    """`dbt <args>` as a subprocess with its own target and log paths under `work`."""
    target_path = Path(tempfile.mkdtemp(prefix="target_", dir=work))
    engine = "postgres" if target.database_url else "duckdb"
    command = dbt_command(*args, target=engine, target_path=target_path)
    env = {**os.environ, **dbt_environment(target.database_url, target.duckdb_path)}
    started = time.perf_counter()
    result = subprocess.run(
        command, env=env, cwd=REPO_ROOT, capture_output=True, text=True, check=False
    )
    seconds = time.perf_counter() - started
    keep_parsed_state(target_path)  # as the orchestration does after every invocation
    if result.returncode != 0:
        raise SystemExit(f"dbt {' '.join(args)} failed:\n{result.stdout[-6000:]}{result.stderr}")
    run_results = json.loads((target_path / "run_results.json").read_text())
    manifest = json.loads((target_path / "manifest.json").read_text())
    models, incremental, tests = {}, {}, 0.0
    for r in run_results["results"]:
        node = manifest["nodes"].get(r["unique_id"], {})
        if node.get("resource_type") != "model":
            tests += r["execution_time"]
            continue
        models[node["name"]] = r["execution_time"]
        if node["config"].get("materialized") == "incremental":
            compiled = target_path / "run" / "polyboard" / node["original_file_path"]
            sql = compiled.read_text().lower() if compiled.exists() else ""
            incremental[node["name"]] = "delete from" in sql or "merge into" in sql
    shutil.rmtree(target_path, ignore_errors=True)
    return DbtRun(seconds, run_results["elapsed_time"], models, incremental, tests)


def floor(target: Target) -> float:
    """Seconds to run FLOOR_SQL directly on the warehouse."""
    if target.duckdb_path:
        import duckdb

        con = duckdb.connect(target.duckdb_path)
        try:
            started = time.perf_counter()
            con.execute(FLOOR_SQL)
            seconds = time.perf_counter() - started
            con.execute("drop table bench_floor_makers")
        finally:
            con.close()
        return seconds
    import psycopg

    with psycopg.connect(target.database_url, autocommit=True) as con:
        started = time.perf_counter()
        con.execute(FLOOR_SQL)
        seconds = time.perf_counter() - started
        con.execute("drop table bench_floor_makers")
    return seconds


def digests(target: Target, table: str, keys: tuple[str, ...]) -> dict[tuple, int]:
    """Each row of `table` as key -> hash of its compared values."""
    sql = f"select * from {table}"
    if target.duckdb_path:
        import duckdb

        con = duckdb.connect(target.duckdb_path, read_only=True)
        try:
            cur = con.execute(sql)
            names = [d[0] for d in cur.description]
            rows = cur.fetchall()
        finally:
            con.close()
    else:
        import psycopg

        with psycopg.connect(target.database_url) as con:
            cur = con.execute(sql)
            names = [d.name for d in cur.description]
            rows = cur.fetchall()
    key_at = [names.index(k) for k in keys]
    value_at = [i for i, n in enumerate(names) if n not in UNCOMPARED and n not in keys]
    return {tuple(row[i] for i in key_at): hash(tuple(row[i] for i in value_at)) for row in rows}


def moved_rows(before: Target, after: Target) -> str:
    """Per table, the share of rows after the refresh that are new or differ in value."""
    shares = []
    for table, keys in MOVED_TABLES.items():
        old, new = digests(before, table, keys), digests(after, table, keys)
        moved = sum(1 for key, value in new.items() if old.get(key) != value)
        shares.append(f"{table.split('.')[1]} {moved / len(new):.1%} of {len(new):,}")
    return ", ".join(shares)


class Snapshots:
    """The built 99% warehouse and fresh copies of it, one per run; removes them all."""

    def __init__(self, engine: str, work: Path):
        self.engine = engine
        self.work = work
        self.prefix = f"polyboard_bench_transform_{os.getpid()}_{uuid.uuid4().hex[:6]}"
        self.created: list[str] = []
        self.base = self._new("base")

    def _admin(self):
        import psycopg

        return psycopg.connect(PG_ADMIN, autocommit=True)

    def _url(self, dbname: str) -> str:
        return PG_ADMIN.rsplit("/", 1)[0] + f"/{dbname}"

    def _new(self, name: str, template: str | None = None) -> Target:
        if self.engine == "duckdb":
            return Target(duckdb_path=str(self.work / f"{name}.duckdb"))
        dbname = f"{self.prefix}_{name}"
        with self._admin() as con:
            # CREATE DATABASE cannot run inside a transaction block: its own statement
            suffix = f' template "{template}"' if template else ""
            con.execute(f'create database "{dbname}"{suffix}')
        self.created.append(dbname)
        return Target(database_url=self._url(dbname))

    def copy(self, name: str) -> Target:
        if self.engine == "duckdb":
            target = self._new(name)
            for suffix in ("", ".wal"):
                source = Path(self.base.duckdb_path + suffix)
                if source.exists():
                    shutil.copyfile(source, target.duckdb_path + suffix)
            return target
        return self._new(name, template=self.created[0])

    def remove(self, target: Target) -> None:
        if target.duckdb_path:
            for suffix in ("", ".wal"):
                Path(target.duckdb_path + suffix).unlink(missing_ok=True)
            return
        dbname = target.database_url.rsplit("/", 1)[1]
        with self._admin() as con:
            con.execute(f'drop database if exists "{dbname}" with (force)')
        self.created.remove(dbname)

    def close(self) -> None:
        if self.engine == "postgres" and self.created:
            with self._admin() as con:
                for dbname in reversed(self.created):
                    con.execute(f'drop database if exists "{dbname}" with (force)')
            self.created.clear()


def slowest(full: DbtRun, refresh: DbtRun, top: int) -> None:
    names = sorted(full.models, key=lambda n: -max(full.models[n], refresh.models.get(n, 0.0)))
    width = max(len(n) for n in names[:top])
    print(f"  {'model':<{width}}  full build  refresh  refresh/full")
    for name in names[:top]:
        f, r = full.models[name], refresh.models.get(name)
        shown = f"{r:7.2f} s  {r / f:12.2f}" if r is not None and f > 0 else "      -"
        print(f"  {name:<{width}}  {f:8.2f} s  {shown}")
    print(
        f"  all models: full build {sum(full.models.values()):.2f} s, "
        f"refresh {sum(refresh.models.values()):.2f} s; tests: full build {full.tests:.2f} s, "
        f"refresh {refresh.tests:.2f} s (4 threads: sums exceed dbt's elapsed time)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fills", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--engine", choices=("duckdb", "postgres"), default="duckdb")
    parser.add_argument("--top", type=int, default=8, help="slowest models to list")
    args = parser.parse_args()

    started = time.perf_counter()
    dataset = generate("bench", fills=args.fills)
    fills = dataset.entities(ORDER_FILLED_EVENTS.subgraph, ORDER_FILLED_EVENTS.graphql_type)
    cut_ts = sorted(int(f["timestamp"]) for f in fills)[int(len(fills) * (1 - NEW_FRACTION))]
    cut_block = dataset.chain.block_at(cut_ts)
    early, late = dataset_entities(dataset, cut_block), dataset_entities(dataset)
    delta = new_rows(early, late)
    head_block = dataset.head_block
    del dataset, fills, late
    table = ORDER_FILLED_EVENTS.table
    n_early, n_new = len(early[table]), len(delta[table])
    print(
        f"bench dataset: {n_early + n_new:,} fills generated in {time.perf_counter() - started:.1f}"
        f" s; {n_early:,} visible at block {cut_block}, +{n_new:,} after it"
        f" ({n_new / n_early:.2%}), {sum(map(len, delta.values())):,} new or changed raw rows",
        flush=True,
    )

    with tempfile.TemporaryDirectory(prefix="polyboard_bench_transform_") as tmp:
        work = Path(tmp)
        snapshots = Snapshots(args.engine, work)
        try:
            seconds = load(snapshots.base, early, cut_block)
            settle(snapshots.base)
            first = dbt(snapshots.base, work, "build", "--full-refresh")
            print(
                f"{args.engine}: loaded in {seconds:.1f} s, full build of the 99% in "
                f"{first.seconds:.1f} s (snapshot each run starts from)",
                flush=True,
            )
            runs = []
            for i in range(args.runs):
                target = snapshots.copy(f"run{i + 1}")
                try:
                    load(target, delta, head_block)
                    refresh = dbt(target, work, "build")
                    if i == 0:
                        print(
                            "  rows the refresh changed in value (as_of and load stamps aside): "
                            + moved_rows(snapshots.base, target),
                            flush=True,
                        )
                    full = dbt(target, work, "build", "--full-refresh")
                    floor_seconds = floor(target)
                finally:
                    snapshots.remove(target)
                runs.append((refresh, full, floor_seconds))
                merged = ", ".join(
                    f"{name} {'merged' if ok else 'REBUILT'}"
                    for name, ok in refresh.incremental.items()
                )
                print(
                    f"  run {i + 1}: refresh {refresh.seconds:.2f} s (dbt {refresh.elapsed:.2f} s),"
                    f" full build {full.seconds:.2f} s (dbt {full.elapsed:.2f} s),"
                    f" floor {floor_seconds:.3f} s -> ratio {refresh.seconds / full.seconds:.3f}"
                    f"; {merged}",
                    flush=True,
                )
        finally:
            snapshots.close()

    refresh_s = statistics.median(r.seconds for r, _, _ in runs)
    full_s = statistics.median(f.seconds for _, f, _ in runs)
    floor_s = statistics.median(fl for _, _, fl in runs)
    ratio = statistics.median(r.seconds / f.seconds for r, f, _ in runs)
    dbt_ratio = statistics.median(r.elapsed / f.elapsed for r, f, _ in runs)
    verdict = "meets" if ratio <= BAR else "MISSES"
    print(
        f"P3 refresh after +{n_new / n_early:.1%} fills ({args.engine}, {n_early + n_new:,} fills,"
        f" {len(runs)} run{'s' if len(runs) > 1 else ''}): median refresh {refresh_s:.2f} s"
        f" vs full build {full_s:.2f} s"
        f" -> ratio {ratio:.3f} (bar <= {BAR:.2f}: {verdict} it);"
        f" dbt elapsed only (no startup/parse): {dbt_ratio:.3f}"
    )
    print(
        f"full build vs floor: {full_s:.2f} s / {floor_s:.3f} s (one SQL aggregation per maker)"
        f" = {full_s / floor_s:,.0f}x"
    )
    # the run whose refresh time is the median one
    refresh, full, _ = sorted(runs, key=lambda run: run[0].seconds)[(len(runs) - 1) // 2]
    print("slowest models (median run; dbt run_results execution_time):")
    slowest(full, refresh, args.top)


if __name__ == "__main__":
    main()

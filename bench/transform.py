"""Transform benchmark P3 (DESIGN section 7): refresh cost follows new data, not history.

Two worlds whose markets open and resolve through time (each lives `--market-days` on
average), traded by the same traders: one of `--fills` fills over `--days` days, and one
`--growth` times longer, with that many times the fills and the markets. Each world is loaded
up to the block that leaves its last `--new` fills out (25,000: about five minutes of V2-era
traffic) and built with `dbt build --full-refresh` (the full build, timed). A run loads the
rest (the rows new or changed since that block) and times `dbt build` (the refresh): each run
but the last on a copy of the built warehouse (a copied file on DuckDB, a template database on
PostgreSQL), the last on the built warehouse itself.

    uv run python bench/transform.py [--fills 1000000] [--growth 5] [--runs 1]
                                     [--engine duckdb|postgres] [--top 8]

    P3   refresh of the long world / refresh of the short one      (bar: <= 1.5)
         the full build grows by about `--growth` beside it
    P3+  refresh of the long world / its full build                (stretch: <= 0.10)

Times are wall clock of the whole dbt process (startup and parsing included); dbt's own elapsed
time (from each invocation's run_results.json) is printed next to them. PostgreSQL databases
are created on POLYBOARD_TEST_PG_URL (default postgres@127.0.0.1:5432) and dropped at the end.
"""

from __future__ import annotations

import argparse
import itertools
import json
import multiprocessing
import os
import shutil
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from orchestration.lib.addresses import DEFAULT_EXCLUDED_ADDRESSES
from orchestration.lib.dbt_env import dbt_command, dbt_environment, keep_parsed_state
from orchestration.lib.entities import ENTITIES, ORDER_FILLED_EVENTS, USER_POSITIONS
from orchestration.lib.extract import followed_wallets
from orchestration.lib.warehouse import connect_warehouse
from subgraph_sim.generator import generate

REPO_ROOT = Path(__file__).resolve().parent.parent
PG_ADMIN = os.environ.get("POLYBOARD_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
GROWTH_BAR = 1.5
STRETCH_BAR = 0.10
LOAD_BATCH = 50_000
FOLLOWED = 50  # FOLLOW_TOP_TRADERS' default


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


@dataclass
class World:
    """A generated world cut at the block that leaves its last `new` fills out: the rows new or
    changed after the cut (`late`, as served rows), which each refresh loads. Its rows up to
    the cut are loaded where it is generated, in a process of its own (`generate_and_load`):
    the generator's tables (several GiB for the long world) are gone before anything is
    timed, and the warehouse has the machine's memory to itself."""

    name: str
    cut_block: int
    head_block: int
    late: dict[str, list[dict]]
    fills: int
    new_fills: int


def generate_and_load(name: str, new: int, target: Target, options: dict) -> tuple[World, float]:
    """Generate the world and load its rows up to the cut into `target`, in a forked process
    that frees all of the generator's memory when it ends; returns the world and the load's
    seconds."""
    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("fork")) as pool:
        return pool.submit(_generate_and_load, name, new, target, options).result()


def _generate_and_load(name: str, new: int, target: Target, options: dict) -> tuple[World, float]:
    started = time.perf_counter()
    dataset = generate("bench", **options)
    tables = {e.table: dataset.table(e.subgraph, e.graphql_type) for e in ENTITIES}
    visible = {t: table.visible_rows(dataset.head_block) for t, table in tables.items()}
    fills = ORDER_FILLED_EVENTS.table
    timestamp = tables[fills].getter("timestamp")
    times = sorted(timestamp(r) for r in visible[fills])
    cut_block = dataset.chain.block_at(int(times[-new])) - 1
    early, late = {}, {}
    for t, rows in visible.items():
        early[t] = tables[t].visible_rows(cut_block)
        before = set(early[t])
        late[t] = list(served(tables[t], [r for r in rows if r not in before]))
    world = World(name, cut_block, dataset.head_block, late, len(times), len(late[fills]))
    print(
        f"{name} world: {world.fills:,} fills over {options['days']:g} days,"
        f" {options['markets']:,} markets, {options['traders']:,} traders, generated in"
        f" {time.perf_counter() - started:.1f} s; +{world.new_fills:,} fills after block"
        f" {cut_block} ({sum(map(len, late.values())):,} new or changed raw rows)",
        flush=True,
    )
    seconds = load(target, {t: served(tables[t], early[t]) for t in tables}, cut_block)
    return world, seconds


def served(table, numbers: list[int]) -> Iterator[dict]:
    """The rows of a generator's table as the subgraph serves them."""
    getters = [(f, table.served_getter(f)) for f in table.spec.field_names]
    for r in numbers:
        yield {name: get(r) for name, get in getters}


def load(target: Target, rows: dict[str, Iterable[dict]], block: int) -> float:
    """Load each table's served rows as the extraction would: the pnl subgraph's positions
    only of the followed wallets (the top makers by volume, chosen from the fills loaded
    first)."""
    started = time.perf_counter()
    with target.connect() as wh:
        wh.ensure_raw_schema()
        for entity in (*(e for e in ENTITIES if e is not USER_POSITIONS), USER_POSITIONS):
            entity_rows = iter(rows[entity.table])
            if entity is USER_POSITIONS:
                wallets = set(
                    followed_wallets(wh, FOLLOWED, extra=(), excluded=DEFAULT_EXCLUDED_ADDRESSES)
                )
                entity_rows = (row for row in entity_rows if row["user"] in wallets)
            # in batches, as the extraction lands them: the loader's memory is capped
            while batch := list(itertools.islice(entity_rows, LOAD_BATCH)):
                wh.upsert(entity, batch, block_number=block)
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
            incremental[node["name"]] = "insert into" in sql or "merge into" in sql
    shutil.rmtree(target_path, ignore_errors=True)
    return DbtRun(seconds, run_results["elapsed_time"], models, incremental, tests)


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
            # CREATE DATABASE cannot run inside a transaction block: its own statement.
            # FILE_COPY (PostgreSQL 15 on) copies the files; the default WAL_LOG writes the
            # whole copy (20 GB for the long world) into the WAL as well
            suffix = f' template "{template}"' if template else ""
            if template and con.info.server_version >= 150000:
                suffix += " strategy file_copy"
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
            os.sync()  # a copy's pages written back during the timed refresh would slow it
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


@dataclass
class Measured:
    full: DbtRun  # the full build of the world up to the cut
    refreshes: list[DbtRun]

    @property
    def refresh(self) -> DbtRun:
        """The run whose refresh time is the median one."""
        ordered = sorted(self.refreshes, key=lambda run: run.seconds)
        return ordered[(len(ordered) - 1) // 2]


def measure(name: str, new: int, options: dict, engine: str, runs: int, work: Path) -> Measured:
    snapshots = Snapshots(engine, work / name)
    try:
        world, seconds = generate_and_load(name, new, snapshots.base, options)
        settle(snapshots.base)
        full = dbt(snapshots.base, work, "build", "--full-refresh")
        print(
            f"  {world.name}, {engine}: loaded in {seconds:.1f} s, full build {full.seconds:.1f} s"
            f" (dbt {full.elapsed:.1f} s)",
            flush=True,
        )
        refreshes = []
        for i in range(runs):
            # The last run refreshes the built warehouse itself: the long world's PostgreSQL
            # warehouse takes about 20 GB, and a copy of it as much again.
            last = i == runs - 1
            target = snapshots.base if last else snapshots.copy(f"run{i + 1}")
            try:
                load(target, world.late, world.head_block)
                refresh = dbt(target, work, "build")
            finally:
                if not last:
                    snapshots.remove(target)
            refreshes.append(refresh)
            rebuilt = [name for name, merged in refresh.incremental.items() if not merged]
            print(
                f"  run {i + 1}: refresh {refresh.seconds:.2f} s (dbt {refresh.elapsed:.2f} s)"
                + (f"; REBUILT in full: {', '.join(rebuilt)}" if rebuilt else ""),
                flush=True,
            )
    finally:
        snapshots.close()
    return Measured(full, refreshes)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fills", type=int, default=1_000_000)
    parser.add_argument("--days", type=float, default=90.0)
    parser.add_argument("--markets", type=int, default=2_000)
    parser.add_argument("--traders", type=int, default=20_000)
    parser.add_argument("--market-days", type=float, default=14.0)
    parser.add_argument("--growth", type=int, default=5)
    parser.add_argument("--new", type=int, default=25_000, help="fills the refresh loads")
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--engine", choices=("duckdb", "postgres"), default="duckdb")
    parser.add_argument("--top", type=int, default=8, help="slowest models to list")
    args = parser.parse_args()

    measured = {}
    with tempfile.TemporaryDirectory(prefix="polyboard_bench_transform_") as tmp:
        work = Path(tmp)
        for name, scale in (("short", 1), ("long", args.growth)):
            options = {
                "fills": args.fills * scale,
                "days": args.days * scale,
                "markets": args.markets * scale,
                "traders": args.traders,
                "market_days": args.market_days,
            }
            (work / name).mkdir()
            measured[name] = measure(name, args.new, options, args.engine, args.runs, work)

    short, long = measured["short"], measured["long"]
    growth = long.refresh.seconds / short.refresh.seconds
    full_growth = long.full.seconds / short.full.seconds
    stretch = long.refresh.seconds / long.full.seconds
    verdict = "meets" if growth <= GROWTH_BAR else "MISSES"
    print(
        f"P3 ({args.engine}, +{args.new:,} fills, median of {args.runs}): refresh"
        f" {short.refresh.seconds:.2f} s -> {long.refresh.seconds:.2f} s at {args.growth}x the"
        f" history = {growth:.2f}x (bar <= {GROWTH_BAR}: {verdict} it); full build"
        f" {short.full.seconds:.1f} s -> {long.full.seconds:.1f} s = {full_growth:.2f}x;"
        f" dbt elapsed only: refresh {long.refresh.elapsed / short.refresh.elapsed:.2f}x,"
        f" full build {long.full.elapsed / short.full.elapsed:.2f}x"
    )
    print(
        f"P3 stretch: long refresh / long full build = {stretch:.3f}"
        f" (<= {STRETCH_BAR}: {'meets' if stretch <= STRETCH_BAR else 'misses'} it)"
    )
    for name, m in measured.items():
        print(f"slowest models, {name} world (dbt run_results execution_time):")
        slowest(m.full, m.refresh, args.top)


if __name__ == "__main__":
    main()

"""Warehouses loaded with generated datasets through the warehouse API, then built with dbt.

Each built warehouse is a session fixture, so every engine runs `dbt build` once per dataset.
dbt runs as a subprocess (its own flags and adapters per invocation) with a temporary
target path and log path, so the checkout's `dbt_project/target` is never written.
"""

from __future__ import annotations

import os
import subprocess
import time
import uuid
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
import pytest

from orchestration.lib.chain_extract import CURSOR as CHAIN_CURSOR
from orchestration.lib.chain_extract import log_filters, matches
from orchestration.lib.chain_logs import decode_log
from orchestration.lib.chain_tables import LOG_TABLES, ROW_BUILDERS
from orchestration.lib.dbt_env import dbt_command, dbt_environment
from orchestration.lib.entities import ENTITIES
from orchestration.lib.gamma_tables import (
    GAMMA_EVENTS,
    GAMMA_MARKETS,
    GAMMA_TABLES,
    GAMMA_TAGS,
    rows_of_events,
    rows_of_markets,
)
from orchestration.lib.warehouse import connect_warehouse
from subgraph_sim.generator import generate

PG_ADMIN_URL = os.environ.get(
    "POLYBOARD_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)
MARTS = ("traders_v2", "trader_markets", "trader_stats", "leaderboard", "data_watermark")

# Datasets: oversold exits exercise capped sells; bursts put many fills on one timestamp so
# the (timestamp, id) order matters; late events arrive after later ones were loaded.
DEMO = {"preset": "demo", "seed": 7, "oversell_fraction": 0.05, "burst": 8}
# Long enough for positions to freeze (no event in the longest window, nothing left or
# resolved before it) while their markets' tokens still trade: the refresh must keep them.
INCREMENTAL = {
    "preset": "demo",
    "seed": 11,
    "fills": 10_000,
    "traders": 400,
    "markets": 60,
    "days": 75,
    "market_days": 25,
    "oversell_fraction": 0.05,
    "late_fraction": 0.05,
    "late_delay_blocks": 20_000,
}


# A world crossing the V2 cutover: V1 events in the subgraphs, V2 fills, preparations and
# resolutions on the chain; fees on some V2 orders. Eight V2-era days: the 7d window is all V2.
CROSSING = {"preset": "crossing", "seed": 5, "v2_days": 8}


def dataset_entities(dataset, block: int | None = None) -> dict[str, list[dict]]:
    """The dataset's rows keyed by raw table name: its subgraph entities visible at `block`
    and, for a world with a chain, every log of its chain as the chain source lands it."""
    tables = {e.table: dataset.entities(e.subgraph, e.graphql_type, block) for e in ENTITIES}
    return {**tables, **chain_rows(dataset), **gamma_rows(dataset)}


def world_time(dataset) -> int:
    """The newest time the world has served: its chain's head, else its subgraphs'."""
    store = getattr(dataset, "chain_logs", None)
    head = store.head_block if store is not None else dataset.head_block
    return dataset.block_timestamp(max(head, dataset.head_block))


def gamma_rows(dataset) -> dict[str, list[dict]]:
    """Gamma's markets, events and tags listed at the world's newest time, as landed."""
    now = world_time(dataset)
    landed = rows_of_markets(dataset.gamma.visible_markets(now))
    events = rows_of_events(dataset.gamma.visible_events(now))
    tags = {row["id"]: row for row in [*landed[GAMMA_TAGS], *events[GAMMA_TAGS]]}
    return {
        GAMMA_MARKETS.table: landed[GAMMA_MARKETS],
        GAMMA_EVENTS.table: events[GAMMA_EVENTS],
        GAMMA_TAGS.table: list(tags.values()),
    }


def chain_rows(dataset) -> dict[str, list[dict]]:
    """The chain's rows up to its head, one per log the chain source reads."""
    store = getattr(dataset, "chain_logs", None)
    rows: dict[str, list[dict]] = defaultdict(list)
    if store is None:
        return {}
    filters = log_filters()
    for log in store.iter_logs(0, store.head_block):
        if not matches(log, filters):
            continue
        decoded = decode_log(log)
        table, build = ROW_BUILDERS[type(decoded)]
        rows[table.table].append(build(decoded, decoded.block_timestamp))
    return {t.table: rows[t.table] for t in LOG_TABLES}


@dataclass
class Warehouse:
    """A warehouse database and how to run dbt against it."""

    engine: str  # duckdb | postgres
    tmp: Path
    database_url: str | None = None
    duckdb_path: str | None = None
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def env(self) -> dict[str, str]:
        # The same derivation the orchestration uses when it runs dbt.
        return {**os.environ, **dbt_environment(self.database_url, self.duckdb_path)}

    def load(self, entities: dict[str, list[dict]], block: int) -> None:
        wh = connect_warehouse(database_url=self.database_url, duckdb_path=self.duckdb_path)
        try:
            wh.ensure_raw_schema()
            for entity in ENTITIES:
                wh.upsert(entity, entities[entity.table], block_number=block)
            chain = {t: entities[t.table] for t in LOG_TABLES if entities.get(t.table)}
            if chain:
                wh.load_chain(chain, cursor=(CHAIN_CURSOR, {"block": block}))
            wh.load_gamma({t: entities.get(t.table, []) for t in GAMMA_TABLES})
        finally:
            wh.close()

    def dbt(self, *args: str, label: str | None = None) -> subprocess.CompletedProcess:
        command = dbt_command(*args, target=self.engine, target_path=self.tmp / "target")
        started = time.perf_counter()
        result = subprocess.run(
            command, env=self.env, capture_output=True, text=True, timeout=600, check=False
        )
        if label:
            self.timings[label] = time.perf_counter() - started
        if result.returncode != 0:
            raise AssertionError(
                f"dbt {' '.join(args)} failed on {self.engine}:\n{result.stdout[-6000:]}"
            )
        return result

    def query(self, sql: str) -> list[dict]:
        if self.engine == "duckdb":
            import duckdb

            con = duckdb.connect(self.duckdb_path, read_only=True)
            try:
                cur = con.execute(sql)
                names = [d[0] for d in cur.description]
                return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]
            finally:
                con.close()
        with psycopg.connect(self.database_url) as con:
            cur = con.execute(sql)
            names = [d.name for d in cur.description]
            return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]


def _pg_url(dbname: str) -> str:
    base, _, _ = PG_ADMIN_URL.rpartition("/")
    return f"{base}/{dbname}"


@pytest.fixture(scope="session")
def make_warehouse(tmp_path_factory) -> Iterator:
    """Factory of empty warehouses; PostgreSQL databases are dropped when the session ends."""
    created: list[str] = []

    def make(engine: str, name: str) -> Warehouse:
        tmp = tmp_path_factory.mktemp(f"dbt_{engine}_{name}")
        if engine == "duckdb":
            return Warehouse(engine, tmp, duckdb_path=str(tmp / "warehouse.duckdb"))
        dbname = f"polyboard_dbt_test_{os.getpid()}_{name}_{uuid.uuid4().hex[:6]}"
        with psycopg.connect(PG_ADMIN_URL, autocommit=True) as con:
            con.execute(f'create database "{dbname}"')
        created.append(dbname)
        return Warehouse(engine, tmp, database_url=_pg_url(dbname))

    yield make
    if not created:
        return
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as con:
        for dbname in created:
            con.execute(f'drop database if exists "{dbname}" with (force)')


def _generate(spec: dict):
    spec = dict(spec)
    return generate(spec.pop("preset"), **spec)


@pytest.fixture(scope="session")
def demo_dataset_for_marts():
    return _generate(DEMO)


@pytest.fixture(scope="session")
def demo_entities(demo_dataset_for_marts) -> dict[str, list[dict]]:
    return dataset_entities(demo_dataset_for_marts)


@pytest.fixture(scope="session")
def demo_reference(demo_entities):
    from tests.reference.metrics import compute

    return compute(demo_entities)


@pytest.fixture(
    scope="session", params=["duckdb", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def built_demo(request, make_warehouse, demo_dataset_for_marts, demo_entities) -> Warehouse:
    """The demo dataset loaded and built with a full `dbt build` (models, unit and data tests)."""
    wh = make_warehouse(request.param, "demo")
    wh.load(demo_entities, demo_dataset_for_marts.head_block)
    wh.dbt("build", label="full build")
    return wh


@pytest.fixture(scope="session")
def incremental_dataset():
    return _generate(INCREMENTAL)


@pytest.fixture(scope="session")
def crossing_dataset():
    return _generate(CROSSING)


@pytest.fixture(scope="session")
def crossing_entities(crossing_dataset) -> dict[str, list[dict]]:
    return dataset_entities(crossing_dataset)


@pytest.fixture(scope="session")
def crossing_reference(crossing_entities):
    from tests.reference.metrics import compute

    return compute(crossing_entities)


@pytest.fixture(
    scope="session", params=["duckdb", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def built_crossing(request, make_warehouse, crossing_dataset, crossing_entities) -> Warehouse:
    """The crossing world loaded (subgraph entities and chain rows) and built with dbt."""
    wh = make_warehouse(request.param, "crossing")
    wh.load(crossing_entities, crossing_dataset.chain_logs.head_block)
    wh.dbt("build", label="full build")
    return wh

"""API fixtures: marts built by the real pipeline from the `tiny` dataset, on both warehouses.

Raw tables are landed from the generator's entities with the pipeline's own loader
(`orchestration.lib.warehouse`), the marts are built by `dbt run` of `dbt_project/`, and
the publication is `orchestration.lib.publish.publish_snapshot`, exactly as in production.
The API then runs under uvicorn on 127.0.0.1 and is called over HTTP.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path

import duckdb
import httpx
import psycopg
import pytest
import redis
from apitest_support import REDIS_TEST_URL, LiveServer, dbt_build_marts, load_raw, settings_for
from psycopg.rows import dict_row

from orchestration.lib.publish import publish_snapshot
from orchestration.lib.warehouse import connect_warehouse
from subgraph_sim.generator import generate

PG_ADMIN_URL = os.environ.get(
    "POLYBOARD_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)

Query = Callable[..., list[dict]]


@pytest.fixture(scope="session")
def tiny_dataset():
    return generate("tiny")


@pytest.fixture(scope="session")
def duckdb_warehouse(tmp_path_factory, tiny_dataset) -> Path:
    """The pipeline's DuckDB file with raw tables and marts."""
    work = tmp_path_factory.mktemp("api-duckdb")
    path = work / "warehouse.duckdb"
    load_raw(tiny_dataset, None, str(path))
    dbt_build_marts(None, str(path), work)
    return path


@pytest.fixture(scope="session")
def duckdb_snapshot(duckdb_warehouse, tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("api-snapshot")
    with connect_warehouse(None, str(duckdb_warehouse)) as warehouse:
        publish_snapshot(warehouse, root)
    return root


def _pg_url(dbname: str) -> str:
    base, _, _ = PG_ADMIN_URL.rpartition("/")
    return f"{base}/{dbname}"


@contextmanager
def pg_marts_database(dataset, workdir: Path) -> Iterator[str]:
    """A fresh PostgreSQL database with raw tables and marts, not published; dropped after."""
    name = f"polyboard_api_test_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as con:
        con.execute(f'create database "{name}"')
    url = _pg_url(name)
    try:
        load_raw(dataset, url, None)
        dbt_build_marts(url, None, workdir)
        yield url
    finally:
        with psycopg.connect(PG_ADMIN_URL, autocommit=True) as con:
            con.execute(f'drop database if exists "{name}" with (force)')


@pytest.fixture(scope="session")
def pg_warehouse(tmp_path_factory, tiny_dataset) -> Iterator[str]:
    """A PostgreSQL database with raw tables, marts and a publication, shared by the session."""
    with pg_marts_database(tiny_dataset, tmp_path_factory.mktemp("api-pg")) as url:
        with connect_warehouse(url) as warehouse:
            publish_snapshot(warehouse)
        yield url


@pytest.fixture
def pg_unpublished(tmp_path, tiny_dataset) -> Iterator[str]:
    """A PostgreSQL database of this test alone, with marts built but never published."""
    with pg_marts_database(tiny_dataset, tmp_path) as url:
        yield url


def _normalize(row: dict) -> dict:
    return {k: float(v) if isinstance(v, Decimal) else v for k, v in row.items()}


def duckdb_query(path: Path) -> Query:
    def query(sql: str, params: list | None = None) -> list[dict]:
        con = duckdb.connect(str(path), read_only=True)
        try:
            cur = con.execute(sql.replace("%s", "?"), params or [])
            names = [d[0] for d in cur.description]
            return [_normalize(dict(zip(names, r, strict=True))) for r in cur.fetchall()]
        finally:
            con.close()

    return query


def pg_query(url: str) -> Query:
    def query(sql: str, params: list | None = None) -> list[dict]:
        with psycopg.connect(url, row_factory=dict_row) as con:
            return [_normalize(r) for r in con.execute(sql, params or None).fetchall()]

    return query


class Served:
    """A running API over one warehouse, and direct access to the marts it serves."""

    def __init__(self, kind: str, server: LiveServer, query: Query):
        self.kind = kind
        self.server = server
        self.query = query
        self.client = httpx.Client(base_url=server.url, timeout=30)

    def get(self, path: str, **params) -> httpx.Response:
        return self.client.get(path, params=params)


@pytest.fixture(scope="session", params=["duckdb", "postgres"])
def served(request) -> Iterator[Served]:
    """The API with the in-process cache over each warehouse."""
    kind = request.param
    settings = settings_for(kind, request)
    query = (
        pg_query(settings.database_url)
        if kind == "postgres"
        else duckdb_query(request.getfixturevalue("duckdb_warehouse"))
    )
    with LiveServer(settings) as server:
        api = Served(kind, server, query)
        yield api
        api.client.close()


@pytest.fixture
def redis_prefix() -> Iterator[str]:
    """A key prefix of this test alone in the test Redis; its keys are deleted afterwards."""
    prefix = f"polyboard-test-{uuid.uuid4().hex[:12]}"
    yield prefix
    client = redis.Redis.from_url(REDIS_TEST_URL)
    try:
        keys = list(client.scan_iter(f"{prefix}:*"))
        if keys:
            client.delete(*keys)
    finally:
        client.close()


@pytest.fixture
def redis_client() -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(REDIS_TEST_URL)
    yield client
    client.close()


@pytest.fixture(scope="session")
def web_server(request) -> Iterator[LiveServer]:
    """The app (API and pages) over the DuckDB snapshot of the tiny marts."""
    with LiveServer(settings_for("duckdb", request)) as server:
        yield server

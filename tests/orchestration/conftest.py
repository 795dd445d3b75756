"""Extraction fixtures: fresh PostgreSQL databases, DuckDB files, the demo subgraph."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from subgraph_sim.generator import generate
from subgraph_sim.process import start_sim

PG_ADMIN_URL = os.environ.get(
    "POLYBOARD_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)


def _pg_url(dbname: str) -> str:
    base, _, _ = PG_ADMIN_URL.rpartition("/")
    return f"{base}/{dbname}"


@pytest.fixture
def pg_database() -> Iterator[str]:
    """A fresh, empty PostgreSQL database; dropped afterwards."""
    name = f"polyboard_test_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as con:
        con.execute(f'create database "{name}"')
    try:
        yield _pg_url(name)
    finally:
        with psycopg.connect(PG_ADMIN_URL, autocommit=True) as con:
            con.execute(f'drop database if exists "{name}" with (force)')


@pytest.fixture
def duckdb_path(tmp_path: Path) -> str:
    return str(tmp_path / "warehouse.duckdb")


@pytest.fixture(params=["duckdb", "postgres"])
def warehouse_url(request) -> tuple[str | None, str | None]:
    """(database_url, duckdb_path) for each warehouse kind."""
    if request.param == "postgres":
        return request.getfixturevalue("pg_database"), None
    return None, request.getfixturevalue("duckdb_path")


@pytest.fixture(scope="session")
def demo_dataset():
    return generate("demo")


@pytest.fixture(scope="session")
def demo_sim():
    with start_sim("demo") as sim:
        yield sim

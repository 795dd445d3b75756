"""A 503 tells the client a plain reason; the detail (paths, SQL, driver errors) goes to the log."""

from __future__ import annotations

import logging
import os
import uuid
from collections.abc import Iterator

import httpx
import psycopg
import pytest
from apitest_support import LiveServer, settings_for
from conftest import PG_ADMIN_URL, _pg_url

from orchestration.lib.publish import publish_snapshot
from orchestration.lib.warehouse import connect_warehouse

LEADERBOARD = "/api/v1/traders/leaderboard"
NOTHING_PUBLISHED = "no marts are published yet"
MARTS_MISSING = "the marts are not built as this API expects"
# What only the log may hold: SQL, the names of tables and engines, file paths.
INTERNALS = ("select", "from ", "marts.", "traders_v2", "LINE", "Catalog", "relation", "/")


def assert_plain(response: httpx.Response, reason: str) -> None:
    assert response.status_code == 503
    assert response.json() == {"detail": reason}
    leaked = [word for word in INTERNALS if word.lower() in response.text.lower()]
    assert not leaked, response.text


def assert_ready_plain(client: httpx.Client, reason: str) -> None:
    ready = client.get("/ready")
    assert ready.status_code == 503
    assert ready.json()["warehouse_error"] == reason
    assert not [word for word in INTERNALS if word.lower() in ready.text.lower()], ready.text


def logged(caplog, text: str) -> bool:
    return any(text in record.getMessage() for record in caplog.records)


@pytest.fixture
def empty_pg_database() -> Iterator[str]:
    """A database with no marts at all; dropped after."""
    name = f"polyboard_api_empty_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as con:
        con.execute(f'create database "{name}"')
    try:
        yield _pg_url(name)
    finally:
        with psycopg.connect(PG_ADMIN_URL, autocommit=True) as con:
            con.execute(f'drop database if exists "{name}" with (force)')


def test_nothing_published_is_a_plain_503_and_the_path_is_logged(request, tmp_path, caplog):
    caplog.set_level(logging.WARNING, logger="polyboard.api")
    root = tmp_path / "snapshot"
    settings = settings_for("duckdb", request, snapshot_dir=str(root))
    with LiveServer(settings) as server, httpx.Client(base_url=server.url) as client:
        assert_plain(client.get(LEADERBOARD), NOTHING_PUBLISHED)
        assert_plain(client.get(f"/api/v1/traders/{'0x' + 'ab' * 20}"), NOTHING_PUBLISHED)
        assert_ready_plain(client, NOTHING_PUBLISHED)
    assert logged(caplog, str(root))


def test_a_missing_mart_is_a_plain_503_and_the_error_is_logged(
    request, duckdb_warehouse, tmp_path, caplog
):
    caplog.set_level(logging.WARNING, logger="polyboard.api")
    root = tmp_path / "snapshot"
    with connect_warehouse(None, str(duckdb_warehouse)) as warehouse:
        version = publish_snapshot(warehouse, root)
    (root / version / "traders_v2.parquet").unlink()
    settings = settings_for("duckdb", request, snapshot_dir=str(root))
    with LiveServer(settings) as server, httpx.Client(base_url=server.url) as client:
        assert_plain(client.get(LEADERBOARD), MARTS_MISSING)
        assert_plain(client.get("/api/v1/traders/search", params={"q": "0x12"}), MARTS_MISSING)
    assert logged(caplog, "traders_v2")


def test_postgres_without_a_publication_is_a_plain_503_and_the_detail_is_logged(
    request, empty_pg_database, caplog
):
    """The API reads only published marts: a database with none has nothing to serve yet."""
    caplog.set_level(logging.WARNING, logger="polyboard.api")
    settings = settings_for("postgres", request, database_url=empty_pg_database)
    with LiveServer(settings) as server, httpx.Client(base_url=server.url) as client:
        assert_plain(client.get(LEADERBOARD), NOTHING_PUBLISHED)
        wallet = "0x" + "cd" * 20
        assert_plain(client.get(f"/api/v1/traders/{wallet}/positions"), NOTHING_PUBLISHED)
        assert_ready_plain(client, NOTHING_PUBLISHED)
    assert logged(caplog, "no published marts in PostgreSQL yet")

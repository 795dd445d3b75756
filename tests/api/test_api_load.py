"""The cost of uncached reads is bounded, and a database that is down costs no waiting.

- A statement past the statement timeout is stopped and answered with 503 and the reason, on
  both engines, and the API serves the next request as usual.
- Leaderboard pages with the default thresholds are read from the precomputed mart, when it
  was built with the API's thresholds; other requests are ranked on the fly.
- Uncached leaderboard rankings run a few at a time: a storm of them does not hold up
  trader lookups.
- With PostgreSQL unreachable, requests answer 503 at once after the first failures, and the
  API serves again by itself once the database is back.
"""

from __future__ import annotations

import asyncio
import shutil
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import duckdb
import httpx
import psycopg
import pytest
from apitest_support import LiveServer, TcpProxy, metric, settings_for, wait_for

from bench.api import scale_traders
from orchestration.lib.publish import publish_snapshot, published_schema
from orchestration.lib.warehouse import connect_warehouse

LEADERBOARD = "/api/v1/traders/leaderboard"
MILLION = 1_000_000
# Every trader eligible, a page far down: the ranking reads all million rows.
DEEP_PAGE = {"timeframe": "all", "min_trades": 0, "limit": 100, "page": 5000}


@pytest.fixture(scope="module")
def million_snapshot(duckdb_warehouse, tmp_path_factory) -> Path:
    """The tiny world's marts with traders_v2 grown to a million traders, published."""
    work = tmp_path_factory.mktemp("api-million")
    path = work / "warehouse.duckdb"
    shutil.copy(duckdb_warehouse, path)
    scale_traders(path, MILLION, work)
    root = work / "snapshot"
    with connect_warehouse(None, str(path)) as warehouse:
        publish_snapshot(warehouse, root)
    return root


def test_duckdb_statement_past_the_timeout_answers_503(request, million_snapshot):
    settings = settings_for(
        "duckdb", request, snapshot_dir=str(million_snapshot), duckdb_statement_timeout_ms=200
    )
    with LiveServer(settings) as server, httpx.Client(base_url=server.url, timeout=60) as client:
        started = time.monotonic()
        response = client.get(LEADERBOARD, params={**DEEP_PAGE, "page": 100_000, "min_volume": 0})
        elapsed = time.monotonic() - started
        assert response.status_code == 503, response.text[:200]
        assert "statement timeout" in response.json()["detail"]
        assert response.headers["retry-after"]
        assert elapsed < 2.0
        # The interrupted statement leaves the snapshot in service.
        assert client.get(LEADERBOARD, params={"limit": 5}).status_code == 200


def test_postgres_statement_past_the_timeout_answers_503_and_does_not_mark_it_down(
    request, pg_warehouse
):
    settings = settings_for("postgres", request, pg_statement_timeout_ms=300)
    with LiveServer(settings) as server, httpx.Client(base_url=server.url, timeout=60) as client:
        assert client.get(LEADERBOARD, params={"limit": 3}).status_code == 200
        # A writer holds the published mart: the API's read waits on the lock until its timeout.
        schema = published_schema(client.get("/ready").json()["version"])
        with psycopg.connect(pg_warehouse) as locker:
            locker.execute(f"lock table {schema}.traders_v2 in access exclusive mode")
            started = time.monotonic()
            response = client.get(LEADERBOARD, params={"limit": 4})
            elapsed = time.monotonic() - started
            locker.rollback()
        assert response.status_code == 503, response.text[:200]
        detail = response.json()["detail"]
        assert "statement timeout" in detail and "unavailable" not in detail
        assert elapsed < 3.0
        # The database answered (it cancelled the statement): it is not reported down.
        started = time.monotonic()
        assert client.get(LEADERBOARD, params={"limit": 6}).status_code == 200
        assert time.monotonic() - started < 2.0


def _reads(client: httpx.Client, source: str) -> float:
    return metric(client.get("/metrics").text, "polyboard_leaderboard_reads_total", source=source)


@pytest.mark.parametrize("kind", ["duckdb", "postgres"])
def test_default_leaderboard_is_read_from_the_mart_built_with_the_same_thresholds(request, kind):
    settings = settings_for(kind, request)
    with LiveServer(settings) as server, httpx.Client(base_url=server.url, timeout=60) as client:
        wait_for(lambda: server.state.rankings.version == server.state.warehouse.version)
        for timeframe, sort_by in (("7d", "pnl"), ("all", "volume"), ("30d", "pnl")):
            mart = _reads(client, "mart")
            body = client.get(
                LEADERBOARD, params={"timeframe": timeframe, "sort_by": sort_by, "limit": 9}
            ).json()
            assert _reads(client, "mart") == mart + 1
            assert body["total"] > 0
        ranked = _reads(client, "ranked")
        client.get(LEADERBOARD, params={"sort_by": "win_rate", "limit": 9})
        client.get(LEADERBOARD, params={"order": "asc", "limit": 9})
        client.get(LEADERBOARD, params={"min_trades": 11, "limit": 9})
        assert _reads(client, "ranked") == ranked + 3


@pytest.mark.parametrize("kind", ["duckdb", "postgres"])
def test_leaderboard_with_other_default_thresholds_than_the_mart_is_ranked(request, kind):
    """MIN_TRADER_TRADES=3 in the API, 10 in the pipeline: the mart holds other traders, so
    the API ranks traders_v2 itself."""
    settings = settings_for(kind, request, min_trader_trades=3)
    with LiveServer(settings) as server, httpx.Client(base_url=server.url, timeout=60) as client:
        wait_for(lambda: server.state.rankings.version == server.state.warehouse.version)
        ranked, mart = _reads(client, "ranked"), _reads(client, "mart")
        body = client.get(LEADERBOARD, params={"timeframe": "all", "limit": 100}).json()
        assert _reads(client, "ranked") == ranked + 1 and _reads(client, "mart") == mart
        assert body["min_trades"] == 3
        expected = [r for r in _traders(kind, request) if r["trades"] >= 3 and r["volume"] >= 100]
        assert body["total"] == len(expected)
        # ... which are more than the mart holds: reading it would have been wrong.
        with_ten = client.get(LEADERBOARD, params={"timeframe": "all", "min_trades": 10})
        assert body["total"] > with_ten.json()["total"] > 0
        assert {t["wallet_address"] for t in body["traders"]} == {
            r["wallet_address"] for r in expected
        }


def _traders(kind: str, request) -> list[dict]:
    sql = "select wallet_address, trades, volume from marts.traders_v2"
    if kind == "postgres":
        with psycopg.connect(request.getfixturevalue("pg_warehouse")) as con:
            rows = con.execute(sql).fetchall()
    else:
        con = duckdb.connect(str(request.getfixturevalue("duckdb_warehouse")), read_only=True)
        try:
            rows = con.execute(sql).fetchall()
        finally:
            con.close()
    return [{"wallet_address": w, "trades": t, "volume": v} for w, t, v in rows]


def _original_wallets(duckdb_warehouse: Path, n: int) -> list[str]:
    con = duckdb.connect(str(duckdb_warehouse), read_only=True)
    try:
        rows = con.execute(
            "select wallet_address from marts.traders_v2 order by wallet_address limit ?", [n]
        ).fetchall()
    finally:
        con.close()
    return [r[0] for r in rows]


def test_trader_lookups_are_served_while_rankings_saturate_their_slots(
    request, million_snapshot, duckdb_warehouse
):
    settings = settings_for(
        "duckdb",
        request,
        snapshot_dir=str(million_snapshot),
        costly_query_concurrency=1,
        duckdb_statement_timeout_ms=60_000,
    )
    wallets = _original_wallets(duckdb_warehouse, 5)

    async def run(base_url: str):
        async with httpx.AsyncClient(base_url=base_url, timeout=120) as client:
            storm_done: list[float] = []

            async def miss(i: int) -> httpx.Response:
                # A distinct min_volume each: every one is a cache miss.
                response = await client.get(LEADERBOARD, params={**DEEP_PAGE, "min_volume": i})
                storm_done.append(time.monotonic())
                return response

            storm = [asyncio.create_task(miss(i)) for i in range(12)]
            await asyncio.sleep(0.5)  # the rankings are running and queued
            lookups = []
            for wallet in wallets:
                started = time.monotonic()
                response = await client.get(f"/api/v1/traders/{wallet}")
                lookups.append((response.status_code, time.monotonic() - started))
            lookups_done = time.monotonic()
            storm_responses = await asyncio.gather(*storm)
            return lookups, lookups_done, storm_done, storm_responses

    with LiveServer(settings) as server:
        lookups, lookups_done, storm_done, storm_responses = asyncio.run(run(server.url))
    assert {r.status_code for r in storm_responses} == {200}
    # The lookups ran while the storm was still being served, and none waited behind it.
    assert max(storm_done) > lookups_done
    assert {status for status, _ in lookups} == {200}
    assert max(seconds for _, seconds in lookups) < 1.0, lookups


def _through(url: str, port: int) -> str:
    parts = urlsplit(url)
    netloc = f"{parts.username or 'postgres'}@127.0.0.1:{port}"
    return urlunsplit(parts._replace(netloc=netloc))


def test_postgres_down_answers_503_at_once_and_recovers(request, pg_warehouse):
    proxy = TcpProxy("127.0.0.1", urlsplit(pg_warehouse).port or 5432)
    proxy.up()
    settings = settings_for(
        "postgres",
        request,
        database_url=_through(pg_warehouse, proxy.port),
        pg_retry_seconds=0.5,
    )
    try:
        with (
            LiveServer(settings) as server,
            httpx.Client(base_url=server.url, timeout=60) as client,
        ):
            assert client.get(LEADERBOARD, params={"limit": 1}).status_code == 200
            proxy.down()
            # The first failures may wait for the pool; then the breaker knows.
            for limit in (2, 3):
                assert client.get(LEADERBOARD, params={"limit": limit}).status_code == 503
            timings = []
            for limit in range(4, 14):  # distinct pages: none is in the cache
                started = time.monotonic()
                response = client.get(LEADERBOARD, params={"limit": limit})
                timings.append(time.monotonic() - started)
                assert response.status_code == 503
                assert "PostgreSQL unavailable" in response.json()["detail"]
            assert max(timings) < 2.0 and sum(timings) < 5.0, timings
            started = time.monotonic()
            assert client.get("/ready").status_code == 503
            assert time.monotonic() - started < 2.0

            proxy.up()
            wait_for(
                lambda: client.get(LEADERBOARD, params={"limit": 20}).status_code == 200,
                timeout=10,
                interval=0.2,
            )
            assert client.get("/ready").status_code == 200
    finally:
        proxy.close()

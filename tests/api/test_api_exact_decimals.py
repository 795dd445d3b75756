"""Exact decimals: with `decimals=string` every amount, price and rate is the marts' exact
decimal as a string; by default they stay JSON numbers.

The marts come from the real pipeline (loader, dbt, publication) over the `tiny` dataset plus
one whale fill of 12,345,678,901.123456 USDC, which a float64 cannot hold to the micro-USDC.
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from decimal import Decimal

import duckdb
import httpx
import psycopg
import pytest
from apitest_support import LiveServer, dbt_build_marts, load_raw, settings_for
from conftest import PG_ADMIN_URL, _pg_url
from psycopg.rows import dict_row

from orchestration.lib.entities import ORDER_FILLED_EVENTS
from orchestration.lib.publish import publish_snapshot
from orchestration.lib.warehouse import connect_warehouse

WHALE = "0x" + "7e" * 20
WHALE_USDC_UNITS = 12_345_678_901_123_456  # micro-USDC
WHALE_USDC = "12345678901.123456"
WHALE_SHARES = "24691357802.246912"  # bought at 0.5


def whale_fill(dataset) -> dict:
    """A buy of an outcome token the dataset trades, at the newest fill's time."""
    fills = dataset.entities("orderbook", "OrderFilledEvent")
    buy = next(f for f in fills if f["makerAssetId"] == "0")
    newest = max(int(f["timestamp"]) for f in fills)
    return {
        **buy,
        "id": "0x" + "ee" * 32 + "_" + "0x" + "ee" * 32,
        "transactionHash": "0x" + "ee" * 32,
        "orderHash": "0x" + "ee" * 32,
        "timestamp": str(newest),
        "maker": WHALE,
        "makerAmountFilled": str(WHALE_USDC_UNITS),
        "takerAmountFilled": str(WHALE_USDC_UNITS * 2),
        "fee": "0",
    }


def land_with_whale(dataset, database_url: str | None, duckdb_path: str | None) -> None:
    load_raw(dataset, database_url, duckdb_path)
    with connect_warehouse(database_url, duckdb_path) as warehouse:
        warehouse.upsert(ORDER_FILLED_EVENTS, [whale_fill(dataset)], dataset.head_block)


@dataclass
class WhaleApi:
    client: httpx.Client
    marts: Callable[[str, list], list[dict]]  # rows with Decimal values, as the marts hold them


@pytest.fixture(scope="module", params=["duckdb", "postgres"])
def whale_api(request, tiny_dataset, tmp_path_factory) -> Iterator[WhaleApi]:
    work = tmp_path_factory.mktemp(f"whale-{request.param}")
    if request.param == "duckdb":
        path = work / "warehouse.duckdb"
        land_with_whale(tiny_dataset, None, str(path))
        dbt_build_marts(None, str(path), work)
        root = work / "snapshot"
        with connect_warehouse(None, str(path)) as warehouse:
            publish_snapshot(warehouse, root)

        def marts(sql: str, params: list) -> list[dict]:
            with duckdb.connect(str(path), read_only=True) as con:
                cur = con.execute(sql.replace("%s", "?"), params)
                names = [d[0] for d in cur.description]
                return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]

        settings = settings_for("duckdb", request, snapshot_dir=str(root))
        yield from _serve(settings, marts)
        return

    name = f"polyboard_api_whale_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as con:
        con.execute(f'create database "{name}"')
    url = _pg_url(name)
    try:
        land_with_whale(tiny_dataset, url, None)
        dbt_build_marts(url, None, work)
        with connect_warehouse(url) as warehouse:
            publish_snapshot(warehouse)

        def marts(sql: str, params: list) -> list[dict]:
            with psycopg.connect(url, row_factory=dict_row) as con:
                return con.execute(sql, params).fetchall()

        yield from _serve(settings_for("postgres", request, database_url=url), marts)
    finally:
        with psycopg.connect(PG_ADMIN_URL, autocommit=True) as con:
            con.execute(f'drop database if exists "{name}" with (force)')


def _serve(settings, marts) -> Iterator[WhaleApi]:
    with LiveServer(settings) as server, httpx.Client(base_url=server.url, timeout=30) as client:
        yield WhaleApi(client, marts)


def exact(client: httpx.Client, path: str, **params) -> dict:
    response = client.get(path, params={**params, "decimals": "string"})
    assert response.status_code == 200, response.text
    return response.json()


def test_the_whale_round_trips_to_the_micro_usdc(whale_api):
    body = exact(whale_api.client, f"/api/v1/traders/{WHALE}")
    assert body["trader"]["total_volume"] == WHALE_USDC
    assert body["metrics"]["volume_all"] == body["metrics"]["volume_1d"] == WHALE_USDC
    position = body["recent_positions"][0]
    assert position["volume"] == position["cost_basis"] == WHALE_USDC
    assert position["shares"] == position["bought_shares"] == WHALE_SHARES
    assert Decimal(position["avg_price"]) == Decimal("0.5")

    ranked = exact(
        whale_api.client,
        "/api/v1/traders/leaderboard",
        timeframe="all",
        sort_by="volume",
        min_trades=0,
    )
    assert ranked["traders"][0]["wallet_address"] == WHALE
    assert ranked["traders"][0]["volume"] == WHALE_USDC

    found = exact(whale_api.client, "/api/v1/traders/search", q=WHALE[:10])
    assert [(r["wallet_address"], r["total_volume"]) for r in found["results"]] == [
        (WHALE, WHALE_USDC)
    ]
    days = exact(whale_api.client, f"/api/v1/traders/{WHALE}/statistics")["series"]
    assert [d["buy_volume"] for d in days] == [WHALE_USDC]


def test_every_decimal_is_the_marts_exact_value(whale_api):
    trader = whale_api.marts("select * from marts.traders_v2 where wallet_address = %s", [WHALE])[0]
    body = exact(whale_api.client, f"/api/v1/traders/{WHALE}")
    for field, column in [
        ("total_volume", "volume"),
        ("realized_pnl", "realized_pnl"),
        ("unrealized_pnl", "unrealized_pnl"),
        ("total_pnl", "total_pnl"),
    ]:
        assert Decimal(body["trader"][field]) == trader[column], field
    positions = whale_api.marts(
        "select * from marts.trader_markets where wallet_address = %s", [WHALE]
    )
    got = exact(whale_api.client, f"/api/v1/traders/{WHALE}/positions")["positions"]
    assert len(got) == len(positions) == 1
    for field in ("shares", "avg_price", "mark_price", "cost_basis", "current_value", "cash_flow"):
        assert Decimal(got[0][field]) == positions[0][field], field

    # Every non-integer number of every answer is a decimal string.
    for path, params in [
        (f"/api/v1/traders/{WHALE}", {}),
        (f"/api/v1/traders/{WHALE}/positions", {}),
        (f"/api/v1/traders/{WHALE}/statistics", {}),
        ("/api/v1/traders/leaderboard", {"timeframe": "all", "limit": 100, "min_trades": 0}),
        ("/api/v1/traders/search", {"q": WHALE[:6]}),
    ]:
        text = whale_api.client.get(path, params={**params, "decimals": "string"}).text
        floats = []
        json.loads(text, parse_float=floats.append)
        assert not floats, (path, floats[:5])


def test_numbers_stay_the_default(whale_api):
    body = whale_api.client.get(f"/api/v1/traders/{WHALE}").json()
    assert isinstance(body["trader"]["total_volume"], float)
    assert body["trader"]["total_volume"] == float(Decimal(WHALE_USDC))
    # Why the strings: a float64 cannot hold this value to the micro-USDC.
    assert Decimal(repr(body["trader"]["total_volume"])) != Decimal(WHALE_USDC)


def test_decimal_strings_are_documented(whale_api):
    schema = whale_api.client.get("/openapi.json").json()
    volume = schema["components"]["schemas"]["TraderPublic"]["properties"]["total_volume"]
    assert {"type": "number"} in volume["anyOf"]
    assert any(o.get("type") == "string" and o.get("pattern") for o in volume["anyOf"])
    for path, item in schema["paths"].items():
        if path.startswith("/api/v1/traders/"):
            names = {p["name"] for p in item["get"]["parameters"]}
            assert "decimals" in names, path

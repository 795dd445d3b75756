"""Every timestamp the API answers is UTC, written with `Z`, whatever the host's time zone.

The API runs as its own process with `TZ` (and libpq's `PGTZ`) set to Asia/Kolkata, +05:30,
so a timestamp that follows the host's or the session's zone shows in its offset.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime

import httpx
import pytest
from apitest_support import ServerProcess
from conftest import duckdb_query, pg_query

pytestmark = pytest.mark.slow

HOST_ZONE = "Asia/Kolkata"
TIMESTAMP = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}")


@pytest.fixture(scope="module", params=["duckdb", "postgres"])
def kolkata_api(request, tmp_path_factory) -> Iterator[tuple[httpx.Client, object]]:
    env = {"TZ": HOST_ZONE, "PGTZ": HOST_ZONE, "SNAPSHOT_POLL_SECONDS": "0.2"}
    if request.param == "postgres":
        url = request.getfixturevalue("pg_warehouse")
        env["DATABASE_URL"] = url
        query = pg_query(url)
    else:
        env["SNAPSHOT_DIR"] = str(request.getfixturevalue("duckdb_snapshot"))
        query = duckdb_query(request.getfixturevalue("duckdb_warehouse"))
    with (
        ServerProcess(env, tmp_path_factory.mktemp("api-kolkata")) as server,
        httpx.Client(base_url=server.url, timeout=30) as client,
    ):
        yield client, query


def timestamps(value, path: str = "") -> Iterator[tuple[str, str]]:
    """(where, text) of every date-time string in a JSON document."""
    if isinstance(value, dict):
        for key, item in value.items():
            yield from timestamps(item, f"{path}.{key}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from timestamps(item, f"{path}[{index}]")
    elif isinstance(value, str) and TIMESTAMP.match(value):
        yield path, value


def test_every_timestamp_is_utc_under_another_host_zone(kolkata_api):
    client, query = kolkata_api
    trader = query(
        "select wallet_address, last_trade_at from marts.traders_v2 "
        "order by trades desc, wallet_address limit 1"
    )[0]
    wallet = trader["wallet_address"]
    answers = {}
    for path in (
        "/ready",
        "/api/v1/traders/leaderboard?timeframe=all&limit=100",
        f"/api/v1/traders/search?q={wallet[:6]}",
        f"/api/v1/traders/{wallet}",
        f"/api/v1/traders/{wallet}/statistics",
        f"/api/v1/traders/{wallet}/positions?limit=100",
    ):
        response = client.get(path)
        assert response.status_code == 200, (path, response.text)
        answers[path] = response.json()

    not_utc = []
    for path, body in answers.items():
        found = list(timestamps(body))
        # Each of these answers carries time: as_of at least, and fill and activity times.
        assert found, f"{path} has no timestamp to check"
        not_utc += [(path + where, text) for where, text in found if not text.endswith("Z")]
    assert not not_utc, not_utc

    # The same instants as the marts, only written in UTC.
    detail = answers[f"/api/v1/traders/{wallet}"]
    got = datetime.fromisoformat(detail["trader"]["last_trade_at"])
    assert got.utcoffset().total_seconds() == 0
    assert got == trader["last_trade_at"].astimezone(UTC)

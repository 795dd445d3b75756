"""The response cache: served from Redis, invalidated by a new publication, one computation
per key in flight, and R3: with Redis down the API keeps answering from the warehouse."""

from __future__ import annotations

import asyncio
import logging
import shutil
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import httpx
import pytest
from apitest_support import REDIS_TEST_URL, LiveServer, free_port, metric, settings_for, wait_for

from orchestration.lib.publish import publish_snapshot, read_current
from orchestration.lib.warehouse import connect_warehouse

LEADERBOARD = "/api/v1/traders/leaderboard"


@pytest.fixture
def own_warehouse(duckdb_warehouse, tmp_path) -> tuple[Path, Path]:
    """A private copy of the pipeline warehouse and its own snapshot root, published once."""
    path = tmp_path / "warehouse.duckdb"
    shutil.copy(duckdb_warehouse, path)
    root = tmp_path / "snapshot"
    with connect_warehouse(None, str(path)) as warehouse:
        publish_snapshot(warehouse, root)
    return path, root


def hits(client: httpx.Client, kind: str, result: str) -> float:
    return metric(
        client.get("/metrics").text, "polyboard_cache_requests_total", kind=kind, result=result
    )


def test_second_request_is_served_from_redis_and_publication_invalidates(
    request, own_warehouse, redis_prefix, redis_client
):
    path, root = own_warehouse
    settings = settings_for(
        "duckdb",
        request,
        snapshot_dir=str(root),
        redis_url=REDIS_TEST_URL,
        cache_key_prefix=redis_prefix,
        local_cache_ttl=0,  # every hit goes to Redis
    )
    with LiveServer(settings) as server, httpx.Client(base_url=server.url) as client:
        version = read_current(root)
        params = {"timeframe": "all", "limit": 5}
        first = client.get(LEADERBOARD, params=params)
        assert first.status_code == 200
        keys = [k.decode() for k in redis_client.scan_iter(f"{redis_prefix}:*")]
        assert len(keys) == 1
        assert keys[0].startswith(f"{redis_prefix}:{version}:leaderboard:all:")
        ttl = redis_client.ttl(keys[0])
        assert 0 < ttl <= settings.leaderboard_cache_ttl

        time.sleep(0.2)
        before = hits(client, "leaderboard", "hit")
        misses = hits(client, "leaderboard", "miss")
        second = client.get(LEADERBOARD, params=params)
        assert second.content == first.content
        assert hits(client, "leaderboard", "hit") == before + 1
        assert hits(client, "leaderboard", "miss") == misses

        # The warehouse changes and is published again: the same request shows the new data.
        leader = first.json()["traders"][0]["wallet_address"]
        con = duckdb.connect(str(path))
        con.execute(
            "update marts.traders_v2 set total_pnl = total_pnl - 1000000 where wallet_address = ?",
            [leader],
        )
        con.close()
        with connect_warehouse(None, str(path)) as warehouse:
            new_version = publish_snapshot(warehouse, root)
        assert new_version != version
        wait_for(lambda: client.get("/ready").json()["version"] == new_version)
        third = client.get(LEADERBOARD, params=params)
        assert third.json()["traders"][0]["wallet_address"] != leader
        assert hits(client, "leaderboard", "miss") == misses + 1
        assert any(
            k.decode().startswith(f"{redis_prefix}:{new_version}:")
            for k in redis_client.scan_iter(f"{redis_prefix}:*")
        )

        # Trader pages are cached under trader:<wallet> and trader_stats:<wallet>:...
        client.get(f"/api/v1/traders/{leader}")
        client.get(f"/api/v1/traders/{leader}/statistics")
        assert redis_client.exists(f"{redis_prefix}:{new_version}:trader:{leader}")
        assert list(redis_client.scan_iter(f"{redis_prefix}:{new_version}:trader_stats:{leader}:*"))


def test_concurrent_identical_requests_compute_once(request, own_warehouse, redis_prefix):
    _, root = own_warehouse
    settings = settings_for(
        "duckdb",
        request,
        snapshot_dir=str(root),
        redis_url=REDIS_TEST_URL,
        cache_key_prefix=redis_prefix,
    )
    with LiveServer(settings) as server:

        async def burst() -> list[httpx.Response]:
            async with httpx.AsyncClient(base_url=server.url) as client:
                params = {"timeframe": "30d", "sort_by": "volume", "limit": 17}
                return await asyncio.gather(
                    *(client.get(LEADERBOARD, params=params) for _ in range(40))
                )

        with httpx.Client(base_url=server.url) as client:
            results = ("miss", "hit", "local_hit", "coalesced")
            before = {r: hits(client, "leaderboard", r) for r in results}
            responses = asyncio.run(burst())
            assert {r.status_code for r in responses} == {200}
            assert len({r.content for r in responses}) == 1
            after = {r: hits(client, "leaderboard", r) for r in before}
            assert after["miss"] == before["miss"] + 1
            assert sum(after[r] - before[r] for r in results[1:]) == 39


def test_near_cache_in_front_of_redis(request, own_warehouse, redis_prefix, redis_client):
    """With Redis, a body also stays in the process for LOCAL_CACHE_TTL seconds."""
    _, root = own_warehouse
    settings = settings_for(
        "duckdb",
        request,
        snapshot_dir=str(root),
        redis_url=REDIS_TEST_URL,
        cache_key_prefix=redis_prefix,
        local_cache_ttl=0.5,
    )
    with LiveServer(settings) as server, httpx.Client(base_url=server.url) as client:
        params = {"timeframe": "7d", "limit": 3}
        first = client.get(LEADERBOARD, params=params).content
        time.sleep(0.1)
        counts = {r: hits(client, "leaderboard", r) for r in ("hit", "local_hit")}
        assert client.get(LEADERBOARD, params=params).content == first
        assert hits(client, "leaderboard", "local_hit") == counts["local_hit"] + 1
        time.sleep(0.6)  # the near copy expired: the next one comes from Redis
        assert client.get(LEADERBOARD, params=params).content == first
        assert hits(client, "leaderboard", "hit") == counts["hit"] + 1
        assert list(redis_client.scan_iter(f"{redis_prefix}:*:leaderboard:7d:*"))


def _closed_port_url() -> str:
    return f"redis://127.0.0.1:{free_port()}/0"


def test_redis_down_still_answers_from_the_warehouse(request, own_warehouse, caplog):
    """R3: Redis unreachable: 200s from the warehouse, one warning, ready, cache reported down."""
    _, root = own_warehouse
    settings = settings_for(
        "duckdb",
        request,
        snapshot_dir=str(root),
        redis_url=_closed_port_url(),
        redis_retry_seconds=60,
    )
    caplog.set_level(logging.WARNING, logger="polyboard.api.cache")
    with LiveServer(settings) as server, httpx.Client(base_url=server.url) as client:
        for _ in range(3):
            assert client.get(LEADERBOARD).status_code == 200
            wallet = client.get(LEADERBOARD).json()["traders"][0]["wallet_address"]
            assert client.get(f"/api/v1/traders/{wallet}").status_code == 200
            assert client.get(f"/api/v1/traders/{wallet}/statistics").status_code == 200
        ready = client.get("/ready")
        assert ready.status_code == 200
        assert ready.json()["cache_status"] == "down"
        assert ready.json()["status"] == "ready"
        assert "polyboard_cache_up 0.0" in client.get("/metrics").text
    warnings = [r for r in caplog.records if "Redis unavailable" in r.getMessage()]
    assert len(warnings) == 1


def test_caching_resumes_when_redis_comes_back(request, own_warehouse, tmp_path, redis_prefix):
    """R3: a Redis that starts after the API is used as soon as the retry delay passes."""
    _, root = own_warehouse
    port = free_port()
    settings = settings_for(
        "duckdb",
        request,
        snapshot_dir=str(root),
        redis_url=f"redis://127.0.0.1:{port}/0",
        redis_retry_seconds=0.3,
        cache_key_prefix=redis_prefix,
    )
    with LiveServer(settings) as server, httpx.Client(base_url=server.url) as client:
        assert client.get(LEADERBOARD).status_code == 200
        redis_server = subprocess.Popen(
            [
                "redis-server",
                "--port",
                str(port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(tmp_path),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            import redis as redis_lib

            own = redis_lib.Redis(port=port)
            wait_for(lambda: _pings(own), timeout=10)
            time.sleep(0.4)

            def cached() -> bool:
                assert client.get(LEADERBOARD).status_code == 200
                return bool(own.keys(f"{redis_prefix}:*"))

            wait_for(cached, timeout=10, interval=0.2)
            assert client.get("/ready").json()["cache_status"] == "ok"
            own.close()
        finally:
            redis_server.terminate()
            redis_server.wait(10)


def _pings(client) -> bool:
    try:
        return bool(client.ping())
    except Exception:
        return False


def test_api_never_holds_the_pipeline_duckdb_file(request, own_warehouse):
    """While the API serves a snapshot, another process can open the warehouse and write."""
    path, root = own_warehouse
    settings = settings_for("duckdb", request, snapshot_dir=str(root))
    with LiveServer(settings) as server, httpx.Client(base_url=server.url) as client:
        assert client.get(LEADERBOARD).status_code == 200
        script = (
            "import duckdb, sys; con = duckdb.connect(sys.argv[1]); "
            "con.execute('create table marts.writer_probe as select 1 as x'); con.close()"
        )
        result = subprocess.run(
            [sys.executable, "-c", script, str(path)],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert result.returncode == 0, result.stderr
        assert client.get(LEADERBOARD).status_code == 200


def test_in_process_cache_holds_to_its_byte_bound(request, own_warehouse):
    """Many large leaderboard bodies: the in-process cache keeps the newest ones that fit in
    MEMORY_CACHE_MAX_BYTES and evicts the oldest, whatever their number."""
    _, root = own_warehouse
    bound = 100_000
    settings = settings_for("duckdb", request, snapshot_dir=str(root), memory_cache_max_bytes=bound)
    with LiveServer(settings) as server, httpx.Client(base_url=server.url) as client:
        sizes = []
        for i in range(200):  # a distinct min_volume each: 200 keys of every trader's row
            params = {"timeframe": "all", "min_trades": 0, "min_volume": i / 1e6, "limit": 100}
            response = client.get(LEADERBOARD, params=params)
            assert response.status_code == 200
            sizes.append((params, len(response.content)))
        assert sum(size for _, size in sizes) > 5 * bound

        # Newest first, hits do not reorder the cache: count what is still held. (A request
        # right after a computation joins it instead of hitting: let that moment pass.)
        time.sleep(0.2)
        hits_before = hits(client, "leaderboard", "hit")
        cached_bytes = 0
        for params, size in reversed(sizes):
            client.get(LEADERBOARD, params=params)
            if hits(client, "leaderboard", "hit") == hits_before:
                break  # the first miss: every older key was evicted before it
            hits_before += 1
            cached_bytes += size
        assert 0 < cached_bytes <= bound
        held = metric(client.get("/metrics").text, "polyboard_memory_cache_bytes")
        assert bound / 2 < held <= bound

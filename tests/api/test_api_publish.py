"""The publication the pipeline hands to the API: Parquet snapshots swapped atomically on
DuckDB, a version row on PostgreSQL; the API follows it and survives a broken one."""

from __future__ import annotations

import json
import shutil
import time

import duckdb
import httpx
import psycopg
from apitest_support import LiveServer, settings_for, wait_for

from orchestration.lib.publish import CURRENT_FILE, publish_snapshot, read_current
from orchestration.lib.warehouse import connect_warehouse

MARTS = {"traders_v2", "trader_stats", "trader_markets", "leaderboard", "data_watermark"}


def test_duckdb_snapshot_has_every_mart_and_keeps_two(duckdb_warehouse, tmp_path):
    path = tmp_path / "warehouse.duckdb"
    shutil.copy(duckdb_warehouse, path)
    root = tmp_path / "snapshot"
    assert read_current(root) is None
    versions = []
    with connect_warehouse(None, str(path)) as warehouse:
        for _ in range(3):
            versions.append(publish_snapshot(warehouse, root))
        counts = {t: warehouse.fetchone(f"select count(*) from marts.{t}")[0] for t in MARTS}
    assert versions == sorted(versions) and len(set(versions)) == 3
    assert read_current(root) == versions[-1]
    assert sorted(p.name for p in root.iterdir()) == sorted([*versions[1:], CURRENT_FILE])
    folder = root / versions[-1]
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["version"] == versions[-1]
    assert set(manifest["tables"]) >= MARTS
    con = duckdb.connect()
    for table in MARTS:
        parquet = str(folder / f"{table}.parquet")
        count = con.execute(f"select count(*) from read_parquet('{parquet}')").fetchone()[0]
        assert count == counts[table] == manifest["tables"][table]
    # Money keeps its exact decimal type through Parquet.
    kind = con.execute(
        f"select typeof(total_pnl) from read_parquet('{folder / 'traders_v2.parquet'}') limit 1"
    ).fetchone()[0]
    assert kind.startswith("DECIMAL")


def test_postgres_publication_is_a_version_row(pg_warehouse):
    with connect_warehouse(pg_warehouse) as warehouse:
        version = publish_snapshot(warehouse, "/nonexistent/not-used-on-postgres")
    with psycopg.connect(pg_warehouse) as con:
        newest = con.execute(
            "select version from marts.publication order by published_at desc, version desc"
        ).fetchone()[0]
    assert newest == version


def test_api_waits_for_a_first_snapshot_and_survives_a_broken_one(
    request, duckdb_warehouse, tmp_path
):
    root = tmp_path / "snapshot"
    settings = settings_for("duckdb", request, snapshot_dir=str(root))
    with LiveServer(settings) as server, httpx.Client(base_url=server.url) as client:
        assert client.get("/health").status_code == 200
        ready = client.get("/ready")
        assert ready.status_code == 503 and ready.json()["status"] == "not_ready"
        response = client.get("/api/v1/traders/leaderboard")
        assert response.status_code == 503
        assert response.json()["detail"] == "no marts are published yet"

        with connect_warehouse(None, str(duckdb_warehouse)) as warehouse:
            version = publish_snapshot(warehouse, root)
        wait_for(lambda: client.get("/ready").status_code == 200)
        assert client.get("/ready").json()["version"] == version
        good = client.get("/api/v1/traders/leaderboard")
        assert good.status_code == 200

        # CURRENT naming a folder that is not there: the API keeps the previous snapshot.
        (root / CURRENT_FILE).write_text("20990101T000000000000-deadbeef\n")
        time.sleep(1.0)
        assert client.get("/ready").json()["version"] == version
        assert client.get("/api/v1/traders/leaderboard").content == good.content

"""The publication the pipeline hands to the API: Parquet snapshots swapped atomically on
DuckDB, a version row on PostgreSQL; the API follows it and survives a broken one."""

from __future__ import annotations

import json
import os
import shutil
import time
from unittest.mock import patch

import dagster as dg
import duckdb
import httpx
import psycopg
import pytest
from apitest_support import LiveServer, settings_for, wait_for

from orchestration.lib.publish import (
    CURRENT_FILE,
    publish_snapshot,
    published_schema,
    read_current,
)
from orchestration.lib.warehouse import connect_warehouse

MARTS = {
    "traders_v2",
    "trader_stats",
    "trader_markets",
    "trader_categories",
    "leaderboard",
    "markets",
    "data_watermark",
    "source_freshness",
    "position_reconciliation",
    "position_reconciliation_summary",
}


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


def _indexes(con, schema: str) -> list[tuple[str, list[str], bool]]:
    """(table, key columns, unique) of every index in the schema."""
    return con.execute(
        "select c.relname, array(select a.attname from unnest(i.indkey) with ordinality as k(n, o) "
        "  join pg_attribute as a on a.attrelid = i.indrelid and a.attnum = k.n order by k.o), "
        "  i.indisunique "
        "from pg_index as i join pg_class as c on c.oid = i.indrelid "
        "join pg_namespace as n on n.oid = c.relnamespace where n.nspname = %s "
        "order by 1, 2, 3",
        [schema],
    ).fetchall()


def test_postgres_publication_is_a_schema_per_version_and_keeps_two(pg_unpublished):
    versions = [_publish(pg_unpublished) for _ in range(3)]
    assert versions == sorted(versions) and len(set(versions)) == 3
    with psycopg.connect(pg_unpublished) as con:
        recorded = con.execute(
            "select version, tables from publication.versions order by published_at, version"
        ).fetchall()
        schemas = [
            r[0]
            for r in con.execute(
                "select nspname from pg_namespace where nspname like 'published%' order by 1"
            )
        ]
        newest = published_schema(versions[-1])
        copied = {}
        for table in MARTS:
            a, b = f"marts.{table}", f"{newest}.{table}"
            differing = (
                f"(table {a} except all table {b}) union all (table {b} except all table {a})"
            )
            assert con.execute(f"select count(*) from ({differing}) as d").fetchone()[0] == 0
            copied[table] = con.execute(f"select count(*) from {a}").fetchone()[0]
        indexes = {schema: _indexes(con, schema) for schema in ("marts", newest)}
    assert [r[0] for r in recorded] == versions
    assert recorded[-1][1] == copied
    # The two newest are kept, the older one is dropped.
    assert schemas == [published_schema(v) for v in versions[1:]]
    # The indexes dbt builds on the marts for the API's lookups and sorts.
    assert indexes[newest] == indexes["marts"] and len(indexes["marts"]) >= 5
    with pytest.raises(ValueError):
        published_schema("x; drop schema marts cascade")


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


LEADERBOARD = "/api/v1/traders/leaderboard"
PUBLICATION_KEY = dg.AssetKey(["api", "marts_publication"])


def _publish(database_url: str) -> str:
    with connect_warehouse(database_url) as warehouse:
        return publish_snapshot(warehouse)


def _traders(database_url: str) -> tuple[str, str]:
    """Two traders: one whose last active day is the watermark's (the singular test
    assert_daily_pnl_sums_to_total ties its last trader_stats row to its total), and the most
    active other one."""
    with psycopg.connect(database_url) as con:
        on_watermark_day = con.execute(
            "select s.wallet_address from marts.trader_stats s "
            "join marts.data_watermark w on s.day = cast(w.as_of as date) "
            "order by s.wallet_address limit 1"
        ).fetchone()[0]
        busiest = con.execute(
            "select wallet_address from marts.traders_v2 where wallet_address <> %s "
            "order by trades desc, wallet_address limit 1",
            [on_watermark_day],
        ).fetchone()[0]
    return on_watermark_day, busiest


def _answers(client: httpx.Client, wallets: tuple[str, ...]) -> dict[str, bytes]:
    """The bodies a frontend reads, by path."""
    paths = [f"{LEADERBOARD}?timeframe=all&limit=100", f"{LEADERBOARD}?timeframe=7d"]
    for wallet in wallets:
        paths += [
            f"/api/v1/traders/{wallet}",
            f"/api/v1/traders/{wallet}/statistics",
            f"/api/v1/traders/{wallet}/positions?limit=100",
        ]
    answers = {}
    for path in paths:
        response = client.get(path)
        assert response.status_code == 200, (path, response.text)
        answers[path] = response.content
    return answers


def _serving(client: httpx.Client) -> str:
    ready = wait_for(lambda: (r := client.get("/ready")).status_code == 200 and r)
    return ready.json()["version"]


def _edit_marts_in_place(database_url: str, wallet: str) -> None:
    """What a rebuild (or a hand) does to `marts.*` after they were published."""
    with psycopg.connect(database_url, autocommit=True) as con:
        con.execute("update marts.traders_v2 set total_pnl = total_pnl + 1000000")
        con.execute(
            "update marts.trader_stats set cumulative_pnl = cumulative_pnl + 1000 "
            "where wallet_address = %s",
            [wallet],
        )


def test_postgres_ready_waits_for_a_publication(request, pg_unpublished):
    settings = settings_for("postgres", request, database_url=pg_unpublished)
    with LiveServer(settings) as server, httpx.Client(base_url=server.url) as client:
        ready = client.get("/ready")
        assert ready.status_code == 503
        body = ready.json()
        assert body["status"] == "not_ready" and body["version"] is None
        assert body["warehouse_error"] == "no marts are published yet"
        response = client.get(LEADERBOARD)
        assert response.status_code == 503
        assert response.json()["detail"] == "no marts are published yet"

        version = _publish(pg_unpublished)
        assert _serving(client) == version
        assert client.get(LEADERBOARD).status_code == 200


def test_postgres_serves_the_published_marts_not_the_marts_in_place(request, pg_unpublished):
    version = _publish(pg_unpublished)
    wallets = _traders(pg_unpublished)
    settings = settings_for("postgres", request, database_url=pg_unpublished)
    with LiveServer(settings) as server, httpx.Client(base_url=server.url) as client:
        assert _serving(client) == version
        published = _answers(client, wallets)

        _edit_marts_in_place(pg_unpublished, wallets[0])
        # A fresh process (nothing cached) and the one that cached the answers agree.
        with LiveServer(settings) as fresh, httpx.Client(base_url=fresh.url) as fresh_client:
            assert _serving(fresh_client) == version
            assert _answers(fresh_client, wallets) == published
        assert _answers(client, wallets) == published


def _published_schemas(database_url: str) -> list[str]:
    with psycopg.connect(database_url) as con:
        return [
            r[0]
            for r in con.execute(
                "select nspname from pg_namespace where nspname like 'published%' order by 1"
            )
        ]


def test_postgres_drop_waits_for_no_reader_of_an_old_publication(pg_unpublished):
    oldest = _publish(pg_unpublished)
    old_schema = published_schema(oldest)
    with psycopg.connect(pg_unpublished) as reader:
        # A query on the oldest publication, its transaction still open (a slow reader).
        reader.execute(f"select count(*) from {old_schema}.traders_v2").fetchone()
        started = time.monotonic()
        _publish(pg_unpublished)
        _publish(pg_unpublished)
        # The publication gave up dropping the schema after its lock timeout, and succeeded.
        assert time.monotonic() - started < 30
        assert old_schema in _published_schemas(pg_unpublished)
        reader.execute(f"select count(*) from {old_schema}.traders_v2").fetchone()
    newest = _publish(pg_unpublished)
    # The next publication drops what is no longer read.
    assert old_schema not in _published_schemas(pg_unpublished)
    assert len(_published_schemas(pg_unpublished)) == 2
    assert published_schema(newest) in _published_schemas(pg_unpublished)


def test_postgres_api_behind_a_dropped_publication_follows_the_newest(request, pg_unpublished):
    first = _publish(pg_unpublished)
    # The process reads the publication once, at start, and does not poll again.
    settings = settings_for(
        "postgres", request, database_url=pg_unpublished, snapshot_poll_seconds=3600
    )
    with LiveServer(settings) as server, httpx.Client(base_url=server.url) as client:
        assert _serving(client) == first
        _publish(pg_unpublished)
        newest = _publish(pg_unpublished)
        assert published_schema(first) not in _published_schemas(pg_unpublished)
        response = client.get(LEADERBOARD, params={"limit": 7})
        assert response.status_code == 200, response.text
        assert client.get("/ready").json()["version"] == newest


def _run_assets(database_url: str, instance: dg.DagsterInstance, keys: list[dg.AssetKey]):
    with patch.dict(os.environ, {"DATABASE_URL": database_url}):
        from orchestration.definitions import defs

        job = defs().resolve_job_def("full_sync_job")
        return job.execute_in_process(instance=instance, asset_selection=keys, raise_on_error=False)


def run_transformation(database_url: str, instance: dg.DagsterInstance):
    """Every dbt model (`dbt build`: models and data tests), then the publication, as the code
    location runs them."""
    from orchestration.defs.dbt.assets import polyboard_dbt_models

    return _run_assets(database_url, instance, [*polyboard_dbt_models.keys, PUBLICATION_KEY])


def run_publication(database_url: str, instance: dg.DagsterInstance):
    """The publication alone, as the UI or its automation condition launches it."""
    return _run_assets(database_url, instance, [PUBLICATION_KEY])


def _materialized(result) -> set[str]:
    return {e.asset_key.to_user_string() for e in result.get_asset_materialization_events()}


@pytest.mark.slow
def test_postgres_build_with_a_failing_data_test_leaves_the_previous_publication(
    request, pg_unpublished
):
    url = pg_unpublished
    version = _publish(url)
    on_watermark_day, busiest = wallets = _traders(url)
    settings = settings_for("postgres", request, database_url=url)
    with LiveServer(settings) as server, httpx.Client(base_url=server.url) as client:
        assert _serving(client) == version
        published = _answers(client, wallets)
        trades = json.loads(published[f"/api/v1/traders/{busiest}"])["trader"]["total_trades"]

        with psycopg.connect(url, autocommit=True) as con:
            # New data: one more fill of the busiest trader, at a time already seen (the
            # watermark stays), so the build rewrites the marts with different numbers...
            con.execute(
                "insert into raw.order_filled_events "
                'select id || \'-again\', "transactionHash", "timestamp", "orderHash", maker, '
                'taker, "makerAssetId", "takerAssetId", "makerAmountFilled", '
                '"takerAmountFilled", fee, _block_number, now() '
                'from raw.order_filled_events where maker = %s order by "timestamp", id limit 1',
                [busiest],
            )
        # ...and a daily row that no longer ties to its trader's total: a data test fails.
        _edit_marts_in_place(url, on_watermark_day)

        with dg.DagsterInstance.ephemeral() as instance:
            failed = run_transformation(url, instance)
            assert not failed.success
            (failure,) = failed.get_step_failure_events()
            assert "assert_daily_pnl_sums_to_total" in failure.step_failure_data.error.message
            # Data that fails a test fails it again: no retry rebuilds it.
            assert not [e for e in failed.all_events if e.event_type_value == "STEP_UP_FOR_RETRY"]
            assert "marts/traders_v2" in _materialized(failed)
            assert "api/marts_publication" not in _materialized(failed)
            with psycopg.connect(url) as con:
                in_place = con.execute(
                    "select trades from marts.traders_v2 where wallet_address = %s", [busiest]
                ).fetchone()[0]
            assert in_place == trades + 1  # the build did rewrite the marts

            # Asked for on its own afterwards, the publication refuses what that build left.
            refused = run_publication(url, instance)
            assert not refused.success
            (failure,) = refused.get_step_failure_events()
            assert f"run {failed.run_id}, whose dbt build failed" in (
                failure.step_failure_data.error.message
            )
            assert "api/marts_publication" not in _materialized(refused)

            with LiveServer(settings) as fresh, httpx.Client(base_url=fresh.url) as fresh_client:
                assert _serving(fresh_client) == version
                assert _answers(fresh_client, wallets) == published
            assert _serving(client) == version
            assert _answers(client, wallets) == published

            # The cause repaired, the next build passes its tests and goes live.
            with psycopg.connect(url, autocommit=True) as con:
                con.execute(
                    "update marts.trader_stats set cumulative_pnl = cumulative_pnl - 1000 "
                    "where wallet_address = %s",
                    [on_watermark_day],
                )
            passed = run_transformation(url, instance)
        assert passed.success
        (published_again,) = [
            e.materialization
            for e in passed.get_asset_materialization_events()
            if e.asset_key == PUBLICATION_KEY
        ]
        new_version = published_again.metadata["version"].value
        assert new_version > version
        wait_for(lambda: client.get("/ready").json()["version"] == new_version)
        trader = client.get(f"/api/v1/traders/{busiest}").json()["trader"]
        assert trader["total_trades"] == trades + 1

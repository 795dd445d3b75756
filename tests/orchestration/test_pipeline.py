"""The whole code location end to end: the local subgraph to published marts, as Dagster runs it."""

from __future__ import annotations

import dagster as dg
import pytest

from orchestration.lib.publish import read_current
from orchestration.lib.warehouse import connect_warehouse
from subgraph_sim.process import start_sim

pytestmark = pytest.mark.extract
MARTS = ("traders_v2", "trader_stats", "trader_markets", "leaderboard", "data_watermark")


@pytest.fixture(scope="module")
def full_sync(tmp_path_factory):
    """One run of full_sync_job, from the code location's own definitions and env bindings."""
    tmp = tmp_path_factory.mktemp("pipeline")
    with start_sim("tiny") as sim, pytest.MonkeyPatch.context() as env:
        for subgraph in ("orderbook", "pnl", "activity"):
            env.setenv(f"SUBGRAPH_{subgraph.upper()}_URL", sim.url(subgraph))
        env.setenv("GAMMA_API_URL", sim.gamma_url)
        env.delenv("DATABASE_URL", raising=False)
        env.setenv("DUCKDB_PATH", str(tmp / "warehouse.duckdb"))
        env.setenv("SNAPSHOT_DIR", str(tmp / "snapshot"))
        from orchestration.definitions import defs

        job = defs().resolve_job_def("full_sync_job")
        with dg.DagsterInstance.ephemeral() as instance:
            result = job.execute_in_process(instance=instance)
        yield result, tmp


def test_full_sync_builds_every_mart_and_publishes_them(full_sync):
    result, tmp = full_sync
    assert result.success
    materialized = {e.asset_key.to_user_string() for e in result.get_asset_materialization_events()}
    assert {f"marts/{m}" for m in MARTS} <= materialized
    assert "api/marts_publication" in materialized
    with connect_warehouse(None, str(tmp / "warehouse.duckdb")) as wh:
        for mart in MARTS:
            assert wh.fetchone(f"select count(*) from marts.{mart}")[0] > 0, mart
    version = read_current(tmp / "snapshot")
    assert version and (tmp / "snapshot" / version / "leaderboard.parquet").exists()


def test_dbt_tests_run_as_asset_checks(full_sync):
    result, _ = full_sync
    evaluations = result.get_asset_check_evaluations()
    assert len(evaluations) > 10, "dbt data tests should report as asset checks"
    failed = [e.check_name for e in evaluations if not e.passed]
    # The tiny dataset is frozen in time, so only the source freshness checks may fail here.
    assert set(failed) <= {"orderbook_source_fresh", "pnl_source_fresh", "activity_source_fresh"}


def test_marts_record_row_counts(full_sync):
    result, _ = full_sync
    leaderboard = [
        e.materialization
        for e in result.get_asset_materialization_events()
        if e.asset_key == dg.AssetKey(["marts", "leaderboard"])
    ]
    assert leaderboard and leaderboard[0].metadata["dagster/row_count"].value > 0


def _marts(tmp) -> dict[str, list[tuple]]:
    with connect_warehouse(None, str(tmp / "warehouse.duckdb")) as wh:
        return {m: sorted(map(str, wh.fetchall(f"select * from marts.{m}"))) for m in MARTS}


def test_a_full_refresh_from_the_launchpad_rebuilds_to_the_same_marts(full_sync):
    _, tmp = full_sync
    before = _marts(tmp)
    from orchestration.definitions import defs

    job = defs().resolve_job_def("full_sync_job")
    config = {"ops": {"polyboard_dbt_models": {"config": {"full_refresh": True}}}}
    with dg.DagsterInstance.ephemeral() as instance:
        result = job.execute_in_process(instance=instance, run_config=config)
        assert result.success
        messages = [e.message or "" for e in instance.all_logs(result.run_id)]
    assert any("dbt build" in m and "--full-refresh" in m for m in messages)
    assert _marts(tmp) == before


def test_reconciliation_check_runs_with_the_marts(full_sync):
    result, _ = full_sync
    checks = {e.check_name: e for e in result.get_asset_check_evaluations()}
    check = checks["position_reconciliation_explained"]
    assert check.asset_key == dg.AssetKey(["marts", "position_reconciliation"])
    assert check.passed, check.description
    metadata = check.metadata
    print(f"\nfull sync (tiny): {check.description}")
    assert 0 < metadata["agreement_pct"].value <= 100
    assert metadata["class_other"].value == 0
    assert metadata["positions"].value == (
        metadata["agreeing"].value
        + metadata["class_fees"].value
        + metadata["class_missing_events"].value
    )
    assert "| wallet |" in metadata["largest_differences"].value

"""R7: a stale or erroring source fails its asset check, naming the source and its lag."""

from __future__ import annotations

import dagster as dg
import pytest

from orchestration.defs.polymarket.checks import source_verdict
from orchestration.defs.resources import SubgraphsResource
from subgraph_sim.process import start_sim

pytestmark = pytest.mark.extract


@pytest.fixture(scope="module")
def live_sim():
    with start_sim("tiny", live=True) as sim:
        yield sim


def subgraphs(sim) -> SubgraphsResource:
    return SubgraphsResource(
        orderbook_url=sim.url("orderbook"),
        pnl_url=sim.url("pnl"),
        activity_url=sim.url("activity"),
        max_attempts=2,
    )


def test_fresh_source_passes(live_sim):
    live_sim.control(meta_lag_blocks=0, has_indexing_errors=False)
    verdict = source_verdict(subgraphs(live_sim), "orderbook", max_lag_seconds=600)
    assert verdict.passed, verdict.description
    assert verdict.metadata["lag_seconds"].value < 600


def test_lagging_source_fails_with_its_name_and_lag(live_sim):
    live_sim.control(meta_lag_blocks=1800)  # one hour at 2 s blocks
    try:
        verdict = source_verdict(subgraphs(live_sim), "pnl", max_lag_seconds=600)
    finally:
        live_sim.control(meta_lag_blocks=0)
    assert not verdict.passed
    assert "pnl-subgraph" in verdict.description
    assert verdict.metadata["lag_seconds"].value >= 3500
    assert f"lags {verdict.metadata['lag_seconds'].value} s" in verdict.description


def test_indexing_errors_fail_the_check(live_sim):
    live_sim.control(has_indexing_errors=True)
    try:
        verdict = source_verdict(subgraphs(live_sim), "activity", max_lag_seconds=600)
    finally:
        live_sim.control(has_indexing_errors=False)
    assert not verdict.passed
    assert "activity-subgraph reports indexing errors" in verdict.description


def test_unreachable_source_fails_the_check():
    dead = SubgraphsResource(orderbook_url="http://127.0.0.1:9/gn", max_attempts=1)
    verdict = source_verdict(dead, "orderbook", max_lag_seconds=600)
    assert not verdict.passed
    assert "orderbook-subgraph did not answer" in verdict.description


def test_checks_run_as_part_of_the_dagster_definitions(live_sim, duckdb_path):
    from tests.orchestration.truth import RAW_ASSETS, RAW_CHECKS, resources

    live_sim.control(meta_lag_blocks=1800)
    try:
        result = dg.materialize(
            RAW_ASSETS + RAW_CHECKS,
            resources=resources(live_sim, None, duckdb_path, source_max_lag_seconds=600),
            selection=dg.AssetSelection.assets(dg.AssetKey(["polymarket", "order_filled_events"])),
        )
    finally:
        live_sim.control(meta_lag_blocks=0)
    evaluations = result.get_asset_check_evaluations()
    assert [e.check_name for e in evaluations] == ["orderbook_source_fresh"]
    assert not evaluations[0].passed

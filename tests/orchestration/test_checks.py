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


@pytest.mark.parametrize("covered", [False, True])
def test_a_subgraph_frozen_at_the_cutover_is_complete_where_the_chain_reads_v2(covered):
    """The crossing world's subgraphs stop at the 2026-04-28 cutover, as the real ones did: with
    the chain source on they hold all of their era; without it they are stale."""
    with start_sim("crossing") as sim:
        resource = SubgraphsResource(pnl_url=sim.url("pnl"), max_attempts=2)
        far_later = 1_790_000_000  # months after the cutover
        verdict = source_verdict(
            resource, "pnl", max_lag_seconds=600, now=far_later, chain_covers_v2=covered
        )
    assert verdict.passed is covered, verdict.description
    if covered:
        assert "holds the V1 era to the 2026-04-28 cutover" in verdict.description
    else:
        assert "lags" in verdict.description


def test_a_subgraph_that_stopped_before_the_cutover_is_stale_even_with_the_chain():
    with start_sim("tiny", end_time=1_777_334_400 - 30 * 86400) as sim:
        verdict = source_verdict(
            SubgraphsResource(pnl_url=sim.url("pnl"), max_attempts=2),
            "pnl",
            max_lag_seconds=600,
            now=1_790_000_000,
            chain_covers_v2=True,
        )
    assert not verdict.passed and "lags" in verdict.description

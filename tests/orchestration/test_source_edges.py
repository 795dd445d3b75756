"""Sources as a new user and an operator meet them: empty, going back, mistyped.

An entity with no events yet, a `_meta` head that moved back past the lookback and a backfill
window at or after the head are empty plans: a no-op with a warning, the rest of the run goes
on. A source answering from an older block never replaces newer rows. A request that can never
succeed (a mistyped URL or host, a 404) fails at once instead of after minutes of retries.
"""

from __future__ import annotations

import logging
import time

import dagster as dg
import pytest

from orchestration.defs.polymarket.checks import loaded_block, source_verdict
from orchestration.defs.resources import SubgraphsResource
from orchestration.lib import extract
from orchestration.lib.entities import CONDITIONS, ORDER_FILLED_EVENTS, SPLITS
from orchestration.lib.pager import Plan
from orchestration.lib.subgraph import SourceRejected, SubgraphClient
from orchestration.lib.warehouse import connect_warehouse
from subgraph_sim.generator import generate
from subgraph_sim.process import start_sim
from tests.orchestration.truth import RAW_ASSETS, RAW_CHECKS, materialize_raw, resources

pytestmark = pytest.mark.extract


def test_an_empty_range_splits_into_no_slices():
    plan = Plan.split(block=10, start=500, end=500, parts=8)
    assert plan.slices == [] and plan.done
    assert Plan.split(block=10, start=600, end=500, parts=8).slices == []


def test_a_source_with_no_events_yet_builds_every_mart(tmp_path):
    """`--fills 0`: every event entity is empty; the full sync still builds and publishes."""
    with start_sim("tiny", fills=0) as sim, pytest.MonkeyPatch.context() as env:
        for subgraph in ("orderbook", "pnl", "activity"):
            env.setenv(f"SUBGRAPH_{subgraph.upper()}_URL", sim.url(subgraph))
        env.setenv("GAMMA_API_URL", sim.gamma_url)
        env.delenv("DATABASE_URL", raising=False)
        env.setenv("DUCKDB_PATH", str(tmp_path / "warehouse.duckdb"))
        env.setenv("SNAPSHOT_DIR", str(tmp_path / "snapshot"))
        from orchestration.definitions import defs

        job = defs().resolve_job_def("full_sync_job")
        with dg.DagsterInstance.ephemeral() as instance:
            result = job.execute_in_process(instance=instance, raise_on_error=False)
            warnings = [
                entry.user_message
                for entry in instance.all_logs(result.run_id)
                if entry.level == logging.WARNING
            ]

    assert result.success, [e.message for e in result.all_events if e.is_failure]
    fills = result.asset_materializations_for_node("polymarket__order_filled_events")[0]
    assert fills.metadata["rows"].value == 0
    assert "no orderFilledEvents yet" in fills.metadata["skipped"].value
    assert fills.metadata["skipped"].value in warnings
    materialized = {e.asset_key.to_user_string() for e in result.get_asset_materialization_events()}
    assert {"marts/leaderboard", "marts/traders_v2", "api/marts_publication"} <= materialized
    with connect_warehouse(None, str(tmp_path / "warehouse.duckdb")) as wh:
        assert wh.fetchone("select count(*) from marts.traders_v2")[0] == 0
        assert wh.fetchone("select count(*) from raw.conditions")[0] > 0
        # No watermark for an entity never seen: the next run asks for its first event again.
        assert "watermark" not in (wh.get_cursor(ORDER_FILLED_EVENTS.table) or {})


@pytest.fixture
def synced(tmp_path):
    """A warehouse synced from the tiny world, and the local subgraph serving it."""
    with start_sim("tiny") as sim:
        duckdb_path = str(tmp_path / "warehouse.duckdb")
        materialize_raw(sim, None, duckdb_path)
        yield sim, duckdb_path


def _state(duckdb_path):
    with connect_warehouse(None, duckdb_path) as wh:
        return {
            "fills": wh.count(ORDER_FILLED_EVENTS),
            "cursor": wh.get_cursor(ORDER_FILLED_EVENTS.table),
            "conditions": wh.fetchall(
                'select id, "payoutDenominator", _block_number from raw.conditions order by id'
            ),
            "conditions_block": wh.get_cursor(CONDITIONS.table)["block"],
        }


def test_a_head_moved_back_past_the_lookback_changes_nothing(synced):
    sim, duckdb_path = synced
    before = _state(duckdb_path)
    head, world = sim.state()["head_block"], generate("tiny")
    # Halfway through the world: days past the lookback, with conditions resolved since.
    older = head - (head - world.chain.genesis_block) // 2
    then = {c["id"]: c["payoutDenominator"] for c in world.entities("pnl", "Condition", older)}
    now = {c["id"]: c["payoutDenominator"] for c in world.entities("pnl", "Condition")}
    assert any(then[c] != now[c] for c in then), "some conditions resolved since `older`"
    sim.control(head_block=older)

    result = materialize_raw(sim, None, duckdb_path)
    fills = result.asset_materializations_for_node("polymarket__order_filled_events")[0]
    assert "at or after the source's head" in fills.metadata["skipped"].value
    # Reference rows of the older block are re-read in full: none replaces a newer version.
    with connect_warehouse(None, duckdb_path) as wh:
        refreshed = extract.extract_reference(
            SubgraphClient("pnl-subgraph", sim.url("pnl")), wh, CONDITIONS, full_refresh=True
        )
    assert refreshed.rows > 0 and refreshed.extra["loaded_block"] == head
    after = _state(duckdb_path)
    resolved = sum(1 for _, denominator, _ in before["conditions"] if denominator)
    assert resolved > 0, "the tiny world resolves some conditions"
    assert after == before


def test_a_source_that_went_back_fails_its_check(synced):
    sim, duckdb_path = synced
    head = sim.state()["head_block"]
    with connect_warehouse(None, duckdb_path) as wh:
        assert loaded_block(wh, "pnl") == head
    sim.control(head_block=head - 1000)
    subgraphs = SubgraphsResource(pnl_url=sim.url("pnl"), max_attempts=2)
    verdict = source_verdict(subgraphs, "pnl", max_lag_seconds=10**9, loaded=head)
    assert not verdict.passed
    assert f"went back to block {head - 1000}, 1000 blocks behind block {head}" in (
        verdict.description
    )
    # And through Dagster: the check of the run that met the older head fails.
    result = dg.materialize(
        RAW_ASSETS + RAW_CHECKS,
        resources=resources(sim, None, duckdb_path, source_max_lag_seconds=10**9),
    )
    failed = {e.check_name for e in result.get_asset_check_evaluations() if not e.passed}
    assert failed == {"orderbook_source_fresh", "pnl_source_fresh", "activity_source_fresh"}


def test_a_backfill_window_at_or_after_the_head_is_a_no_op(synced):
    sim, duckdb_path = synced
    head_time = generate("tiny").block_timestamp(sim.state()["head_block"])
    client = SubgraphClient("activity-subgraph", sim.url("activity"))
    warnings: list[str] = []
    with connect_warehouse(None, duckdb_path) as wh:
        before = wh.count(SPLITS)
        result = extract.extract_events(
            client, wh, SPLITS, start=head_time + 1, end=head_time + 86400, warn=warnings.append
        )
        assert wh.count(SPLITS) == before
    assert result.rows == 0 and result.pages == 0
    assert warnings == [result.extra["skipped"]]
    assert "backfill window starts" in warnings[0]


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("htp://127.0.0.1:9/gn", "is not a valid http"),
        ("http//127.0.0.1:9/gn", "is not a valid http"),
        ("http://no-such-host.invalid/gn", "does not resolve"),
    ],
)
def test_a_mistyped_url_fails_at_once(url, reason):
    client = SubgraphClient("orderbook-subgraph", url, max_attempts=8, backoff_base=1.0)
    started = time.monotonic()
    with pytest.raises(SourceRejected, match=reason):
        client.meta()
    assert time.monotonic() - started < 5, "a typo must not be retried"
    assert client.retries == 0


def test_a_404_with_an_html_body_fails_at_once(sim_tiny):
    wrong_path = sim_tiny.url("orderbook").replace("/subgraphs/", "/subgraph/")
    client = SubgraphClient("orderbook-subgraph", wrong_path, max_attempts=8, backoff_base=1.0)
    with pytest.raises(SourceRejected, match="answered HTTP 404"):
        client.meta()
    assert client.retries == 0


def test_a_mistyped_url_fails_the_step_without_step_retries(sim_tiny, tmp_path):
    res = resources(sim_tiny, None, str(tmp_path / "warehouse.duckdb"))
    res["subgraphs"] = SubgraphsResource(orderbook_url="htp://127.0.0.1:9/gn")
    started = time.monotonic()
    result = dg.materialize(
        RAW_ASSETS,
        resources=res,
        selection=dg.AssetSelection.assets(ORDER_FILLED_EVENTS.asset_key),
        raise_on_error=False,
    )
    assert not result.success
    assert time.monotonic() - started < 10, "the retry policy waits 15 s before a retry"
    kinds = [e.event_type for e in result.all_events]
    assert dg.DagsterEventType.STEP_UP_FOR_RETRY not in kinds
    (failure,) = [e for e in result.all_events if e.event_type == dg.DagsterEventType.STEP_FAILURE]
    assert "'htp://127.0.0.1:9/gn' is not a valid http(s) URL" in str(
        failure.step_failure_data.error.message
    )

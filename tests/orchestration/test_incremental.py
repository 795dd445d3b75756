"""Incremental runs: late-arriving events inside the lookback window are picked up."""

from __future__ import annotations

import pytest

from orchestration.lib.entities import ORDER_FILLED_EVENTS
from orchestration.lib.warehouse import connect_warehouse
from subgraph_sim.generator import generate
from subgraph_sim.process import start_sim
from tests.orchestration.test_extract import SOURCE_TABLES
from tests.orchestration.truth import assert_same, loaded, materialize_raw, served

pytestmark = pytest.mark.extract

LATE = {"late_fraction": 0.2, "late_delay_blocks": 300}  # 10 minutes late at 2 s blocks


def pending_late_fills(dataset, block: int) -> set[str]:
    """Fills stamped at or before `block` that the source only shows at later blocks."""
    cutoff = dataset.block_timestamp(block)
    visible = served(dataset, ORDER_FILLED_EVENTS, block)
    return {
        k
        for k, v in served(dataset, ORDER_FILLED_EVENTS).items()
        if k not in visible and int(v[2]) <= cutoff
    }


def test_late_events_are_caught_by_the_lookback(duckdb_path):
    dataset = generate("tiny", **LATE)
    # The newest block at which some already-stamped fills are still to arrive.
    early_head = next(
        block
        for block in range(dataset.head_block - 400, dataset.head_block - 40_000, -100)
        if pending_late_fills(dataset, block)
    )
    late = pending_late_fills(dataset, early_head)
    with start_sim("tiny", **LATE) as sim:
        sim.control(head_block=early_head)
        materialize_raw(sim, None, duckdb_path)
        with connect_warehouse(None, duckdb_path) as wh:
            first = loaded(wh, ORDER_FILLED_EVENTS)
        assert_same(first, served(dataset, ORDER_FILLED_EVENTS, early_head), "first run")
        assert not late & first.keys()

        sim.control(head_block=dataset.head_block)
        materialize_raw(sim, None, duckdb_path)

    with connect_warehouse(None, duckdb_path) as wh:
        assert late <= loaded(wh, ORDER_FILLED_EVENTS).keys()
        for entity in SOURCE_TABLES:
            assert_same(loaded(wh, entity), served(dataset, entity), f"raw.{entity.table}")

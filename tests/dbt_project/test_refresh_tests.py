"""A refresh's data tests read only what changed since the last checked build, and still fail
on a changed row that breaks them (macros/test_scope.sql)."""

from __future__ import annotations

import duckdb
import pytest

from subgraph_sim.generator import generate
from tests.dbt_project.conftest import dataset_entities

pytestmark = pytest.mark.transform

SOURCE_UNIQUE_FILL_ID = "source_unique_polymarket_order_filled_events_id"


def test_refresh_fails_on_a_new_row_repeating_a_stored_key(make_warehouse):
    ds = generate("tiny")
    times = sorted(int(f["timestamp"]) for f in ds.entities("orderbook", "OrderFilledEvent"))
    cut = ds.chain.block_at(times[len(times) // 2])
    wh = make_warehouse("duckdb", "scope")
    wh.load(dataset_entities(ds, cut), cut)
    wh.dbt("build")  # the first build tests everything and records what it checked

    wh.load(dataset_entities(ds), ds.head_block)
    # A fill landing again under an id already stored and checked (DuckDB's event tables
    # carry no primary key): only the key's new row is in the refresh's scope.
    con = duckdb.connect(wh.duckdb_path)
    try:
        con.execute(
            "insert into raw.order_filled_events"
            " select * replace (current_timestamp as _extracted_at)"
            " from raw.order_filled_events where _block_number <= ? order by id limit 1",
            [cut],
        )
    finally:
        con.close()

    # twice: a build whose tests failed records nothing, so the next one tests the row again
    for _ in range(2):
        with pytest.raises(AssertionError, match=f"Failure in test {SOURCE_UNIQUE_FILL_ID}"):
            wh.dbt("build")
        compiled = next((wh.tmp / "target" / "run").rglob(f"{SOURCE_UNIQUE_FILL_ID}.sql"))
        assert "_extracted_at > cast(" in compiled.read_text(), "the refresh tested all rows"

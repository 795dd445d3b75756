"""A refresh's data tests read only what changed since the last checked build, and still fail
on a changed row that breaks them (macros/test_scope.sql)."""

from __future__ import annotations

import duckdb
import psycopg
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


@pytest.mark.postgres
def test_refresh_looks_a_changed_key_up_by_the_models_index_and_fails_on_a_repeat(make_warehouse):
    """On PostgreSQL a scoped unique test reads each changed key's rows by the model's index
    (a lateral lookup, not a scan of the whole table) and still fails on a repeated key."""
    ds = generate("tiny")
    wh = make_warehouse("postgres", "scope_index")
    wh.load(dataset_entities(ds), ds.head_block)
    wh.dbt("build")  # tests everything and records what it checked

    # A ledger row written again under its key, stamped now: the ledger's index on its key is
    # not unique, so only the test can tell.
    ledger = "intermediate.int_position_events_folded"
    with psycopg.connect(wh.database_url) as con:
        con.execute(f"create temporary table repeated as select * from {ledger} limit 1")
        con.execute("update repeated set extracted_at = current_timestamp")
        con.execute(f"insert into {ledger} select * from repeated")

    test = "unique_combination_int_position_events_folded_trader_address__token_id__event_seq"
    with pytest.raises(AssertionError, match=f"Failure in test {test}"):
        wh.dbt("build", "--select", "int_position_events_folded")
    # dbt names a long test's file by a hash: the ledger's one unique test
    compiled = next(
        (wh.tmp / "target" / "run").rglob("_int_position_events_folded.yml/unique_combination*.sql")
    )
    assert "cross join lateral" in compiled.read_text(), "the refresh scanned the whole ledger"


@pytest.mark.postgres
def test_a_unique_index_stands_for_the_unique_test_until_it_is_dropped(make_warehouse):
    """On PostgreSQL a unique test over a key that a unique index of the model enforces reads
    no row while the index is there (the database refuses a repeat), and reads them and fails
    on a repeated key once the index is gone."""
    ds = generate("tiny")
    wh = make_warehouse("postgres", "unique_index")
    wh.load(dataset_entities(ds), ds.head_block)
    wh.dbt("build")

    summaries = "intermediate.int_position_summaries"
    test = "unique_combination_int_position_summaries_trader_address__token_id"
    with psycopg.connect(wh.database_url, autocommit=True) as con:
        (index,) = con.execute(
            "select indexrelid::regclass::text from pg_index"
            " where indrelid = %s::regclass and indisunique",
            [summaries],
        ).fetchone()
        # dbt names a long test's file by a hash: the summaries' one unique test
        compiled = next(
            (wh.tmp / "target" / "run").rglob("_int_position_summaries.yml/unique_combination*.sql")
        ).read_text()
        plan = "\n".join(
            row[0] for row in con.execute(f"explain (analyze, costs off) {compiled}").fetchall()
        )
        assert "Seq Scan on int_position_summaries" in plan
        assert "never executed" in plan, f"the test read the rows under the unique index:\n{plan}"

        con.execute(f"drop index {index}")
        con.execute(
            f"insert into {summaries} select * from {summaries} order by trader_address limit 1"
        )
    with pytest.raises(AssertionError, match=f"Failure in test {test}"):
        wh.dbt("test", "--select", "int_position_summaries")

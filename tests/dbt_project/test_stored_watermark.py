"""stored_watermark (macros/incremental.sql): the newest load of a model's stored rows, as the
literal its refresh compares every source's loads with. Off by a microsecond either way, a
refresh would skip rows loaded in the same instant or take stored ones again."""

from __future__ import annotations

import json

import duckdb
import psycopg
import pytest

pytestmark = pytest.mark.transform

STAMPS = (
    "2026-04-28 09:15:00.000001+00",
    "2026-04-28 23:59:59.999999+00",  # the newest: the last microsecond of a UTC day
    "2026-04-27 12:00:00+00",
)

# the literal beside the table's own max, compared by the warehouse itself
SHOW = """
{%- set relation = adapter.get_relation(
    database=target.database, schema='stamps', identifier='loads'
) -%}
select
    cast({{ stored_watermark(relation) }} as {{ text_type() }}) as watermark,
    cast((select max(extracted_at) from stamps.loads) as {{ text_type() }}) as newest,
    {{ stored_watermark(relation) }} = (select max(extracted_at) from stamps.loads) as same,
    {{ stored_watermark(relation) }} = {{ epoch_to_timestamptz(0) }} as is_epoch,
    {{ stored_watermark(none) }} = {{ epoch_to_timestamptz(0) }} as none_is_epoch,
    {{ stored_watermark(adapter.get_relation(
        database=target.database, schema='stamps', identifier='unstamped'
    )) }} = {{ epoch_to_timestamptz(0) }} as unstamped_is_epoch
"""


def _execute(wh, statements: list[str]) -> None:
    if wh.engine == "duckdb":
        con = duckdb.connect(wh.duckdb_path)
        try:
            for statement in statements:
                con.execute(statement)
        finally:
            con.close()
        return
    with psycopg.connect(wh.database_url, autocommit=True) as con:
        for statement in statements:
            con.execute(statement)


def _show(wh) -> dict:
    result = wh.dbt("show", "--inline", SHOW, "--output", "json", "--log-format", "json")
    for line in result.stdout.splitlines():
        data = json.loads(line).get("data", {})
        if "preview" in data:
            return json.loads(data["preview"])[0]
    raise AssertionError(f"dbt show printed no preview:\n{result.stdout[-3000:]}")


@pytest.mark.parametrize("engine", ["duckdb", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_stored_watermark_is_the_newest_load_to_the_microsecond(
    engine, make_warehouse, monkeypatch
):
    wh = make_warehouse(engine, "watermark")
    if engine == "postgres":
        # a session far from UTC: the literal carries its offset
        monkeypatch.setenv("PGOPTIONS", "-c jit=off -c timezone=Asia/Kolkata")
    _execute(
        wh,
        [
            "create schema stamps",
            "create table stamps.loads (extracted_at timestamptz)",
            # a table an earlier release built without the column: a full refresh must still
            # compile the scope that reads it
            "create table stamps.unstamped (loaded_at timestamptz)",
            "insert into stamps.unstamped values (cast('2026-04-28 00:00:00+00' as timestamptz))",
        ],
    )
    empty = _show(wh)
    assert empty["none_is_epoch"] is True
    assert empty["unstamped_is_epoch"] is True
    assert empty["is_epoch"] is True and empty["newest"] is None  # no rows: the epoch

    values = ", ".join(f"(cast('{stamp}' as timestamptz))" for stamp in STAMPS)
    _execute(wh, [f"insert into stamps.loads values {values}"])
    loaded = _show(wh)
    assert loaded["same"] is True and loaded["is_epoch"] is False
    assert loaded["watermark"] == loaded["newest"]

"""Raw upserts of mutable entities: a new version replaces the row, an unchanged one is a no-op."""

from __future__ import annotations

import time

import pytest

from orchestration.lib.entities import CONDITIONS
from orchestration.lib.warehouse import connect_warehouse

pytestmark = pytest.mark.extract

OPEN = {"id": "0xc1", "positionIds": ["11", "12"], "payoutNumerators": [], "payoutDenominator": "0"}
RESOLVED = {**OPEN, "payoutNumerators": ["1", "0"], "payoutDenominator": "1"}


def _stored(wh) -> tuple:
    return wh.fetchone(
        'select "payoutDenominator", _block_number, _extracted_at from raw.conditions '
        "where id = '0xc1'"
    )


def test_a_mutable_row_keeps_its_stamps_until_it_changes(warehouse_url):
    database_url, duckdb_path = warehouse_url
    with connect_warehouse(database_url, duckdb_path) as wh:
        wh.ensure_raw_schema()
        wh.upsert(CONDITIONS, [OPEN], block_number=100)
        first = _stored(wh)
        assert first[:2] == (0, 100)

        time.sleep(0.01)  # a later load has a later clock
        wh.upsert(CONDITIONS, [OPEN, {**OPEN, "id": "0xc2"}], block_number=200)
        # re-extracted unchanged: still the version that landed at block 100
        assert wh.fetchone("select count(*) from raw.conditions")[0] == 2
        assert _stored(wh) == first

        wh.upsert(CONDITIONS, [RESOLVED], block_number=300)
        resolved = wh.fetchone(
            'select "payoutDenominator", _block_number, _extracted_at, "payoutNumerators" '
            "from raw.conditions where id = '0xc1'"
        )
        assert resolved[:2] == (1, 300) and resolved[2] > first[2]
        assert [int(n) for n in resolved[3]] == [1, 0]

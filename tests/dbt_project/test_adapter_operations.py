"""Attribution of the collateral adapters' operations, on the real V2 receipt and on one
hand-written transaction of each kind built from the contracts' event layouts (encoded with
`chain_logs`, the trail of shared/reference/polymarket-v2.md section 3.1): the receipt's split
is the settlement leg of a MINT match and names no user; each hand-written one names exactly
its user, in dbt and in the reference alike."""

from __future__ import annotations

import json

import pytest

from orchestration.lib import chain_logs, ctf
from orchestration.lib.chain_extract import log_filters, matches
from orchestration.lib.chain_tables import LOG_TABLES, ROW_BUILDERS
from orchestration.lib.entities import ENTITIES
from subgraph_sim import v2_chain as V2
from tests.chain_support import receipt_path
from tests.reference.metrics import DEFAULT_EXCLUDED, _adapter_operations

pytestmark = pytest.mark.transform

BLOCK = 90_000_000
CONDITION = ctf.condition_id(V2.UMA_ADAPTER, "0x" + "11" * 32, 2)
TOKENS = ctf.token_ids(CONDITION, ctf.USDC_E)
MARKET = "0x" + "22" * 31 + "00"
QUESTIONS = [ctf.condition_id(V2.NEG_RISK_ADAPTER, ctf.neg_risk_question_id(MARKET, i), 2)
             for i in range(3)]  # fmt: skip
NEG_TOKENS = [ctf.token_ids(c, ctf.NEG_RISK_WRAPPED_COLLATERAL) for c in QUESTIONS]
USERS = {kind: "0x" + f"{i + 1:02x}" * 20 for i, kind in enumerate(
    ("split", "neg_risk_split", "merge", "redemption", "neg_risk_redemption", "conversion")
)}  # fmt: skip
HAND_WRITTEN = {
    "split": V2.split_through_adapter(False, USERS["split"], CONDITION, TOKENS, 5_000_000),
    "neg_risk_split": V2.split_through_adapter(
        True, USERS["neg_risk_split"], QUESTIONS[0], NEG_TOKENS[0], 7_000_000
    ),
    "merge": V2.merge_through_adapter(False, USERS["merge"], CONDITION, TOKENS, 2_000_000),
    "redemption": V2.redeem_through_adapter(
        False, USERS["redemption"], CONDITION, TOKENS, (3_000_000, 1_000_000), 3_000_000
    ),
    "neg_risk_redemption": V2.redeem_through_adapter(
        True, USERS["neg_risk_redemption"], QUESTIONS[1], NEG_TOKENS[1], (0, 4_000_000), 4_000_000
    ),
    # NO of questions 0 and 2 become YES of question 1 and one share's collateral
    "conversion": V2.convert_through_adapter(
        USERS["conversion"], MARKET, 0b101, [NEG_TOKENS[0][1], NEG_TOKENS[2][1]],
        [NEG_TOKENS[1][0]], 1_000_000,
    ),
}  # fmt: skip
KIND = {"neg_risk_split": "split", "neg_risk_redemption": "redemption"}


def _logs() -> list[dict]:
    """The receipt's logs, then each hand-written transaction in a block of its own."""
    with open(receipt_path()) as f:
        logs = json.load(f)["result"]["logs"]
    for n, events in enumerate(HAND_WRITTEN.values()):
        for index, (row_type, fields) in enumerate(events):
            row = row_type(
                transaction_hash="0x" + f"{n + 1:064x}",
                log_index=index,
                block_number=BLOCK + n,
                block_hash="0x" + f"{BLOCK + n:064x}",
                block_timestamp=1_780_000_000 + 2 * n,
                **fields,
            )
            logs.append(chain_logs.encode_log(row))
    return logs


@pytest.fixture(scope="module")
def entities() -> dict[str, list[dict]]:
    rows: dict[str, list[dict]] = {t.table: [] for t in LOG_TABLES}
    filters = log_filters()
    for log in _logs():
        if matches(log, filters):
            decoded = chain_logs.decode_log(log)
            table, build = ROW_BUILDERS[type(decoded)]
            rows[table.table].append(build(decoded, decoded.block_timestamp))
    return {**{e.table: [] for e in ENTITIES}, **rows}


def expected() -> list[tuple[str, str, str]]:
    tx = {name: "0x" + f"{n + 1:064x}" for n, name in enumerate(HAND_WRITTEN)}
    return sorted((tx[name], KIND.get(name, name), USERS[name]) for name in HAND_WRITTEN)


def test_the_reference_finds_one_operation_per_hand_written_transaction(entities):
    found = _adapter_operations(entities, DEFAULT_EXCLUDED)
    got = sorted((o["id"].split("_")[0], kind, o["trader"]) for kind, ops in found.items()
                 for o in ops)  # fmt: skip
    assert got == expected()  # and none for the receipt's settlement split
    (conversion,) = found["conversion"]
    assert sorted(conversion["legs"]) == sorted([
        (str(NEG_TOKENS[0][1]), 1, False), (str(NEG_TOKENS[2][1]), 1, False),
        (str(NEG_TOKENS[1][0]), 1, True),
    ])  # fmt: skip


def test_dbt_finds_one_operation_per_hand_written_transaction(make_warehouse, entities):
    wh = make_warehouse("duckdb", "adapter_ops")
    wh.load(entities, BLOCK + len(HAND_WRITTEN))
    wh.dbt("build", "--select", "+int_position_conversion_legs")
    receipt_ops = wh.query(
        "select operation, adapter_address from staging.stg_polymarket__chain_position_operations "
        "where transaction_hash like '0xc1375cac%'"
    )
    assert receipt_ops == [
        {"operation": "split", "adapter_address": "0xada100874d00e3331d00f2007a9c336a65009718"}
    ]
    rows = wh.query(
        "select transaction_hash, operation, trader_address "
        "from intermediate.int_position_operations_attributed"
    )
    got = sorted((r["transaction_hash"], r["operation"], r["trader_address"]) for r in rows)
    assert got == expected()
    legs = wh.query(
        "select token_id, quantity_units, is_increase, cash_e24 "
        "from intermediate.int_position_conversion_legs order by token_id"
    )
    # three questions: NO given at 2/3, YES received at 1/3; together one share's collateral
    got_legs = [(r["token_id"], int(r["quantity_units"]), r["is_increase"]) for r in legs]
    assert sorted(got_legs) == sorted([
        (str(NEG_TOKENS[0][1]), 1_000_000, False), (str(NEG_TOKENS[2][1]), 1_000_000, False),
        (str(NEG_TOKENS[1][0]), 1_000_000, True),
    ])  # fmt: skip
    assert abs(sum(int(r["cash_e24"]) for r in legs) - 10**24) < 10

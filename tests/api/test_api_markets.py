"""Market metadata in the answers: positions name their market and outcome, and a market's
own endpoint answers its metadata and its top traders."""

from __future__ import annotations

import json
from decimal import Decimal


def _gamma(tiny_dataset) -> dict[str, dict]:
    now = tiny_dataset.block_timestamp(tiny_dataset.head_block)
    return {m["conditionId"]: m for m in tiny_dataset.gamma.visible_markets(now)}


def test_positions_carry_question_and_outcome_label(served, tiny_dataset):
    gamma = _gamma(tiny_dataset)
    wallets = [
        r["wallet_address"] for r in served.query("select wallet_address from marts.traders_v2")
    ]
    named = unnamed = 0
    for wallet in wallets[:12]:
        response = served.get(f"/api/v1/traders/{wallet}/positions", limit=100)
        assert response.status_code == 200, response.text
        for position in response.json()["positions"]:
            market = gamma.get(position["condition_id"])
            if market is None:
                assert position["question"] == position["condition_id"]
                assert position["outcome_label"] is None
                unnamed += 1
                continue
            labels = json.loads(market["outcomes"])
            assert position["question"] == market["question"]
            assert position["outcome_label"] == labels[position["outcome_index"]]
            assert position["category"] and position["market_url"].startswith("https://")
            named += 1
    assert named and unnamed, "positions in markets with and without metadata"


def test_market_answers_metadata_and_top_traders(served, tiny_dataset):
    gamma = _gamma(tiny_dataset)
    condition, market = next(iter(gamma.items()))
    response = served.get(f"/api/v1/markets/{condition.upper().replace('0X', '0x')}", limit=5)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["market"]["question"] == market["question"]
    assert body["market"]["outcome_labels"] == json.loads(market["outcomes"])
    assert body["market"]["outcome_token_ids"] == json.loads(market["clobTokenIds"])
    expected = served.query(
        "select wallet_address, sum(total_pnl) as pnl from marts.trader_markets "
        f"where condition_id = '{condition}' group by wallet_address"
    )
    ranked = sorted(expected, key=lambda r: (-Decimal(str(r["pnl"])), r["wallet_address"]))
    assert body["traders"] == len(expected)
    top = body["top_traders"]
    assert [t["wallet_address"] for t in top] == [r["wallet_address"] for r in ranked[:5]]
    for entry, row in zip(top, ranked, strict=False):
        assert abs(Decimal(str(entry["total_pnl"])) - Decimal(str(row["pnl"]))) < Decimal("1e-6")


def test_market_without_metadata_is_named_by_id(served, tiny_dataset):
    gamma = _gamma(tiny_dataset)
    rows = served.query("select condition_id from marts.markets")
    missing = [r["condition_id"] for r in rows if r["condition_id"] not in gamma]
    assert missing
    body = served.get(f"/api/v1/markets/{missing[0]}").json()
    assert body["market"]["question"] == missing[0] and not body["market"]["has_metadata"]


def test_market_bad_or_unknown_id(served):
    assert served.get("/api/v1/markets/0x1234").status_code == 422
    response = served.get("/api/v1/markets/0x" + "0" * 64)
    assert response.status_code == 404
    assert "no market" in response.json()["detail"]

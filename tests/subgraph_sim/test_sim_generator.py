"""The generator: deterministic, and coherent the way Polymarket's data is."""

from __future__ import annotations

import filecmp
from collections import Counter, defaultdict

import pytest

from subgraph_sim.generator import EXCHANGE, generate

pytestmark = pytest.mark.sim

ONE = 1_000_000


@pytest.fixture(scope="module")
def tiny():
    return generate("tiny")


def _trunc_div(a: int, b: int) -> int:
    q = abs(a) // abs(b)
    return q if (a >= 0) == (b >= 0) else -q


def replay(dataset, block=None):
    """Positions rebuilt from the events alone (DESIGN section 2), independent of the
    generator's own bookkeeping. Returns (positions, capped) where capped counts disposals
    of more shares than held."""
    ents = lambda sg, t: dataset.entities(sg, t, block)  # noqa: E731
    tokens_of = {c["id"]: c["positionIds"] for c in ents("pnl", "Condition")}
    payout_of = {
        c["id"]: [int(n) * ONE // int(c["payoutDenominator"]) for n in c["payoutNumerators"]]
        for c in ents("pnl", "Condition")
        if int(c["payoutDenominator"])
    }
    events = []
    for e in ents("orderbook", "OrderFilledEvent"):
        events.append((int(e["timestamp"]), e["id"], "fill", e))
    for kind, type_name in (("split", "Split"), ("merge", "Merge"), ("redeem", "Redemption")):
        for e in ents("activity", type_name):
            events.append((int(e["timestamp"]), e["id"], kind, e))
    events.sort(key=lambda x: (x[0], x[1]))
    positions: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0, 0, 0])
    capped = 0

    def buy(pos, price, qty):
        pos[1] = _trunc_div(pos[1] * pos[0] + price * qty, pos[0] + qty)
        pos[0] += qty
        pos[3] += qty

    def sell(pos, price, qty):
        nonlocal capped
        if qty > pos[0]:
            capped += 1
        qty = min(qty, pos[0])
        pos[2] += _trunc_div(qty * (price - pos[1]), ONE)
        pos[0] -= qty

    for _, _, kind, e in events:
        if kind == "fill":
            fee = int(e["fee"])
            if e["makerAssetId"] == "0":
                usdc, shares = int(e["makerAmountFilled"]), int(e["takerAmountFilled"])
                pos = positions[(e["maker"], e["takerAssetId"])]
                buy(pos, _trunc_div(usdc * ONE, shares - fee), shares - fee)
            else:
                shares, usdc = int(e["makerAmountFilled"]), int(e["takerAmountFilled"])
                pos = positions[(e["maker"], e["makerAssetId"])]
                sell(pos, _trunc_div((usdc - fee) * ONE, shares), shares)
        elif kind in ("split", "merge"):
            for token in tokens_of[e["condition"]]:
                pos = positions[(e["stakeholder"], token)]
                amount = int(e["amount"])
                buy(pos, ONE // 2, amount) if kind == "split" else sell(pos, ONE // 2, amount)
        else:
            for token, price in zip(
                tokens_of[e["condition"]], payout_of[e["condition"]], strict=True
            ):
                pos = positions[(e["redeemer"], token)]
                sell(pos, price, pos[0])
    return positions, capped


def test_same_seed_same_dump_and_other_seed_differs(tmp_path):
    a = generate("tiny", seed=5).dump(tmp_path / "a")
    b = generate("tiny", seed=5).dump(tmp_path / "b")
    c = generate("tiny", seed=6).dump(tmp_path / "c")
    files = sorted(p.relative_to(a) for p in a.rglob("*.jsonl"))
    assert files
    match, mismatch, errors = filecmp.cmpfiles(a, b, [str(f) for f in files], shallow=False)
    assert not mismatch and not errors and len(match) == len(files)
    assert (a / "meta.json").read_text() == (b / "meta.json").read_text()
    fills = "orderbook/OrderFilledEvent.jsonl"
    assert (a / fills).read_bytes() != (c / fills).read_bytes()


def test_sizes_follow_the_preset(tiny):
    assert len(tiny.entities("orderbook", "OrderFilledEvent")) == 400
    assert len(tiny.entities("pnl", "Condition")) == 10
    assert len(tiny.entities("orderbook", "MarketData")) == 20
    makers = {e["maker"] for e in tiny.entities("orderbook", "OrderFilledEvent")}
    assert 10 <= len(makers) <= 30


def test_each_trade_emits_two_agreeing_events(tiny):
    by_tx = defaultdict(list)
    for e in tiny.entities("orderbook", "OrderFilledEvent"):
        assert e["id"] == f"{e['transactionHash']}_{e['orderHash']}"
        by_tx[e["transactionHash"]].append(e)
    tokens = {m["id"] for m in tiny.entities("orderbook", "MarketData")}
    for events in by_tx.values():
        assert len(events) == 2
        taker_order = next(e for e in events if e["taker"] == EXCHANGE)
        maker_order = next(e for e in events if e is not taker_order)
        assert maker_order["taker"] == taker_order["maker"] != maker_order["maker"]
        assert maker_order["timestamp"] == taker_order["timestamp"]
        assert maker_order["makerAssetId"] == taker_order["takerAssetId"]
        assert maker_order["takerAssetId"] == taker_order["makerAssetId"]
        assert maker_order["makerAmountFilled"] == taker_order["takerAmountFilled"]
        assert maker_order["takerAmountFilled"] == taker_order["makerAmountFilled"]
        for e in events:
            token = e["takerAssetId"] if e["makerAssetId"] == "0" else e["makerAssetId"]
            assert token in tokens
            received = int(e["takerAmountFilled"])
            assert 0 <= int(e["fee"]) <= received * 2 // 100
            usdc = int(e["makerAmountFilled"] if e["makerAssetId"] == "0" else received)
            shares = int(received if e["makerAssetId"] == "0" else e["makerAmountFilled"])
            assert 0 < usdc < shares  # prices strictly inside (0, 1)


def test_ids_and_addresses_look_real(tiny):
    fill = tiny.entities("orderbook", "OrderFilledEvent")[0]
    assert len(fill["transactionHash"]) == 66 and fill["transactionHash"].startswith("0x")
    assert len(fill["maker"]) == 42 and fill["maker"] == fill["maker"].lower()
    market = tiny.entities("orderbook", "MarketData")[0]
    assert market["id"].isdigit() and 76 <= len(market["id"]) <= 78
    split = tiny.entities("activity", "Split")[0]
    tx, log_index = split["id"].split("_")
    assert len(tx) == 66 and log_index.startswith("0x")
    assert tiny.block_timestamp(tiny.head_block) == 1_777_334_400


def test_conditions_link_markets_and_resolve(tiny):
    markets = {m["id"]: m for m in tiny.entities("orderbook", "MarketData")}
    conditions = tiny.entities("pnl", "Condition")
    resolved = [c for c in conditions if c["payoutDenominator"] == "1"]
    assert len(resolved) >= len(conditions) // 2
    for c in conditions:
        assert [markets[t]["condition"] for t in c["positionIds"]] == [c["id"], c["id"]]
        assert [markets[t]["outcomeIndex"] for t in c["positionIds"]] == ["0", "1"]
        if c["payoutDenominator"] == "0":
            assert c["payoutNumerators"] == []
        else:
            assert sorted(c["payoutNumerators"]) == ["0", "1"]


def test_no_one_disposes_of_shares_never_held(tiny):
    _, capped = replay(tiny)
    assert capped == 0


def test_oversell_option_produces_capped_sells():
    _, capped = replay(generate("tiny", oversell_fraction=0.5))
    assert capped > 0


def test_redemptions_pay_the_winning_shares_held(tiny):
    conditions = {c["id"]: c for c in tiny.entities("pnl", "Condition")}
    redemptions = tiny.entities("activity", "Redemption")
    assert redemptions
    # Holdings just before each redemption: replay the events at the block before it.
    for r in redemptions[:10]:
        block = tiny.chain.block_at(int(r["timestamp"])) - 1
        positions, _ = replay(tiny, block)
        c = conditions[r["condition"]]
        expected = sum(
            positions[(r["redeemer"], token)][0] * int(n) // int(c["payoutDenominator"])
            for token, n in zip(c["positionIds"], c["payoutNumerators"], strict=True)
        )
        assert int(r["payout"]) == expected
        assert r["indexSets"] == ["1", "2"]


def test_user_positions_equal_the_events_replayed(tiny):
    positions, _ = replay(tiny)
    served = tiny.entities("pnl", "UserPosition")
    assert len(served) == len(positions)
    for p in served:
        assert p["id"] == f"{p['user']}-{p['tokenId']}"
        amount, avg, realized, bought = positions[(p["user"], p["tokenId"])]
        assert (p["amount"], p["avgPrice"], p["realizedPnl"], p["totalBought"]) == (
            str(amount),
            str(avg),
            str(realized),
            str(bought),
        )


def test_user_positions_have_versions_by_block(tiny):
    # Mid-way through, positions reflect only the events up to then.
    block = (tiny.chain.genesis_block + tiny.head_block) // 2
    positions, _ = replay(tiny, block)
    served = tiny.entities("pnl", "UserPosition", block)
    assert 0 < len(served) < len(tiny.entities("pnl", "UserPosition"))
    for p in served:
        assert p["amount"] == str(positions[(p["user"], p["tokenId"])][0])


def test_burst_puts_many_fills_in_one_timestamp():
    fills = generate("tiny", burst=2500).entities("orderbook", "OrderFilledEvent")
    assert len(fills) == 2900
    assert max(Counter(e["timestamp"] for e in fills).values()) >= 2500


def test_every_block_with_trades_holds_several(tiny):
    per_block = Counter(
        e["transactionHash"] for e in tiny.entities("orderbook", "OrderFilledEvent")
    )
    by_ts = defaultdict(set)
    for e in tiny.entities("orderbook", "OrderFilledEvent"):
        by_ts[e["timestamp"]].add(e["transactionHash"])
    assert len(per_block) / len(by_ts) >= 2


def test_late_events_become_visible_later():
    dataset = generate("tiny", late_fraction=0.2, late_delay_blocks=100, end_time=1_777_334_400)
    table = dataset.table("orderbook", "OrderFilledEvent")
    late = [
        r
        for r in range(table.n_rows)
        if table.vis[r] > dataset.chain.block_at(table.columns["timestamp"][r])
    ]
    assert 40 <= len(late) <= 130
    r = late[0]
    block = table.vis[r]
    ids_before = {e["id"] for e in dataset.entities("orderbook", "OrderFilledEvent", block - 1)}
    ids_at = {e["id"] for e in dataset.entities("orderbook", "OrderFilledEvent", block)}
    assert table.columns["id"][r] in ids_at - ids_before

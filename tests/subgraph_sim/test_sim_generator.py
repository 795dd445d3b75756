"""The generator: deterministic, and coherent the way Polymarket's data is."""

from __future__ import annotations

import filecmp
from collections import Counter, defaultdict

import pytest

from subgraph_sim import positions as P
from subgraph_sim.generator import EXCHANGE, generate

pytestmark = pytest.mark.sim

ONE = 1_000_000


@pytest.fixture(scope="module")
def tiny():
    return generate("tiny")


def _trunc_div(a: int, b: int) -> int:
    q = abs(a) // abs(b)
    return q if (a >= 0) == (b >= 0) else -q


def _events(dataset, block):
    """The V1 events in the pnl subgraph's order: (timestamp, id)."""
    ents = lambda sg, t: dataset.entities(sg, t, block)  # noqa: E731
    events = []
    for e in ents("orderbook", "OrderFilledEvent"):
        events.append((int(e["timestamp"]), e["id"], "fill", e))
    for kind, type_name in (("split", "Split"), ("merge", "Merge"), ("redeem", "Redemption")):
        for e in ents("activity", type_name):
            events.append((int(e["timestamp"]), e["id"], kind, e))
    events.sort(key=lambda x: (x[0], x[1]))
    conditions = {c["id"]: c for c in ents("pnl", "Condition")}
    return events, conditions


def holdings(dataset, block=None):
    """Shares each (wallet, token) holds on the CTF, from the events alone: a BUY's fee is
    taken in shares. Returns (held, capped) where capped counts disposals of more shares
    than held."""
    events, conditions = _events(dataset, block)
    held: dict[tuple[str, str], int] = defaultdict(int)
    capped = 0

    def give(key, qty):
        nonlocal capped
        capped += qty > held[key]
        held[key] -= min(qty, held[key])

    for _, _, kind, e in events:
        if kind == "fill" and e["makerAssetId"] == "0":
            held[(e["maker"], e["takerAssetId"])] += int(e["takerAmountFilled"]) - int(e["fee"])
        elif kind == "fill":
            give((e["maker"], e["makerAssetId"]), int(e["makerAmountFilled"]))
        elif kind == "split":
            for token in conditions[e["condition"]]["positionIds"]:
                held[(e["stakeholder"], token)] += int(e["amount"])
        elif kind == "merge":
            for token in conditions[e["condition"]]["positionIds"]:
                give((e["stakeholder"], token), int(e["amount"]))
        else:
            for token in conditions[e["condition"]]["positionIds"]:
                held[(e["redeemer"], token)] = 0
    return held, capped


def pnl_subgraph_replay(dataset, block=None):
    """UserPosition rebuilt from the events alone with the rules of Polymarket's pnl subgraph
    (pnl-subgraph/src in Polymarket/polymarket-subgraph), written out independently of
    subgraph_sim.positions: fills at quote x 1e6 / base with the fee ignored, splits and
    merges at FIFTY_CENTS, redemptions selling everything tracked at the payout, sells capped
    at the tracked amount, BigInt division truncating toward zero."""
    events, conditions = _events(dataset, block)
    positions: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0, 0, 0])

    def buy(key, price, qty):
        pos = positions[key]
        pos[1] = _trunc_div(pos[1] * pos[0] + price * qty, pos[0] + qty)
        pos[0] += qty
        pos[3] += qty

    def sell(key, price, qty):
        pos = positions[key]
        qty = min(qty, pos[0])
        pos[2] += _trunc_div(qty * (price - pos[1]), ONE)
        pos[0] -= qty

    for _, _, kind, e in events:
        if kind == "fill" and e["makerAssetId"] == "0":
            usdc, shares = int(e["makerAmountFilled"]), int(e["takerAmountFilled"])
            buy((e["maker"], e["takerAssetId"]), _trunc_div(usdc * ONE, shares), shares)
        elif kind == "fill":
            shares, usdc = int(e["makerAmountFilled"]), int(e["takerAmountFilled"])
            sell((e["maker"], e["makerAssetId"]), _trunc_div(usdc * ONE, shares), shares)
        elif kind in ("split", "merge"):
            for token in conditions[e["condition"]]["positionIds"]:
                key = (e["stakeholder"], token)
                (buy if kind == "split" else sell)(key, ONE // 2, int(e["amount"]))
        else:
            c = conditions[e["condition"]]
            for token, n in zip(c["positionIds"], c["payoutNumerators"], strict=True):
                key = (e["redeemer"], token)
                price = _trunc_div(int(n) * ONE, int(c["payoutDenominator"]))
                sell(key, price, positions[key][0])
    return positions


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


def test_market_days_open_and_resolve_markets_through_a_long_history():
    """With `market_days`, a market lives that long on average whatever the world's length:
    markets open all through the history and most have resolved by its end (P3's worlds)."""
    from datetime import datetime

    days = 60
    world = generate("tiny", days=days, markets=200, fills=2_000, market_days=3)

    def epoch(iso: str) -> float:
        return datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp()

    markets = [(epoch(m["startDate"]), epoch(m["endDate"])) for m in world.gamma.markets]
    start = min(opened for opened, _ in markets)
    lifetimes = sorted((ends - opened) / 86400 for opened, ends in markets)
    assert 2 < sum(lifetimes) / len(lifetimes) < 4
    assert lifetimes[-1] < 3 / 0.625 * 1.1 + 1  # none lives a share of the world's span
    # the last fifth of the history opens about a fifth of the markets
    late = sum(1 for opened, _ in markets if opened > start + 0.8 * days * 86400)
    assert 0.1 * len(markets) < late < 0.3 * len(markets)
    end = max(int(f["timestamp"]) for f in world.entities("orderbook", "OrderFilledEvent"))
    assert sum(1 for _, ends in markets if ends <= end) > 0.9 * len(markets)


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
    _, capped = holdings(tiny)
    assert capped == 0


def test_oversell_option_produces_capped_sells():
    _, capped = holdings(generate("tiny", oversell_fraction=0.5))
    assert capped > 0


def test_redemptions_pay_the_winning_shares_held(tiny):
    conditions = {c["id"]: c for c in tiny.entities("pnl", "Condition")}
    redemptions = tiny.entities("activity", "Redemption")
    assert redemptions
    # Holdings just before each redemption: replay the events at the block before it.
    for r in redemptions[:10]:
        block = tiny.chain.block_at(int(r["timestamp"])) - 1
        held, _ = holdings(tiny, block)
        c = conditions[r["condition"]]
        expected = sum(
            held[(r["redeemer"], token)] * int(n) // int(c["payoutDenominator"])
            for token, n in zip(c["positionIds"], c["payoutNumerators"], strict=True)
        )
        assert int(r["payout"]) == expected
        assert r["indexSets"] == ["1", "2"]


def test_user_positions_equal_the_events_replayed(tiny):
    positions = pnl_subgraph_replay(tiny)
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
    positions = pnl_subgraph_replay(tiny, block)
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


def test_pnl_subgraph_arithmetic_by_hand():
    """Cases worked by hand from pnl-subgraph/src (updateUserPositionWithBuy/Sell,
    handleOrderFilled, the split/merge/redemption handlers), against subgraph_sim.positions."""
    pos = P.new_position()
    # BUY 100 shares for 37 USDC with a 1-share fee: the fee is never read, so all 100
    # shares count at 37e6 x 1e6 / 100e6 = 370000
    assert P.fill_price(37_000_000, 100_000_000) == 370_000
    P.buy(pos, P.fill_price(37_000_000, 100_000_000), 100_000_000)
    assert pos == [100_000_000, 370_000, 0, 100_000_000]
    # BUY 30 shares for 10 USDC: price 333333.33 truncates to 333333; the average
    # (370000 x 100e6 + 333333 x 30e6) / 130e6 = 361538.38 truncates to 361538
    P.buy(pos, P.fill_price(10_000_000, 30_000_000), 30_000_000)
    assert pos == [130_000_000, 361_538, 0, 130_000_000]
    # SELL 1.234567 shares for 0.25 USDC: price 202500.4 -> 202500; the realized delta
    # 1234567 x (202500 - 361538) / 1e6 = -196343.07 truncates toward zero: -196343, not
    # the floor -196344
    assert P.fill_price(250_000, 1_234_567) == 202_500
    assert P.sell(pos, 202_500, 1_234_567) == 1_234_567
    assert pos == [128_765_433, 361_538, -196_343, 130_000_000]
    # SPLIT 10: a buy at FIFTY_CENTS; (361538 x 128765433 + 500000 x 10e6) / 138765433
    # = 371516.13 -> 371516
    P.buy(pos, P.FIFTY_CENTS, 10_000_000)
    assert pos == [138_765_433, 371_516, -196_343, 140_000_000]
    # MERGE 200: capped at the 138.765433 tracked; 138765433 x (500000 - 371516) / 1e6
    # = 17829137.89 -> 17829137
    assert P.sell(pos, P.FIFTY_CENTS, 200_000_000) == 138_765_433
    assert pos == [0, 371_516, -196_343 + 17_829_137, 140_000_000]
    # a sell of nothing held changes nothing (the subgraph still saves the entity)
    assert P.sell(pos, 1, 5) == 0 and pos[2] == 17_632_794


def test_redemption_sells_everything_tracked_at_the_payout_by_hand():
    pos = [138_765_433, 371_516, 0, 140_000_000]
    # the losing outcome pays 0 / 1: 138765433 x (0 - 371516) / 1e6 = -51553578.61 -> -51553578
    assert P.payout_price(0, 1) == 0
    P.sell(pos, P.payout_price(0, 1), pos[P.AMOUNT])
    assert pos == [0, 371_516, -51_553_578, 140_000_000]
    # a payout of 1 / 3 sells at 333333
    assert P.payout_price(1, 3) == 333_333


@pytest.mark.parametrize("seed", [1, 2])
def test_user_positions_count_fee_shares_the_chain_never_paid(seed):
    """The pnl subgraph counts a BUY's fee shares as bought: where a BUY paid a fee, its
    totalBought exceeds the shares that reached the wallet by exactly the fees."""
    world = generate("tiny", seed=seed)
    fee_shares: dict[tuple[str, str], int] = defaultdict(int)
    received: dict[tuple[str, str], int] = defaultdict(int)
    for e in world.entities("orderbook", "OrderFilledEvent"):
        if e["makerAssetId"] == "0":
            key = (e["maker"], e["takerAssetId"])
            fee_shares[key] += int(e["fee"])
            received[key] += int(e["takerAmountFilled"]) - int(e["fee"])
    conditions = {c["id"]: c["positionIds"] for c in world.entities("pnl", "Condition")}
    for e in world.entities("activity", "Split"):
        for token in conditions[e["condition"]]:
            received[(e["stakeholder"], token)] += int(e["amount"])
    served = {(p["user"], p["tokenId"]): p for p in world.entities("pnl", "UserPosition")}
    assert sum(1 for f in fee_shares.values() if f) > 0
    for key, shares in received.items():
        assert int(served[key]["totalBought"]) == shares + fee_shares[key]
    replayed = pnl_subgraph_replay(world)
    for key, p in served.items():
        assert [int(p[f]) for f in ("amount", "avgPrice", "realizedPnl", "totalBought")] == (
            replayed[key]
        )

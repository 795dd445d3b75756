"""The reference on hand-written events whose results are worked out by hand."""

from __future__ import annotations

from decimal import Decimal

import pytest

from tests.reference.metrics import compute

pytestmark = pytest.mark.transform

TRADER, OTHER = (
    "0x00000000000000000000000000000000000000aa",
    "0x00000000000000000000000000000000000000bb",
)
YES, NO = "1" * 77, "2" * 77
DAY = 86_400
T0 = 1_700_000_000 - 1_700_000_000 % DAY


def fill(fid, ts, maker, side, token, usdc, shares, fee=0):
    usdc_raw, shares_raw, fee_raw = (str(int(Decimal(x) * 1_000_000)) for x in (usdc, shares, fee))
    buy = side == "BUY"
    return {
        "id": fid,
        "timestamp": str(ts),
        "maker": maker,
        "taker": OTHER,
        "makerAssetId": "0" if buy else token,
        "takerAssetId": token if buy else "0",
        "makerAmountFilled": usdc_raw if buy else shares_raw,
        "takerAmountFilled": shares_raw if buy else usdc_raw,
        "fee": fee_raw,
    }


def entities(fills, resolved=False, splits=(), merges=(), redemptions=()):
    return {
        "order_filled_events": list(fills),
        "market_data": [],
        "conditions": [
            {
                "id": "0xc1",
                "positionIds": [YES, NO],
                "payoutNumerators": ["1", "0"] if resolved else [],
                "payoutDenominator": "1" if resolved else "0",
            }
        ],
        "splits": list(splits),
        "merges": list(merges),
        "redemptions": list(redemptions),
    }


def test_buy_partial_sell_and_capped_sell():
    ref = compute(
        entities(
            [
                fill("a", T0, TRADER, "BUY", YES, "50", "101", fee="1"),  # 100 shares at 0.50
                fill("b", T0 + 10, TRADER, "SELL", YES, "24", "40", fee="0.4"),  # net 0.59
                fill("c", T0 + 20, TRADER, "SELL", YES, "60", "100"),  # capped at 60 held
                fill("d", T0 + 30, OTHER, "BUY", YES, "7", "10"),  # sets the mark: 0.70
            ]
        )
    )
    position = ref.trader_markets[(TRADER, YES)]
    assert position["avg_price"] == Decimal("0.5")
    assert position["sold_shares"] == Decimal(100)
    assert position["shares"] == 0
    assert position["realized_pnl"] == Decimal("3.6") + Decimal("6")
    assert position["status"] == "closed"
    assert position["market_outcome"] == "win"
    trader = ref.traders_v2[TRADER]
    assert trader["trades"] == 3 and trader["volume"] == Decimal(134)
    assert trader["wins"] == 1 and trader["win_rate"] == 100


def test_split_merge_redemption_and_windows():
    split = {
        "id": "s",
        "timestamp": str(T0),
        "stakeholder": TRADER,
        "condition": "0xc1",
        "amount": "10000000",
    }
    merge = {
        "id": "m",
        "timestamp": str(T0 + 5),
        "stakeholder": TRADER,
        "condition": "0xc1",
        "amount": "4000000",
    }
    redemption = {
        "id": "r",
        "timestamp": str(T0 + 2 * DAY),
        "redeemer": TRADER,
        "condition": "0xc1",
        "indexSets": ["1", "2"],
        "payout": "6000000",
    }
    ref = compute(
        entities(
            [fill("f", T0 + 10, OTHER, "BUY", YES, "0.8", "1")],
            resolved=True,
            splits=[split],
            merges=[merge],
            redemptions=[redemption],
        ),
        min_trades=0,
        min_volume=0,
    )
    yes, no = ref.trader_markets[(TRADER, YES)], ref.trader_markets[(TRADER, NO)]
    # split: 10 of each at 0.50; merge: 4 of each back at 0.50; redemption: 6 YES at 1, 6 NO at 0
    assert yes["realized_pnl"] == Decimal(3) and no["realized_pnl"] == Decimal(-3)
    assert yes["status"] == no["status"] == "redeemed"
    assert ref.traders_v2[TRADER]["total_pnl"] == 0
    assert ref.traders_v2[TRADER]["wins"] == 0 and ref.traders_v2[TRADER]["losses"] == 0
    assert yes["market_outcome"] == "flat"
    # resolved_at is the redemption (the watermark): a day earlier 6 YES were marked at the
    # last fill, 0.80, and 6 NO (never traded) at their own cost: equity 6 x 0.30 = 1.8
    assert ref.as_of == T0 + 2 * DAY
    assert ref.traders_v2[TRADER]["pnl_1d"] == Decimal("-1.8")
    first_day = min(day for wallet, day in ref.trader_stats if wallet == TRADER)
    stats = ref.trader_stats[(TRADER, first_day)]
    assert stats["cash_flow"] == Decimal(-6)
    assert stats["cumulative_pnl"] == Decimal("1.8")

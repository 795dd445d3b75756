"""The leaderboard and the trader answer for one category: computed from the positions in
that category's markets (marts.trader_categories), cached apart from the all-markets answers,
and the category checked against the known ones."""

from __future__ import annotations

from decimal import Decimal

import pytest

from api.models import Category

WINDOWS = {
    "1d": ("pnl_1d", "volume_1d", "trades_1d"),
    "7d": ("pnl_7d", "volume_7d", "trades_7d"),
    "30d": ("pnl_30d", "volume_30d", "trades_30d"),
    "all": ("total_pnl", "volume", "trades"),
}


def _busiest_category(served) -> str:
    (row,) = served.query(
        "select category, count(*) as traders from marts.trader_categories "
        "group by category order by traders desc, category limit 1"
    )
    return row["category"]


@pytest.mark.parametrize("window", list(WINDOWS))
def test_category_leaderboard_ranks_the_category_rows(served, window):
    category = _busiest_category(served)
    pnl, volume, trades = WINDOWS[window]
    rows = served.query(
        f"select wallet_address, {pnl} as pnl, {volume} as volume, {trades} as trades "
        f"from marts.trader_categories where category = '{category}'"
    )
    eligible = [r for r in rows if r["trades"] >= 1]
    assert eligible, f"no trader of {category} traded in {window}"
    response = served.get(
        "/api/v1/traders/leaderboard",
        timeframe=window,
        category=category,
        min_trades=1,
        min_volume=0,
        limit=100,
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["category"] == category and body["timeframe"] == window
    assert body["total"] == len(eligible)
    values = {r["wallet_address"]: Decimal(str(r["pnl"])) for r in eligible}
    expected = sorted(values, key=lambda w: (-values[w], w))
    assert [t["wallet_address"] for t in body["traders"]] == expected
    for entry in body["traders"]:
        value = values[entry["wallet_address"]]
        assert Decimal(str(entry["total_pnl"])) == value
        assert entry["rank"] == 1 + sum(1 for v in values.values() if v > value)


def test_category_board_is_cached_apart_from_the_all_markets_board(served):
    category = _busiest_category(served)
    query = {"timeframe": "all", "min_trades": 1, "min_volume": 0}
    everyone = served.get("/api/v1/traders/leaderboard", **query)
    assert everyone.status_code == 200
    one = served.get("/api/v1/traders/leaderboard", **query, category=category)
    assert one.status_code == 200
    (count,) = served.query(
        "select count(*) as n from marts.trader_categories "
        f"where category = '{category}' and trades >= 1 and volume >= 0"
    )
    assert everyone.json()["category"] is None
    assert one.json()["category"] == category
    assert one.json()["total"] == count["n"] < everyone.json()["total"]


def test_trader_metrics_for_a_category(served):
    category = _busiest_category(served)
    (row,) = served.query(
        "select * from marts.trader_categories "
        f"where category = '{category}' order by trades desc, wallet_address limit 1"
    )
    wallet = row["wallet_address"]
    overall = served.get(f"/api/v1/traders/{wallet}").json()
    response = served.get(f"/api/v1/traders/{wallet}", category=category)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["category"] == category and overall["category"] is None
    for window, (pnl, volume, trades) in WINDOWS.items():
        metrics = body["metrics"]
        assert Decimal(str(metrics[f"pnl_{window}"])) == Decimal(str(row[pnl]))
        assert Decimal(str(metrics[f"volume_{window}"])) == Decimal(str(row[volume]))
        assert metrics[f"trades_{window}"] == row[trades]
    assert body["trader"] == overall["trader"], "the lifetime totals stay all-markets"


def test_trader_without_positions_in_a_category_has_zero_metrics(served):
    (row,) = served.query(
        "select wallet_address from marts.traders_v2 as t where not exists ("
        " select 1 from marts.trader_categories as c"
        " where c.wallet_address = t.wallet_address and c.category = 'mentions')"
        " order by trades desc limit 1"
    )
    response = served.get(f"/api/v1/traders/{row['wallet_address']}", category="mentions")
    assert response.status_code == 200, response.text
    metrics = response.json()["metrics"]
    # No closed market there, so no win rate (null, DESIGN section 2); every count and sum is 0.
    rates = {name for name in metrics if name.startswith("win_rate_")}
    assert rates == {f"win_rate_{window}" for window in WINDOWS}
    assert all(metrics[name] is None for name in rates), metrics
    assert all(value == 0 for name, value in metrics.items() if name not in rates), metrics


@pytest.mark.parametrize("route", ["/api/v1/traders/leaderboard", "/api/v1/traders/{wallet}"])
def test_unknown_category_is_a_422_listing_the_categories(served, route):
    (row,) = served.query("select wallet_address from marts.traders_v2 limit 1")
    response = served.get(route.format(wallet=row["wallet_address"]), category="Politics")
    assert response.status_code == 422
    (error,) = response.json()["detail"]
    assert error["loc"] == ["query", "category"]
    for category in Category:
        assert f"'{category.value}'" in error["msg"]


def test_the_api_knows_the_categories_the_marts_assign():
    """The 422's list is the dbt macro's list (and the reference's), in the same order."""
    import re
    from pathlib import Path

    from tests.reference.market_metadata import CATEGORY_OF_SLUG

    macro = Path(__file__).parents[2] / "dbt_project" / "macros" / "categories.sql"
    assigned = re.findall(r"\('([a-z]+)', '[a-z-]+'\)", macro.read_text())
    assert assigned == [c.value for c in Category] == list(CATEGORY_OF_SLUG.values())

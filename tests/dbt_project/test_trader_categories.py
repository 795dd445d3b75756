"""The category leaderboard: `trader_categories` and the API's ranking query over it, against
the Python reference computed from the same events and Gamma metadata, on both engines."""

from __future__ import annotations

from collections import Counter
from decimal import Decimal

import pytest

from api import queries
from tests.dbt_project.test_marts import _compare, _same
from tests.reference.metrics import round6

pytestmark = [pytest.mark.transform, pytest.mark.slow]

WINDOWS = ("1d", "7d", "30d", "all")
# Low enough that every window of a tiny world has traders to rank, high enough to exclude some.
MIN_TRADES, MIN_VOLUME = 1, Decimal(1)


def _two_categories(reference) -> list[str]:
    """The two categories with the most traders active in the shortest window: every window
    of theirs has traders to rank."""
    counts = Counter(
        category
        for (_, category), row in reference.trader_categories.items()
        if row["trades_1d"] >= MIN_TRADES
    )
    assert len(counts) >= 2, f"the world needs two categories with traders: {counts}"
    return [category for category, _ in counts.most_common(2)]


def test_trader_categories_match_reference(built_crossing, crossing_reference):
    rows = built_crossing.query("select * from marts.trader_categories")
    assert rows, "trader_categories is empty"
    problems = _compare(
        "trader_categories",
        rows,
        crossing_reference.trader_categories,
        crossing_reference.as_of,
        key_columns=("wallet_address", "category"),
    )
    assert not problems, f"{len(problems)} differences:\n" + "\n".join(problems[:40])


def _reference_board(reference, category: str, window: str) -> list[tuple[str, int, Decimal]]:
    """(wallet, pnl rank, pnl) of the eligible traders of a category, ranked like SQL rank()."""
    suffix = "" if window == "all" else f"_{window}"
    eligible = []
    for (wallet, row_category), row in reference.trader_categories.items():
        if row_category != category:
            continue
        pnl = row["total_pnl" if window == "all" else f"pnl{suffix}"]
        volume, trades = row[f"volume{suffix}"], row[f"trades{suffix}"]
        if trades >= MIN_TRADES and volume >= MIN_VOLUME:
            eligible.append((wallet, round6(pnl)))
    return sorted(
        (wallet, 1 + sum(1 for _, other in eligible if other > pnl), pnl)
        for wallet, pnl in eligible
    )


def _literal_params(**params) -> dict[str, str]:
    return {k: f"'{v}'" if isinstance(v, str) else str(v) for k, v in params.items()}


@pytest.mark.parametrize("window", WINDOWS)
def test_category_leaderboard_ranks_match_reference(built_crossing, crossing_reference, window):
    """The API's ranking query over trader_categories (every row of the board in one page)
    ranks the traders of a category as the reference does, for two categories."""
    for category in _two_categories(crossing_reference):
        expected = _reference_board(crossing_reference, category, window)
        assert expected, f"no eligible trader in {category} over {window}"
        sql = queries.leaderboard(window, "pnl", "desc", by_category=True) % _literal_params(
            min_trades=MIN_TRADES,
            min_volume=str(MIN_VOLUME),
            limit=1000,
            offset=0,
            category=category,
        )
        # min_volume is compared as a number: unquote it
        sql = sql.replace(f"'{MIN_VOLUME}'", str(MIN_VOLUME))
        rows = built_crossing.query(sql)
        queries.rank_page(rows, "pnl")
        actual = sorted((r["wallet_address"], r["rank"], r["total_pnl"]) for r in rows)
        assert [(w, rank) for w, rank, _ in actual] == [(w, rank) for w, rank, _ in expected], (
            f"{category} {window}"
        )
        for (wallet, _, pnl), (_, _, ref) in zip(actual, expected, strict=True):
            assert _same(pnl, ref), f"{category} {window} {wallet}: {pnl} != {ref}"
        assert all(int(r["total_count"]) == len(expected) for r in rows)

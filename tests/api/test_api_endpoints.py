"""Every endpoint answers what the marts hold, on DuckDB (published snapshot) and PostgreSQL."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from api.queries import WIN_COLUMNS, WINDOW_COLUMNS

TOL = 1e-6


def close(a, b) -> bool:
    if a is None or b is None:
        return a is b
    return abs(float(a) - float(b)) <= TOL * max(1.0, abs(float(b)))


def when(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value.replace("Z", "+00:00")) if value else None


def expected_leaderboard(
    rows, timeframe, sort_by="pnl", order="desc", min_trades=10, min_volume=100
):
    pnl, volume, trades = WINDOW_COLUMNS[timeframe]
    win_rate = WIN_COLUMNS[timeframe][0]
    key = {"pnl": pnl, "volume": volume, "trades": trades, "win_rate": win_rate}[sort_by]
    eligible = [r for r in rows if r[trades] >= min_trades and r[volume] >= min_volume]
    with_value = [r for r in eligible if r[key] is not None]
    without = [r for r in eligible if r[key] is None]
    sign = -1 if order == "desc" else 1
    ranked = []
    for r in with_value:
        better = sum(1 for o in with_value if sign * o[key] < sign * r[key])
        ranked.append((better + 1, r["wallet_address"], r))
    ranked.sort(key=lambda t: (t[0], t[1]))
    tail_rank = len(with_value) + 1
    ranked += sorted(((tail_rank, r["wallet_address"], r) for r in without), key=lambda t: t[1])
    return [(rank, wallet) for rank, wallet, _ in ranked]


@pytest.fixture(scope="module")
def traders(served):
    rows = served.query("select * from marts.traders_v2")
    assert len(rows) > 5, "the tiny dataset should have traders"
    return rows


@pytest.mark.parametrize("timeframe", ["1d", "7d", "30d", "all"])
def test_leaderboard_default_matches_the_leaderboard_mart(served, traders, timeframe):
    body = served.get("/api/v1/traders/leaderboard", timeframe=timeframe, limit=100).json()
    mart = served.query(
        "select wallet_address, pnl, volume, trades, pnl_rank from marts.leaderboard "
        "where time_window = %s order by pnl_rank, wallet_address",
        [timeframe],
    )
    got = [(t["rank"], t["wallet_address"]) for t in body["traders"]]
    assert got == [(r["pnl_rank"], r["wallet_address"]) for r in mart]
    assert got == expected_leaderboard(traders, timeframe)
    assert body["total"] == len(mart)
    by_wallet = {r["wallet_address"]: r for r in mart}
    for entry in body["traders"]:
        row = by_wallet[entry["wallet_address"]]
        assert close(entry["total_pnl"], row["pnl"])
        assert close(entry["volume"], row["volume"])
        assert entry["total_trades"] == row["trades"]
    assert body["as_of"] is not None
    assert body["timeframe"] == timeframe and body["min_trades"] == 10


def test_leaderboard_by_volume_matches_the_mart(served):
    body = served.get("/api/v1/traders/leaderboard", sort_by="volume", limit=100).json()
    mart = served.query(
        "select wallet_address, volume_rank from marts.leaderboard where time_window = '7d' "
        "order by volume_rank, wallet_address"
    )
    assert [(t["rank"], t["wallet_address"]) for t in body["traders"]] == [
        (r["volume_rank"], r["wallet_address"]) for r in mart
    ]


@pytest.mark.parametrize(
    "sort_by,order", [("win_rate", "desc"), ("trades", "asc"), ("pnl", "asc"), ("volume", "desc")]
)
def test_leaderboard_sorts_and_thresholds(served, traders, sort_by, order):
    params = dict(timeframe="30d", sort_by=sort_by, order=order, min_trades=1, min_volume=0)
    body = served.get("/api/v1/traders/leaderboard", limit=100, **params).json()
    expected = expected_leaderboard(traders, "30d", sort_by, order, 1, 0)
    assert [(t["rank"], t["wallet_address"]) for t in body["traders"]] == expected
    assert body["total"] == len(expected) > 10


@pytest.mark.parametrize("timeframe", ["1d", "7d"])
def test_leaderboard_win_rate_is_the_windows(served, traders, timeframe):
    """Sorted by win_rate, a window ranks by the trader-markets closed in it, and every entry
    carries that window's wins, losses and win rate, not the lifetime ones."""
    # (the tiny world closes its markets in its last day: tests/dbt_project ranks a world
    # whose windows' rates differ from the lifetime ones)
    win_rate, wins, losses = WIN_COLUMNS[timeframe]
    params = dict(timeframe=timeframe, sort_by="win_rate", min_trades=1, min_volume=0)
    body = served.get("/api/v1/traders/leaderboard", limit=100, **params).json()
    expected = expected_leaderboard(traders, timeframe, "win_rate", "desc", 1, 0)
    assert [(t["rank"], t["wallet_address"]) for t in body["traders"]] == expected
    by_wallet = {r["wallet_address"]: r for r in traders}
    for entry in body["traders"]:
        row = by_wallet[entry["wallet_address"]]
        assert close(entry["win_rate"], row[win_rate])
        assert (entry["wins"], entry["losses"]) == (row[wins], row[losses])


def test_leaderboard_mart_carries_the_windows_win_rate(served, traders):
    """The default (mart-served) leaderboard entries carry the window's win rate too."""
    by_wallet = {r["wallet_address"]: r for r in traders}
    for timeframe, (win_rate, wins, losses) in WIN_COLUMNS.items():
        body = served.get("/api/v1/traders/leaderboard", timeframe=timeframe, limit=100).json()
        for entry in body["traders"]:
            row = by_wallet[entry["wallet_address"]]
            assert close(entry["win_rate"], row[win_rate]), (timeframe, entry)
            assert (entry["wins"], entry["losses"]) == (row[wins], row[losses])


def test_leaderboard_pages(served):
    full = served.get(
        "/api/v1/traders/leaderboard", timeframe="all", min_trades=0, min_volume=0, limit=100
    ).json()
    total = full["total"]
    pages = []
    page = 1
    while True:
        body = served.get(
            "/api/v1/traders/leaderboard",
            timeframe="all",
            min_trades=0,
            min_volume=0,
            limit=7,
            page=page,
        ).json()
        assert body["total"] == total and body["total_pages"] == -(-total // 7)
        if not body["traders"]:
            break
        pages += body["traders"]
        page += 1
    assert pages == full["traders"]
    assert page - 1 == -(-total // 7)


@pytest.mark.parametrize("sort_by,order", [("trades", "asc"), ("win_rate", "desc")])
def test_leaderboard_ranks_ties_across_page_boundaries(served, traders, sort_by, order):
    """A page is ranked on its own (top-N read and counts): ties that start on an earlier
    page keep their shared rank, nulls share the rank after every value."""
    expected = expected_leaderboard(traders, "all", sort_by, order, 0, 0)
    limit = 3
    # The check means something only if some tie straddles a page boundary.
    assert any(expected[i][0] == expected[i - 1][0] for i in range(limit, len(expected), limit))
    got = []
    for page in range(1, -(-len(expected) // limit) + 1):
        body = served.get(
            "/api/v1/traders/leaderboard",
            timeframe="all",
            sort_by=sort_by,
            order=order,
            min_trades=0,
            min_volume=0,
            limit=limit,
            page=page,
        ).json()
        assert body["total"] == len(expected)
        got += [(t["rank"], t["wallet_address"]) for t in body["traders"]]
    assert got == expected


def test_trader_detail(served, traders):
    row = max(traders, key=lambda r: r["trades"])
    wallet = row["wallet_address"]
    response = served.get(f"/api/v1/traders/{wallet.upper().replace('0X', '0x')}")
    assert response.status_code == 200
    body = response.json()
    trader, metrics = body["trader"], body["metrics"]
    assert trader["wallet_address"] == wallet
    assert trader["total_trades"] == row["trades"]
    for field, column in [
        ("total_volume", "volume"),
        ("realized_pnl", "realized_pnl"),
        ("unrealized_pnl", "unrealized_pnl"),
        ("total_pnl", "total_pnl"),
        ("win_rate", "win_rate"),
    ]:
        assert close(trader[field], row[column]), field
    assert (trader["wins"], trader["losses"]) == (row["wins"], row["losses"])
    assert trader["markets_traded"] == row["markets_traded"]
    assert when(trader["last_trade_at"]) == row["last_trade_at"]
    for window in ("1d", "7d", "30d"):
        assert close(metrics[f"pnl_{window}"], row[f"pnl_{window}"])
        assert close(metrics[f"volume_{window}"], row[f"volume_{window}"])
        assert metrics[f"trades_{window}"] == row[f"trades_{window}"]
    assert close(metrics["pnl_all"], row["total_pnl"]) and metrics["trades_all"] == row["trades"]
    for window, (win_rate, wins, losses) in WIN_COLUMNS.items():
        assert close(metrics[f"win_rate_{window}"], row[win_rate]), window
        assert (metrics[f"wins_{window}"], metrics[f"losses_{window}"]) == (row[wins], row[losses])
    risk = body["risk"]
    for column in ("profit_factor", "avg_win", "avg_loss", "max_drawdown"):
        assert close(risk[column], row[column]), column
    for which in ("best_market", "worst_market"):
        assert risk[which]["market_id"] == row[which]
        assert close(risk[which]["total_pnl"], row[f"{which}_pnl"])
    assert risk["profit_factor"] is not None and risk["max_drawdown"] is not None

    ranks = served.query(
        "select time_window, pnl_rank, volume_rank from marts.leaderboard "
        "where wallet_address = %s",
        [wallet],
    )
    assert {(r["timeframe"], r["pnl_rank"], r["volume_rank"]) for r in body["ranks"]} == {
        (r["time_window"], r["pnl_rank"], r["volume_rank"]) for r in ranks
    }

    positions = served.query(
        "select token_id, total_pnl, last_activity_at from marts.trader_markets "
        "where wallet_address = %s order by last_activity_at desc, token_id",
        [wallet],
    )
    assert [p["token_id"] for p in body["recent_positions"]] == [
        p["token_id"] for p in positions[:10]
    ]
    days = served.query(
        "select day, cumulative_pnl from marts.trader_stats where wallet_address = %s "
        "order by day desc limit 30",
        [wallet],
    )[::-1]
    assert [date.fromisoformat(d["day"]) for d in body["chart_data"]] == [d["day"] for d in days]
    for got, want in zip(body["chart_data"], days, strict=True):
        assert close(got["cumulative_pnl"], want["cumulative_pnl"])
    assert body["as_of"] is not None


def test_trader_statistics_with_dates(served, traders):
    wallet = max(traders, key=lambda r: r["trades"])["wallet_address"]
    days = served.query(
        "select * from marts.trader_stats where wallet_address = %s order by day", [wallet]
    )
    assert len(days) >= 2
    body = served.get(f"/api/v1/traders/{wallet}/statistics").json()
    assert [d["day"] for d in body["series"]] == [d["day"].isoformat() for d in days]
    for got, want in zip(body["series"], days, strict=True):
        for field in ("volume", "realized_pnl", "pnl", "cumulative_pnl", "end_of_day_equity"):
            assert close(got[field], want[field]), field
        assert got["trades"] == want["trades"]

    start, end = days[1]["day"], days[-1]["day"]
    body = served.get(
        f"/api/v1/traders/{wallet}/statistics", **{"from": start.isoformat(), "to": end.isoformat()}
    ).json()
    assert [d["day"] for d in body["series"]] == [d["day"].isoformat() for d in days[1:]]
    assert body["date_from"] == start.isoformat()


def test_trader_positions_filters_and_pages(served, traders):
    wallet = max(traders, key=lambda r: r["trades"])["wallet_address"]
    rows = served.query(
        "select token_id, status, market_outcome, shares, total_pnl, trades, v2_trades "
        "from marts.trader_markets where wallet_address = %s "
        "order by last_activity_at desc, token_id",
        [wallet],
    )
    body = served.get(f"/api/v1/traders/{wallet}/positions", limit=100).json()
    assert [p["token_id"] for p in body["positions"]] == [r["token_id"] for r in rows]
    assert body["total"] == len(rows)
    for got, want in zip(body["positions"], rows, strict=True):
        assert close(got["shares"], want["shares"]) and close(got["total_pnl"], want["total_pnl"])
        # the tiny world is V1 only: a position with fills is of the V1 era
        assert got["v2_trades"] == want["v2_trades"] == 0
        assert got["era"] == ("v1" if want["trades"] else None)

    for status in {r["status"] for r in rows}:
        body = served.get(f"/api/v1/traders/{wallet}/positions", status=status).json()
        assert [p["token_id"] for p in body["positions"]] == [
            r["token_id"] for r in rows if r["status"] == status
        ]
    outcome = rows[0]["market_outcome"]
    body = served.get(f"/api/v1/traders/{wallet}/positions", outcome=outcome).json()
    assert {p["market_outcome"] for p in body["positions"]} == {outcome}

    paged = []
    for page in (1, 2, 3, 4, 5, 6):
        body = served.get(f"/api/v1/traders/{wallet}/positions", limit=3, page=page).json()
        paged += [p["token_id"] for p in body["positions"]]
        assert body["total"] == len(rows)
    assert paged == [r["token_id"] for r in rows][: len(paged)]


@pytest.mark.parametrize(
    ("sort", "order"),
    [("total_pnl", "asc"), ("total_pnl", "desc"), ("shares", "desc"), ("market", "asc")],
)
def test_trader_positions_sort_across_pages(served, traders, sort, order):
    wallet = max(traders, key=lambda r: r["trades"])["wallet_address"]
    rows = served.query(
        "select token_id, condition_id, question, shares, total_pnl "
        "from marts.trader_markets where wallet_address = %s",
        [wallet],
    )
    value = {
        "total_pnl": lambda r: r["total_pnl"],
        "shares": lambda r: r["shares"],
        "market": lambda r: r["question"] or r["condition_id"] or r["token_id"],
    }[sort]
    # The column in the asked order, nulls last, ties by token id.
    present = [r for r in rows if value(r) is not None]
    present.sort(key=lambda r: r["token_id"])
    present.sort(key=value, reverse=order == "desc")
    expected = [r["token_id"] for r in present] + sorted(
        r["token_id"] for r in rows if value(r) is None
    )
    paged = []
    for page in range(1, len(rows) // 4 + 2):
        body = served.get(
            f"/api/v1/traders/{wallet}/positions", sort=sort, order=order, limit=4, page=page
        ).json()
        paged += [p["token_id"] for p in body["positions"]]
    assert paged == expected
    assert len(set(paged)) == len(rows) > 4


def test_an_unknown_position_sort_is_refused(served, traders):
    wallet = traders[0]["wallet_address"]
    response = served.get(f"/api/v1/traders/{wallet}/positions", sort="profit")
    assert response.status_code == 422
    assert "sort" in response.text


def test_search_by_prefix(served, traders):
    wallet = traders[0]["wallet_address"]
    prefix = wallet[:4]
    expected = sorted(
        (r for r in traders if r["wallet_address"].startswith(prefix)),
        key=lambda r: (-r["trades"], -r["volume"], r["wallet_address"]),
    )
    for q in (prefix, prefix.upper().replace("0X", "0x"), prefix[2:]):
        body = served.get("/api/v1/traders/search", q=q).json()
        assert body["query"] == prefix
        assert [r["wallet_address"] for r in body["results"]] == [
            r["wallet_address"] for r in expected[:10]
        ]
    body = served.get("/api/v1/traders/search", q="0x", limit=3)
    assert body.status_code == 422
    assert len(served.get("/api/v1/traders/search", q="0", limit=3).json()["results"]) <= 3


BAD_WALLETS = [
    "0x123",
    "0xZZ86bbc4cd613e30d8f16adf91b7584a2265b1f5",
    "c386bbc4cd613e30d8f16adf91b7",
]


@pytest.mark.parametrize("suffix", ["", "/statistics", "/positions"])
def test_wallet_validation_and_unknown_wallet(served, suffix):
    for bad in BAD_WALLETS:
        response = served.get(f"/api/v1/traders/{bad}{suffix}")
        assert response.status_code == 422
        message = response.json()["detail"][0]["msg"]
        assert "'0x' followed by 40 hexadecimal digits" in message
    unknown = "0x" + "ab" * 20
    response = served.get(f"/api/v1/traders/{unknown}{suffix}")
    assert response.status_code == 404
    assert unknown in response.json()["detail"]


@pytest.mark.parametrize(
    "params,allowed",
    [
        ({"timeframe": "2d"}, "'1d', '7d', '30d' or 'all'"),
        ({"sort_by": "luck"}, "'pnl', 'volume', 'win_rate' or 'trades'"),
        ({"order": "up"}, "'desc' or 'asc'"),
        ({"limit": 0}, "greater than or equal to 1"),
        ({"limit": 101}, "less than or equal to 100"),
        ({"page": 0}, "greater than or equal to 1"),
        ({"min_trades": -1}, "greater than or equal to 0"),
        ({"min_volume": "nan"}, ""),
    ],
)
def test_leaderboard_validation(served, params, allowed):
    response = served.get("/api/v1/traders/leaderboard", **params)
    assert response.status_code == 422
    detail = response.json()["detail"]
    assert detail[0]["loc"] == ["query", next(iter(params))]
    assert allowed in detail[0]["msg"]


def test_other_validation(served, traders):
    wallet = traders[0]["wallet_address"]
    response = served.get(
        f"/api/v1/traders/{wallet}/statistics", **{"from": "2026-04-27", "to": "2026-04-01"}
    )
    assert response.status_code == 422
    assert "on or before" in response.json()["detail"][0]["msg"]
    response = served.get(f"/api/v1/traders/{wallet}/positions", status="sold")
    assert response.status_code == 422
    assert "'open'" in response.json()["detail"][0]["msg"]


def test_health_ready_metrics_docs(served):
    assert served.get("/health").json() == {"status": "ok"}
    ready = served.get("/ready")
    assert ready.status_code == 200
    body = ready.json()
    assert body["status"] == "ready" and body["warehouse"] == served.kind
    assert body["version"] and body["as_of"]
    assert body["cache"] == "memory" and body["cache_status"] == "ok"
    served.get("/api/v1/traders/leaderboard")
    metrics = served.get("/metrics")
    assert metrics.status_code == 200
    assert "polyboard_cache_requests_total" in metrics.text
    assert 'route="/api/v1/traders/leaderboard"' in metrics.text
    assert served.get("/docs").status_code == 200
    assert served.get("/redoc").status_code == 200
    schema = served.get("/openapi.json").json()
    leaderboard = schema["paths"]["/api/v1/traders/leaderboard"]["get"]
    assert leaderboard["description"] and all(
        p.get("description") for p in leaderboard["parameters"]
    )
    assert "LeaderboardPublic" in schema["components"]["schemas"]


def test_large_responses_are_gzipped(served):
    response = served.client.get(
        "/api/v1/traders/leaderboard",
        params={"limit": 100, "min_trades": 0, "min_volume": 0},
        headers={"Accept-Encoding": "gzip"},
    )
    assert response.headers.get("content-encoding") == "gzip"
    assert response.json()["traders"]


def test_reconciliation_serves_the_agreement_figure(served):
    rows = served.query("select agrees, difference_class from marts.position_reconciliation")
    assert rows, "the tiny dataset's followed wallets should have positions"
    response = served.get("/api/v1/reconciliation")
    assert response.status_code == 200
    body = response.json()
    agreeing = sum(1 for r in rows if r["agrees"])
    assert body["positions"] == len(rows) and body["agreeing"] == agreeing
    assert close(body["agreement_pct"], 100 * agreeing / len(rows))
    for name in ("rounding", "fees", "missing_events", "other"):
        assert body[name] == sum(1 for r in rows if r["difference_class"] == name)
    assert body["identical"] == sum(1 for r in rows if r["difference_class"] is None)
    assert body["other"] == 0 and body["as_of"]
    schema = served.get("/openapi.json").json()
    assert "ReconciliationPublic" in schema["components"]["schemas"]

"""The web pages over HTTP: what they answer, and that they read the API's own cache.

The browser-side behaviour (rows, clicks, charts, requests) is in test_web_browser.py.
"""

from __future__ import annotations

import re

import httpx
import pytest
from apitest_support import metric

pytestmark = pytest.mark.web

UNKNOWN_WALLET = "0x" + "0" * 39 + "1"


@pytest.fixture(scope="module")
def client(web_server):
    with httpx.Client(base_url=web_server.url, timeout=30) as http:
        yield http


def _wallets(html: str) -> list[str]:
    return re.findall(r'<tr data-wallet="(0x[0-9a-f]{40})">', html)


def test_leaderboard_page_lists_the_api_rows(client):
    api = client.get("/api/v1/traders/leaderboard", params={"timeframe": "all"}).json()
    page = client.get("/", params={"timeframe": "all"})
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert api["traders"], "the tiny marts rank somebody over all time"
    assert _wallets(page.text) == [t["wallet_address"] for t in api["traders"]]


def test_leaderboard_page_of_a_category_lists_the_api_rows(client):
    thresholds = {"timeframe": "all", "min_trades": "1", "min_volume": "0"}
    params = {**thresholds, "category": "politics"}
    api = client.get("/api/v1/traders/leaderboard", params=params).json()
    everyone = client.get("/api/v1/traders/leaderboard", params=thresholds)
    page = client.get("/", params=params)
    assert page.status_code == 200
    assert api["traders"], "the tiny marts rank somebody in politics"
    assert _wallets(page.text) == [t["wallet_address"] for t in api["traders"]]
    assert api["total"] < everyone.json()["total"]
    assert '<option value="politics" selected>' in page.text
    assert "in Politics markets" in page.text


def test_a_page_and_the_api_share_one_cache_entry(client):
    """The page computes the body once; the API's identical request then computes nothing."""
    params = {"timeframe": "30d", "min_trades": "3", "limit": "7"}

    def misses() -> float:
        text = client.get("/metrics").text
        return metric(text, "polyboard_cache_requests_total", kind="leaderboard", result="miss")

    before = misses()
    assert client.get("/", params=params).status_code == 200
    assert misses() == before + 1
    assert client.get("/api/v1/traders/leaderboard", params=params).status_code == 200
    assert misses() == before + 1


def test_a_bad_link_gets_a_page_that_says_what_is_wrong(client):
    page = client.get("/", params={"timeframe": "2d", "limit": "500"})
    assert page.status_code == 422
    assert "text/html" in page.headers["content-type"]
    assert "timeframe" in page.text and "limit" in page.text


def test_an_empty_form_field_means_its_default(client):
    page = client.get("/?timeframe=30d&min_trades=&min_volume=", follow_redirects=False)
    assert page.status_code == 303
    assert page.headers["location"] == "/?timeframe=30d"


def test_all_markets_in_the_category_form_is_the_default_board(client):
    page = client.get("/?timeframe=30d&category=", follow_redirects=False)
    assert page.status_code == 303
    assert page.headers["location"] == "/?timeframe=30d"


def test_an_unknown_wallet_gets_its_own_page(client):
    page = client.get(f"/traders/{UNKNOWN_WALLET}")
    assert page.status_code == 404
    assert UNKNOWN_WALLET in page.text
    assert 'id="unknown-trader"' in page.text


def test_a_malformed_wallet_is_refused_in_plain_words(client):
    page = client.get("/traders/0x1234")
    assert page.status_code == 422
    assert "0x followed by 40 hexadecimal digits" in page.text


def test_search_opens_the_trader_a_prefix_names(client):
    wallet = client.get("/api/v1/traders/leaderboard", params={"timeframe": "all"}).json()[
        "traders"
    ][0]["wallet_address"]
    # The shortest prefix that only this wallet has opens its page.
    for length in range(4, 43):
        prefix = wallet[:length]
        results = client.get("/api/v1/traders/search", params={"q": prefix}).json()["results"]
        if len(results) == 1:
            break
    page = client.get("/search", params={"q": prefix.upper()[2:]}, follow_redirects=False)
    assert page.status_code == 303
    assert page.headers["location"] == f"/traders/{wallet}"
    # A whole wallet always opens its page, known or not.
    whole = client.get("/search", params={"q": UNKNOWN_WALLET}, follow_redirects=False)
    assert whole.headers["location"] == f"/traders/{UNKNOWN_WALLET}"


def test_search_lists_the_wallets_a_short_prefix_matches(client):
    prefix, expected = next(
        (q, found)
        for q in "0123456789abcdef"
        if len(found := client.get("/api/v1/traders/search", params={"q": q}).json()["results"]) > 1
    )
    page = client.get("/search", params={"q": prefix}, follow_redirects=False)
    assert page.status_code == 200
    assert _wallets(page.text) == [r["wallet_address"] for r in expected]


def test_search_refuses_what_is_not_hexadecimal(client):
    page = client.get("/search", params={"q": "vitalik"})
    assert page.status_code == 422
    assert "hexadecimal" in page.text


def test_static_files_are_served_and_nothing_points_off_this_server(client):
    for path in ("/", "/traders/" + UNKNOWN_WALLET):
        html = client.get(path).text
        sources = re.findall(r'(?:src|href)="([^"]+)"', html)
        assets = [s for s in sources if s.startswith("/static/")]
        assert assets
        for asset in assets:
            assert client.get(asset).status_code == 200, asset
        # Links out are fine (they are not fetched); a script, style or image never is.
        loaded = re.findall(r'<(?:script|link|img)[^>]+(?:src|href)="([^"]+)"', html)
        assert all(s.startswith(("/", "data:")) for s in loaded), loaded


def test_each_sources_lag_in_plain_words():
    from datetime import UTC, datetime

    from api.web.format import source_lags

    now = datetime(2026, 12, 6, 14, 5, tzinfo=UTC)
    sources = [
        {"source": "chain", "head_at": "2026-12-06T14:04:48Z", "read_at": "2026-12-06T14:05:00Z",
         "lag_seconds": 12},
        {"source": "gamma", "head_at": None, "read_at": "2026-12-06T14:00:00Z",
         "lag_seconds": None},
        {"source": "orderbook", "head_at": "2026-04-28T11:00:00Z",
         "read_at": "2026-12-06T14:05:00Z", "lag_seconds": 19_000_000},
    ]  # fmt: skip
    assert source_lags(sources, now) == [
        "chain 12 s behind",
        "market names read 5 min ago",
        "orderbook: V1 history, complete to the V2 cutover (28 Apr 2026)",
    ]
    # Without the chain the frozen subgraph is just behind, and says how far.
    assert source_lags(sources[2:], now) == ["orderbook 220 days behind"]


def test_trader_page_shows_the_risk_and_the_windows_win_rates(client):
    """The trader page says the API's risk figures and each window's win rate."""
    from api.web import format as fmt

    board = client.get("/api/v1/traders/leaderboard", params={"timeframe": "all"}).json()
    wallet = max(board["traders"], key=lambda t: t["total_trades"])["wallet_address"]
    detail = client.get(f"/api/v1/traders/{wallet}").json()
    risk = detail["risk"]
    assert risk["profit_factor"] is not None and risk["best_market"] is not None
    page = client.get(f"/traders/{wallet}")
    assert page.status_code == 200
    section = re.search(r'<dl class="headline" id="risk">(.*?)</dl>', page.text, re.S)
    assert section, "the page has no risk section"
    shown = section.group(1)
    assert f"<dd>{risk['profit_factor']:.2f}</dd>" in shown
    assert f"<dd>{fmt.usd(risk['avg_win'], True)}</dd>" in shown
    assert f"<dd>{fmt.usd(risk['avg_loss'], True)}</dd>" in shown
    assert f"<dd>{fmt.usd(risk['max_drawdown'])}</dd>" in shown
    for which in ("best_market", "worst_market"):
        assert fmt.usd(risk[which]["total_pnl"], True) in shown
        assert f'title="{risk[which]["market_id"]}"' in shown
    metrics = detail["metrics"]
    for key in ("1d", "7d", "30d", "all"):
        row = re.search(rf'<tr data-timeframe="{key}">(.*?)</tr>', page.text, re.S).group(1)
        rate = fmt.percent(metrics[f"win_rate_{key}"])
        won, lost = metrics[f"wins_{key}"], metrics[f"losses_{key}"]
        assert f"{rate} <small>({won} won, {lost} lost)</small>" in row

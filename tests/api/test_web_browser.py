"""The web pages in a real headless Chromium (Debian's `chromium`, driven by Playwright).

Every page a test opens is watched: a console error, an uncaught exception, or a request to
anywhere but the app's 127.0.0.1 fails the test (such requests are also blocked).
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from api.web import format as fmt

pytestmark = pytest.mark.web

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
UNKNOWN_WALLET = "0x" + "f" * 40
PNL_STROKE = (11, 79, 156)  # app.js: the cumulative PnL line
VOLUME_FILL = (107, 63, 160)  # app.js: the daily volume bars


@pytest.fixture(scope="module")
def browser() -> Iterator:
    from playwright.sync_api import sync_playwright

    if not shutil.which(CHROMIUM):
        pytest.fail("headless Chromium is needed: apt-get install -y chromium (.ci/run does)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True)
        yield browser
        browser.close()


@pytest.fixture(scope="module")
def api(web_server) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=web_server.url, timeout=30) as client:
        yield client


class Watched:
    """A page whose console errors and off-server requests are collected."""

    def __init__(self, browser, base_url: str, width: int = 1280):
        self.base_url = base_url
        self.context = browser.new_context(
            base_url=base_url, viewport={"width": width, "height": 900}
        )
        self.errors: list[str] = []
        self.outside: list[str] = []
        self.context.route("**/*", self._route)
        self.page = self.context.new_page()
        self.page.on("console", self._console)
        self.page.on("pageerror", lambda e: self.errors.append(f"uncaught: {e}"))

    def _console(self, message) -> None:
        if message.type != "error":
            return
        # Chromium logs the HTTP status of a document answered 4xx (the unknown-wallet page is
        # a 404 on purpose); that line names the document itself. Any other error counts.
        if (
            message.text.startswith("Failed to load resource")
            and message.location.get("url") == self.page.url
        ):
            return
        self.errors.append(f"console: {message.text} at {message.location}")

    def _route(self, route) -> None:
        if urlsplit(route.request.url).hostname == "127.0.0.1":
            route.continue_()
        else:
            self.outside.append(route.request.url)
            route.abort()

    def close(self) -> None:
        self.context.close()


@pytest.fixture
def watched(browser, web_server) -> Iterator[Watched]:
    page = Watched(browser, web_server.url)
    yield page
    page.close()
    assert page.errors == [], "the page logged errors"
    assert page.outside == [], "the page asked for something off this server"


def _query(page) -> dict[str, list[str]]:
    return parse_qs(urlsplit(page.url).query)


def _rows(page) -> list[tuple[str, str, str]]:
    """(rank, wallet, PnL as shown) of each leaderboard row."""
    rows = page.eval_on_selector_all(
        "#leaderboard tbody tr[data-wallet]",
        "rows => rows.map(r => [r.cells[0].textContent.trim(), r.dataset.wallet,"
        " r.cells[2].textContent.trim()])",
    )
    return [tuple(row) for row in rows]


def _expected(api, **params) -> list[tuple[str, str, str]]:
    body = api.get("/api/v1/traders/leaderboard", params=params).json()
    assert body["traders"], f"the tiny marts rank somebody for {params}"
    return [
        (str(t["rank"]), t["wallet_address"], fmt.usd(t["total_pnl"], signed=True))
        for t in body["traders"]
    ]


def test_each_window_shows_the_rows_of_the_api(watched, api):
    page = watched.page
    page.goto("/")
    assert _rows(page) == _expected(api, timeframe="7d")
    for timeframe in ("1d", "30d", "all", "7d"):
        page.click(f"#timeframes a[data-timeframe='{timeframe}']")
        page.wait_for_selector(f"#leaderboard[data-timeframe='{timeframe}']")
        # 7d is the default: its link is the bare page.
        assert _query(page).get("timeframe") == (None if timeframe == "7d" else [timeframe])
        assert _rows(page) == _expected(api, timeframe=timeframe)
        current = page.get_attribute("#timeframes a[aria-current='page']", "data-timeframe")
        assert current == timeframe


def test_sort_and_page_change_the_link_and_the_rows(watched, api):
    page = watched.page
    page.goto("/?timeframe=all&limit=5")
    first = _rows(page)
    assert first == _expected(api, timeframe="all", limit=5)

    page.click("#leaderboard thead a[data-sort='volume']")
    page.wait_for_selector("#leaderboard[data-sort-by='volume']")
    assert _query(page) == {"timeframe": ["all"], "limit": ["5"], "sort_by": ["volume"]}
    by_volume = _rows(page)
    assert by_volume == _expected(api, timeframe="all", limit=5, sort_by="volume")
    assert by_volume != first

    page.click(".pager a[rel='next']")
    page.wait_for_selector("#leaderboard[data-page='2']")
    assert _query(page)["page"] == ["2"]
    second = _rows(page)
    assert second == _expected(api, timeframe="all", limit=5, sort_by="volume", page=2)
    assert {w for _, w, _ in second}.isdisjoint({w for _, w, _ in by_volume})

    # The active column flips its order; the link says so.
    page.click("#leaderboard thead a[data-sort='volume']")
    page.wait_for_selector("#leaderboard[data-order='asc']")
    assert _query(page)["order"] == ["asc"]
    assert _rows(page) == _expected(api, timeframe="all", limit=5, sort_by="volume", order="asc")


def test_choosing_a_category_changes_the_link_and_the_rows(watched, api):
    page = watched.page
    page.goto("/?timeframe=all")
    everyone = _rows(page)
    page.select_option("#category", "politics")
    page.wait_for_selector("#leaderboard[data-category='politics']")
    assert _query(page) == {"timeframe": ["all"], "category": ["politics"]}
    politics = _rows(page)
    assert politics == _expected(api, timeframe="all", category="politics")
    assert politics != everyone
    # the window tabs keep the category
    page.click("#timeframes a[data-timeframe='30d']")
    page.wait_for_selector("#leaderboard[data-timeframe='30d']")
    assert _query(page) == {"timeframe": ["30d"], "category": ["politics"]}
    page.select_option("#category", "")
    page.wait_for_selector("#leaderboard[data-category='']")
    assert _query(page) == {"timeframe": ["30d"]}


def test_search_suggests_and_finds_a_wallet(watched, api):
    wallet = api.get("/api/v1/traders/leaderboard", params={"timeframe": "all"}).json()["traders"][
        0
    ]["wallet_address"]
    prefix = next(
        wallet[:n]
        for n in range(4, 43)
        if len(api.get("/api/v1/traders/search", params={"q": wallet[:n]}).json()["results"]) == 1
    )
    page = watched.page
    page.goto("/")
    page.fill("#wallet-search", prefix)
    page.wait_for_selector(f"#wallet-suggestions option[value='{wallet}']", state="attached")
    page.press("#wallet-search", "Enter")
    page.wait_for_url(f"**/traders/{wallet}")
    assert page.inner_text("h1").endswith(wallet)


def _colour_pixels(page, selector: str, colour: tuple[int, int, int]) -> int:
    """Pixels of the chart's canvas within a small distance of the series colour."""
    return page.eval_on_selector(
        f"{selector} canvas",
        """(canvas, [r, g, b]) => {
            const context = canvas.getContext('2d');
            const data = context.getImageData(0, 0, canvas.width, canvas.height).data;
            let n = 0;
            for (let i = 0; i < data.length; i += 4) {
                if (data[i + 3] > 200 && Math.abs(data[i] - r) + Math.abs(data[i + 1] - g)
                    + Math.abs(data[i + 2] - b) < 40) n++;
            }
            return n;
        }""",
        list(colour),
    )


def test_trader_page_draws_both_charts_and_the_positions_of_the_api(watched, api):
    board = api.get("/api/v1/traders/leaderboard", params={"timeframe": "all"}).json()
    wallet = board["traders"][0]["wallet_address"]
    page = watched.page
    response = page.goto(f"/traders/{wallet}")
    assert response.status == 200
    page.wait_for_selector("#chart-pnl canvas")
    page.wait_for_selector("#chart-volume canvas")
    assert _colour_pixels(page, "#chart-pnl", PNL_STROKE) > 100
    assert _colour_pixels(page, "#chart-volume", VOLUME_FILL) > 100

    positions = api.get(f"/api/v1/traders/{wallet}/positions").json()
    assert positions["positions"]
    shown = page.eval_on_selector_all(
        "#positions tbody tr[data-token-id]", "rows => rows.map(r => r.dataset.tokenId)"
    )
    assert shown == [p["token_id"] for p in positions["positions"]]
    detail = api.get(f"/api/v1/traders/{wallet}").json()
    headline = page.inner_text("#headline")
    assert fmt.usd(detail["trader"]["total_pnl"], signed=True) in headline

    # Sorting by total PnL asks the server, over every page: best first, then worst first.
    for order in ("desc", "asc"):
        page.click("#positions thead a[data-sort='total_pnl']")
        page.wait_for_selector(f"#positions[data-sort='total_pnl'][data-order='{order}']")
        asked = {"sort": ["total_pnl"]} | ({"order": ["asc"]} if order == "asc" else {})
        assert _query(page) == asked
        sorted_positions = api.get(
            f"/api/v1/traders/{wallet}/positions", params={"sort": "total_pnl", "order": order}
        ).json()["positions"]
        shown = page.eval_on_selector_all(
            "#positions tbody tr[data-token-id]", "rows => rows.map(r => r.dataset.tokenId)"
        )
        assert shown == [p["token_id"] for p in sorted_positions]
        expected = "descending" if order == "desc" else "ascending"
        assert page.get_attribute("#positions th[data-key='total_pnl']", "aria-sort") == expected


def test_an_unknown_wallet_gets_its_page(watched):
    page = watched.page
    response = page.goto(f"/traders/{UNKNOWN_WALLET}")
    assert response.status == 404
    assert UNKNOWN_WALLET in page.inner_text("h1")
    assert "no trades" in page.inner_text("#unknown-trader")


def test_pages_fit_a_phone(browser, web_server, api):
    wallet = api.get("/api/v1/traders/leaderboard", params={"timeframe": "all"}).json()["traders"][
        0
    ]["wallet_address"]
    phone = Watched(browser, web_server.url, width=390)
    try:
        for path in ("/", f"/traders/{wallet}"):
            phone.page.goto(path)
            # Wide tables scroll inside their own box; the page itself never scrolls sideways.
            overflow = phone.page.evaluate(
                "document.documentElement.scrollWidth - document.documentElement.clientWidth"
            )
            assert overflow <= 0, path
    finally:
        phone.close()
    assert phone.errors == [] and phone.outside == []

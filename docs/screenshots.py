"""Retake the README's screenshots from a running `make demo`.

    uv run python docs/screenshots.py --api http://127.0.0.1:8000 --dagster http://127.0.0.1:3000

Drives Debian's headless Chromium (as the browser tests do) and writes docs/web-leaderboard.png,
docs/web-trader.png (the leaderboard's first trader) and docs/dagster-asset-lineage.png (the
upstream lineage of marts/leaderboard). Look at them before committing them.
"""

from __future__ import annotations

import argparse
import contextlib
import shutil
import time
from pathlib import Path

import httpx
from playwright.sync_api import TimeoutError as PlaywrightTimeout
from playwright.sync_api import sync_playwright

DOCS = Path(__file__).resolve().parent
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
LINEAGE = "/assets/marts/leaderboard?view=lineage&lineageScope=upstream&lineageDepth=3"


RUNS = """
{ all: runsOrError { ... on Runs { count } }
  flying: runsOrError(filter: {statuses: [QUEUED, STARTING, STARTED]}) { ... on Runs { count } } }
"""


def runs(dagster: str) -> tuple[int, int]:
    """How many runs the instance has, and how many are in flight."""
    answer = httpx.post(f"{dagster}/graphql", json={"query": RUNS}, timeout=30).json()["data"]
    return answer["all"]["count"], answer["flying"]["count"]


def wait_for_no_run(dagster: str, timeout: float = 300.0) -> tuple[int, int]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        counts = runs(dagster)
        if counts[1] == 0:
            return counts
        time.sleep(1)
    raise SystemExit(f"a run was still in flight after {timeout:.0f}s")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--api", default="http://127.0.0.1:8000")
    parser.add_argument("--dagster", default="http://127.0.0.1:3000")
    args = parser.parse_args(argv)
    board = httpx.get(
        f"{args.api}/api/v1/traders/leaderboard", params={"timeframe": "30d"}, timeout=30
    ).json()
    wallet = board["traders"][0]["wallet_address"]
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        shots = [
            (f"{args.api}/?timeframe=30d", "#leaderboard", "web-leaderboard.png", False),
            (f"{args.api}/traders/{wallet}?limit=12", "canvas", "web-trader.png", True),
        ]
        for url, ready, name, full_page in shots:
            page.goto(url)
            page.wait_for_selector(ready)
            page.wait_for_load_state("networkidle")
            page.screenshot(path=DOCS / name, full_page=full_page)
            print(f"{name}: {url}")
        page.set_viewport_size({"width": 1500, "height": 1500})
        page.goto(args.dagster + LINEAGE)
        skip = page.get_by_role("button", name="Skip")  # the UI's first-visit newsletter dialog
        with contextlib.suppress(PlaywrightTimeout):
            skip.click(timeout=15_000)
        # The graph outlines the assets of a run in flight in purple, and the demo's sensors
        # start runs often: shoot between runs, when none started while the page drew.
        for _ in range(20):
            before = wait_for_no_run(args.dagster)
            page.reload()
            page.wait_for_load_state("networkidle")
            page.wait_for_timeout(5000)
            if runs(args.dagster) == before:
                break
        page.screenshot(path=DOCS / "dagster-asset-lineage.png")
        print(f"dagster-asset-lineage.png: {args.dagster + LINEAGE}")
        browser.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Reference market metadata: each condition's Gamma market, event and leaderboard category,
computed in Python from the landed Gamma rows (independently of the dbt models)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

# Leaderboard categories by the tag slug that marks them, first match wins.
CATEGORY_OF_SLUG = {
    "politics": "politics",
    "sports": "sports",
    "crypto": "crypto",
    "economy": "economics",
    "finance": "finance",
    "tech": "tech",
    "pop-culture": "culture",
    "weather": "weather",
    "mentions": "mentions",
}
PRIORITY = list(CATEGORY_OF_SLUG)


def market_metadata(entities: Mapping[str, Iterable[dict]]) -> dict[str, dict]:
    """condition id -> question, slugs, event, category, labels by token, icon, URL."""
    events = {e["id"]: e for e in entities.get("gamma_events", [])}
    slug_of_tag = {t["id"]: t["slug"] for t in entities.get("gamma_tags", [])}
    chosen: dict[str, dict] = {}
    for market in entities.get("gamma_markets", []):
        condition = market["condition_id"]
        if not condition:
            continue
        known = chosen.get(condition)
        if known is None or (market["updated_at"] or 0, market["id"]) > (
            known["updated_at"] or 0,
            known["id"],
        ):
            chosen[condition] = market
    out = {}
    for condition, market in chosen.items():
        event = events.get(market["event_ids"][0]) if market["event_ids"] else None
        tag_ids = [*market["tag_ids"], *(event["tag_ids"] if event else [])]
        slugs = {slug_of_tag.get(t) for t in tag_ids}
        category = next((CATEGORY_OF_SLUG[s] for s in PRIORITY if s in slugs), None)
        if event and event["slug"] and market["slug"]:
            url = f"https://polymarket.com/event/{event['slug']}/{market['slug']}"
        elif market["slug"]:
            url = f"https://polymarket.com/market/{market['slug']}"
        else:
            url = None
        out[condition] = {
            "question": market["question"] or condition,
            "labels": dict(
                zip(market["clob_token_ids"] or [], market["outcomes"] or [], strict=False)
            ),
            "market_slug": market["slug"],
            "event_title": event["title"] if event else None,
            "event_slug": event["slug"] if event else None,
            "category": category,
            "icon_url": market["icon"] or (event["icon"] if event else None),
            "market_url": url,
        }
    return out

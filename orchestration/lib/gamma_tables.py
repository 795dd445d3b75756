"""The raw tables Gamma metadata lands in, and how a Gamma object becomes a row of one.

Gamma objects carry several lists as JSON encoded inside JSON strings (`outcomes`,
`clobTokenIds`), dates in three formats (ISO-8601 with `Z` and up to 6 fraction digits,
`"2026-06-01 12:00:00+00"`, `"YYYY-MM-DD"`), keys that are absent rather than null, and new keys
all the time. Rows keep the fields the marts read, typed (dates as epoch seconds, lists as
arrays), plus the object itself in `payload`, so a field needed later is still there.
Column kinds are those of `entities.py`, plus `bool`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson


@dataclass(frozen=True)
class GammaTable:
    table: str  # raw table
    entity: str  # asset key ["gamma", entity], dbt source('gamma', entity)
    columns: tuple[tuple[str, str], ...]  # (column, kind), the key first
    description: str

    @property
    def fields(self) -> tuple[str, ...]:
        return tuple(name for name, _ in self.columns)

    @property
    def key(self) -> str:
        return self.columns[0][0]

    @property
    def asset_key(self) -> list[str]:
        return ["gamma", self.entity]


GAMMA_MARKETS = GammaTable(
    table="gamma_markets",
    entity="markets",
    columns=(
        ("id", "text"),
        ("condition_id", "text"),
        ("question_id", "text"),
        ("question", "text"),
        ("slug", "text"),
        ("group_item_title", "text"),
        ("outcomes", "texts"),
        ("clob_token_ids", "texts"),
        ("neg_risk", "bool"),
        ("neg_risk_market_id", "text"),
        ("active", "bool"),
        ("closed", "bool"),
        ("start_date", "long"),
        ("end_date", "long"),
        ("closed_time", "long"),
        ("icon", "text"),
        ("image", "text"),
        ("event_ids", "texts"),
        ("tag_ids", "texts"),
        ("updated_at", "long"),
        ("payload", "text"),
    ),
    description="Gamma markets: question, outcome labels and CLOB token ids of each condition.",
)
GAMMA_EVENTS = GammaTable(
    table="gamma_events",
    entity="events",
    columns=(
        ("id", "text"),
        ("slug", "text"),
        ("title", "text"),
        ("ticker", "text"),
        ("neg_risk", "bool"),
        ("active", "bool"),
        ("closed", "bool"),
        ("start_date", "long"),
        ("end_date", "long"),
        ("icon", "text"),
        ("image", "text"),
        ("tag_ids", "texts"),
        ("updated_at", "long"),
        ("payload", "text"),
    ),
    description="Gamma events (a market's group: title, slug) with the ids of their tags.",
)
GAMMA_TAGS = GammaTable(
    table="gamma_tags",
    entity="tags",
    columns=(
        ("id", "text"),
        ("label", "text"),
        ("slug", "text"),
        ("force_hide", "bool"),
        ("updated_at", "long"),
        ("payload", "text"),
    ),
    description="Gamma tags; category tags (politics, sports, crypto, ...) name the categories.",
)
GAMMA_TABLES = (GAMMA_MARKETS, GAMMA_EVENTS, GAMMA_TAGS)


def epoch(value: Any) -> int | None:
    """Epoch seconds of a Gamma date in any of its formats; None when absent or unreadable."""
    if not value or not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    if parsed.tzinfo is None:  # "YYYY-MM-DD" and naive stamps are UTC
        parsed = parsed.replace(tzinfo=UTC)
    return int(parsed.timestamp())


def json_list(value: Any) -> list[str] | None:
    """A list Gamma sends JSON-encoded in a string (or, in some answers, as a list)."""
    if value is None or value == "":
        return None
    if isinstance(value, str):
        try:
            value = orjson.loads(value)
        except orjson.JSONDecodeError:
            return None
    if not isinstance(value, list):
        return None
    return [str(item) for item in value]


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value != "" else None


def _ids(objects: Any) -> list[str]:
    return [str(o["id"]) for o in objects or () if isinstance(o, dict) and o.get("id")]


def market_row(market: dict[str, Any]) -> dict[str, Any]:
    condition = _text(market.get("conditionId"))
    return {
        "id": str(market["id"]),
        "condition_id": condition.lower() if condition else None,
        "question_id": _text(market.get("questionID")),
        "question": _text(market.get("question")),
        "slug": _text(market.get("slug")),
        "group_item_title": _text(market.get("groupItemTitle")),
        "outcomes": json_list(market.get("outcomes")),
        "clob_token_ids": json_list(market.get("clobTokenIds")),
        "neg_risk": bool(market.get("negRisk", False)),
        "neg_risk_market_id": _text(market.get("negRiskMarketID")),
        "active": market.get("active"),
        "closed": market.get("closed"),
        "start_date": epoch(market.get("startDate")),
        "end_date": epoch(market.get("endDate")),
        "closed_time": epoch(market.get("closedTime")),
        "icon": _text(market.get("icon")),
        "image": _text(market.get("image")),
        "event_ids": _ids(market.get("events")),
        # Present only with include_tag=true; the events' tags are read either way.
        "tag_ids": _ids(market.get("tags")),
        "updated_at": epoch(market.get("updatedAt")),
        "payload": orjson.dumps(market).decode(),
    }


def event_row(event: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": str(event["id"]),
        "slug": _text(event.get("slug")),
        "title": _text(event.get("title")),
        "ticker": _text(event.get("ticker")),
        "neg_risk": bool(event.get("negRisk", False)),
        "active": event.get("active"),
        "closed": event.get("closed"),
        "start_date": epoch(event.get("startDate")),
        "end_date": epoch(event.get("endDate")),
        "icon": _text(event.get("icon")),
        "image": _text(event.get("image")),
        "tag_ids": _ids(event.get("tags")),
        "updated_at": epoch(event.get("updatedAt")),
        # Listed events embed their markets; those land in their own table.
        "payload": orjson.dumps({k: v for k, v in event.items() if k != "markets"}).decode(),
    }


def tag_row(tag: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": str(tag["id"]),
        "label": _text(tag.get("label")),
        "slug": _text(tag.get("slug")),
        "force_hide": bool(tag.get("forceHide", False)),
        "updated_at": epoch(tag.get("updatedAt")),
        "payload": orjson.dumps(tag).decode(),
    }


def rows_of_markets(markets: list[dict[str, Any]]) -> dict[GammaTable, list[dict[str, Any]]]:
    """Market rows, and the rows of the tags listed with them (`include_tag=true`).

    The events embedded in a market come without their tags: they are read from the events
    listing instead (`rows_of_events`), by the ids in `event_ids`.
    """
    tags = {
        str(tag["id"]): tag_row(tag)
        for market in markets
        for tag in market.get("tags") or ()
        if isinstance(tag, dict) and tag.get("id")
    }
    return {
        GAMMA_MARKETS: [market_row(m) for m in markets if m.get("id")],
        GAMMA_TAGS: list(tags.values()),
    }


def rows_of_events(events: list[dict[str, Any]]) -> dict[GammaTable, list[dict[str, Any]]]:
    """Event rows and the rows of their tags (their embedded markets come from `/markets`)."""
    tags = {
        str(tag["id"]): tag_row(tag)
        for event in events
        for tag in event.get("tags") or ()
        if isinstance(tag, dict) and tag.get("id")
    }
    return {
        GAMMA_EVENTS: [event_row(e) for e in events if e.get("id")],
        GAMMA_TAGS: list(tags.values()),
    }

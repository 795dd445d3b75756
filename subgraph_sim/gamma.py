"""The world's market metadata as Polymarket's Gamma API serves it, and that API's HTTP face.

Every market of the generated world gets a question, outcome labels in token order, an
event (one to three markets each) and tags across the leaderboard's categories, built
deterministically from the world's seed. A few markets are deliberately absent (Gamma never
heard of them) and a few arrive late (listed only once the world's clock passes their
`createdAt`, two days after the market opened). Objects are shaped as Gamma returns them:
`outcomes`, `outcomePrices` and `clobTokenIds` JSON-encoded in strings, ISO dates with `Z`,
`closedTime` in Gamma's non-ISO form, `negRiskMarketID` absent unless neg-risk, events
embedded in markets without their tags, tags only with `include_tag=true`.

The face serves `/markets/keyset`, `/events/keyset` (keyset paging, `after_cursor`), `/tags`
(offset paging), `/markets/{id}` and `/events/{id}`, with Gamma's 422 and 404 bodies, behind
the simulator's fault controls.
"""

from __future__ import annotations

import asyncio
import base64
import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

SCHEMA_URL = "https://gamma-api.polymarket.com/schemas/Market.json"
MISSING_EVERY = 17  # one market in 17 (the 6th, the 23rd, ...) is unknown to Gamma
LATE_EVERY = 13  # one in 13 (the 9th, the 22nd, ...) is created on Gamma two days late
LATE_SECONDS = 2 * 86400
MAX_LIMIT = {"markets": 100, "events": 500}

# Category tags (ids as on Gamma where known) and a few others events carry besides.
TAGS: dict[str, dict[str, Any]] = {
    "politics": {"id": "2", "label": "Politics", "slug": "politics", "forceHide": True},
    "sports": {"id": "1", "label": "Sports", "slug": "sports"},
    "crypto": {"id": "21", "label": "Crypto", "slug": "crypto"},
    "finance": {"id": "120", "label": "Finance", "slug": "finance"},
    "tech": {"id": "1401", "label": "Tech", "slug": "tech"},
    "culture": {"id": "596", "label": "Culture", "slug": "pop-culture"},
    "weather": {"id": "84", "label": "Weather", "slug": "weather"},
    "economics": {"id": "100328", "label": "Economy", "slug": "economy"},
    "mentions": {"id": "101420", "label": "Mentions", "slug": "mentions"},
    "geopolitics": {"id": "100265", "label": "Geopolitics", "slug": "geopolitics"},
    "all": {"id": "100215", "label": "All", "slug": "all"},
}
# (category, question template, outcome labels, extra tags)
_TEMPLATES = (
    ("politics", "Will {name} win the {place} governor race?", ("Yes", "No"), ("all",)),
    ("politics", "Will the Senate pass the {name} Act by {date}?", ("Yes", "No"), ("economics",)),
    ("sports", "{team} vs. {team2}", None, ("all",)),
    ("crypto", "Bitcoin Up or Down - {date}", ("Up", "Down"), ()),
    ("crypto", "Will Ethereum be above ${price} on {date}?", ("Yes", "No"), ()),
    ("finance", "Will the S&P 500 close above {price} on {date}?", ("Yes", "No"), ()),
    ("tech", "Will {name} release a new model by {date}?", ("Yes", "No"), ()),
    ("culture", "Will {name} top the charts on {date}?", ("Yes", "No"), ()),
    ("weather", "Highest temperature in {place} on {date}?", ("Above", "Below"), ()),
    ("economics", "Fed decision in {date}?", ("Cut", "No cut"), ("finance",)),
    ("mentions", "Will {name} say 'tariff' during the {date} speech?", ("Yes", "No"), ()),
    ("politics", "Ceasefire in {place} by {date}?", ("Yes", "No"), ("geopolitics",)),
)
_NAMES = ("Avery", "Blake", "Casey", "Devon", "Emerson", "Finley", "Harper", "Jordan", "Quinn")
_PLACES = ("Ohio", "Texas", "Nevada", "Denver", "Seattle", "Lisbon", "Oslo", "Kyoto")
_TEAMS = ("Lakers", "Celtics", "Knicks", "Bulls", "Heat", "Suns", "Nets", "Spurs")


@dataclass(frozen=True)
class MarketFact:
    """What the generator knows of a market; the metadata is built from it."""

    condition: str
    token_ids: tuple[str, str]
    open_time: int
    resolve_time: int
    resolved: bool
    winner: int
    price: float
    neg_risk: bool = False
    question_id: str = ""


def iso(ts: int) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _closed_time(ts: int) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d %H:%M:%S+00")


def _slug(text: str) -> str:
    out = "".join(c.lower() if c.isalnum() else "-" for c in text)
    return "-".join(part for part in out.split("-") if part)


class GammaCatalog:
    """Markets, events and tags as Gamma holds them, each market with the time it appears."""

    def __init__(
        self,
        markets: list[dict[str, Any]],
        events: list[dict[str, Any]],
        tags: list[dict[str, Any]],
    ):
        self.markets = markets  # as /markets/keyset returns them with include_tag=true
        self.events = events  # as /events/keyset returns them (tags and markets inline)
        self.tags = tags
        self._created = [_epoch(m["createdAt"]) for m in markets]
        self._event_created = [_epoch(e["createdAt"]) for e in events]

    @classmethod
    def build(cls, facts: list[MarketFact], seed: int, now: int) -> GammaCatalog:
        """Metadata of `facts` (in market order) as of world time `now`."""
        rng = random.Random(seed * 7919 + 15)
        markets: list[dict] = []
        events: list[dict] = []
        i = 0
        event_no = 0
        while i < len(facts):
            size = min(len(facts) - i, rng.choice((1, 1, 2, 3)))
            category, template, labels, extra = _TEMPLATES[event_no % len(_TEMPLATES)]
            event_tags = [TAGS[category], *(TAGS[t] for t in extra)]
            event_id = str(40_000 + event_no)
            members = []
            for k in range(size):
                index = i + k
                fact = facts[index]
                if index % MISSING_EVERY == 5:
                    continue  # unknown to Gamma
                members.append(
                    _market(fact, index, rng, template, labels, now, LATE_EVERY, event_id)
                )
            if members:
                event = _event(event_id, members, event_tags, now)
                for market in members:
                    market["events"] = [{k: v for k, v in event.items() if k != "tags"}]
                    market["tags"] = event_tags
                event["markets"] = [
                    {k: v for k, v in m.items() if k not in ("events", "tags")} for m in members
                ]
                markets += members
                events.append(event)
            i += size
            event_no += 1
        used = {t["id"] for e in events for t in e["tags"]}
        tags = [t for t in TAGS.values() if t["id"] in used]
        return cls(markets, events, [dict(t, createdAt=iso(1_600_000_000)) for t in tags])

    # ---- what is listed at a world time -----------------------------------------------

    def visible_markets(self, now: int) -> list[dict]:
        return [m for m, created in zip(self.markets, self._created, strict=True) if created <= now]

    def visible_events(self, now: int) -> list[dict]:
        out = []
        for event, created in zip(self.events, self._event_created, strict=True):
            if created > now:
                continue
            members = [m for m in event["markets"] if _epoch(m["createdAt"]) <= now]
            out.append({**event, "markets": members})
        return out


def _epoch(value: str) -> int:
    return int(datetime.fromisoformat(value).timestamp())


def _market(fact, index, rng, template, labels, now, late_every, event_id) -> dict[str, Any]:
    date = datetime.fromtimestamp(fact.resolve_time, UTC).strftime("%B %-d")
    team, team2 = rng.sample(_TEAMS, 2)
    question = template.format(
        name=rng.choice(_NAMES),
        place=rng.choice(_PLACES),
        date=date,
        price=f"{rng.randrange(2, 90) * 100:,}",
        team=team,
        team2=team2,
    )
    outcomes = list(labels) if labels else [team, team2]
    created = fact.open_time + (LATE_SECONDS if index % late_every == 8 else 0)
    closed = fact.resolved and fact.resolve_time <= now
    if closed:
        prices = ["1", "0"] if fact.winner == 0 else ["0", "1"]
    else:
        p = round(fact.price if fact.winner == 0 else 1 - fact.price, 3)
        prices = [str(p), str(round(1 - p, 3))]
    slug = f"{_slug(question)}-{index}"
    image = f"https://polymarket-upload.s3.us-east-2.amazonaws.com/{slug}.png"
    market: dict[str, Any] = {
        "id": str(500_000 + index),
        "question": question,
        "conditionId": fact.condition,
        "slug": slug,
        "resolutionSource": "",
        "endDate": iso(fact.resolve_time),
        "startDate": iso(fact.open_time),
        "image": image,
        "icon": image,
        "description": f"This market resolves on {date}.",
        "outcomes": orjson.dumps(outcomes).decode().replace('","', '", "'),
        "outcomePrices": orjson.dumps(prices).decode().replace('","', '", "'),
        "volume": f"{rng.random() * 100_000:.6f}",
        "active": True,
        "closed": closed,
        "marketMakerAddress": "",
        "createdAt": iso(created),
        "updatedAt": iso(min(max(created, fact.resolve_time if closed else created), now)),
        "new": False,
        "featured": False,
        "archived": False,
        "restricted": True,
        "groupItemTitle": "",
        "groupItemThreshold": "0",
        "questionID": fact.question_id or fact.condition,
        "enableOrderBook": True,
        "clobTokenIds": orjson.dumps(list(fact.token_ids)).decode().replace('","', '", "'),
        "acceptingOrders": not closed,
        "negRisk": fact.neg_risk,
        "umaResolutionStatuses": '["proposed", "resolved"]' if closed else "[]",
        "version": "v1",
    }
    if closed:
        market["closedTime"] = _closed_time(fact.resolve_time)
        market["umaResolutionStatus"] = "resolved"
    if fact.neg_risk:
        market["negRiskMarketID"] = f"{fact.question_id[:-2]}00" if fact.question_id else ""
        market["negRiskOther"] = False
    return market


def _event(event_id: str, members: list[dict], tags: list[dict], now: int) -> dict[str, Any]:
    first = members[0]
    title = first["question"] if len(members) == 1 else first["question"].split("?")[0] + "?"
    closed = all(m["closed"] for m in members)
    return {
        "id": event_id,
        "ticker": first["slug"],
        "slug": first["slug"],
        "title": title,
        "description": first["description"],
        "startDate": min(m["startDate"] for m in members),
        "creationDate": min(m["createdAt"] for m in members),
        "endDate": max(m["endDate"] for m in members),
        "image": first["image"],
        "icon": first["icon"],
        "active": True,
        "closed": closed,
        "archived": False,
        "new": False,
        "featured": False,
        "restricted": True,
        "volume": round(sum(float(m["volume"]) for m in members), 6),
        "createdAt": min(m["createdAt"] for m in members),
        "updatedAt": max(m["updatedAt"] for m in members),
        "negRisk": any(m["negRisk"] for m in members),
        "tags": tags,
        "version": "v1",
    }


# ---- HTTP face ------------------------------------------------------------------------


def _error(status: int, kind: str, message: str) -> Response:
    return Response(
        orjson.dumps({"type": kind, "error": message}), status, media_type="application/json"
    )


def _json(body: Any) -> Response:
    return Response(orjson.dumps(body), media_type="application/json")


def _values(request: Request, name: str) -> list[str]:
    """A multi-valued parameter, repeated (`a=1&a=2`) or comma-separated (`a=1,2`)."""
    return [v for raw in request.query_params.getlist(name) for v in raw.split(",") if v]


def _flag(request: Request, name: str, default: bool | None) -> bool | None:
    value = request.query_params.get(name)
    if value is None:
        return default
    if value.lower() not in ("true", "false"):
        raise ValueError(f"{name} must be true or false")
    return value.lower() == "true"


def _cursor(offset: int) -> str:
    return base64.urlsafe_b64encode(f"o:{offset}".encode()).decode()


def _offset(cursor: str) -> int:
    try:
        text = base64.urlsafe_b64decode(cursor.encode()).decode()
        if not text.startswith("o:"):
            raise ValueError
        return int(text[2:])
    except (ValueError, UnicodeDecodeError) as exc:
        raise ValueError("after_cursor is not valid") from exc


class GammaFace:
    """Gamma's routes over a catalog; `clock` gives the world time listings are taken at."""

    def __init__(self, catalog: GammaCatalog, control, clock: Callable[[], int]):
        self.catalog = catalog
        self.control = control  # SimControl: latency, faults, rate limit, counters
        self.clock = clock

    def routes(self) -> list[Route]:
        return [
            Route("/markets/keyset", self.markets_keyset, methods=["GET"]),
            Route("/events/keyset", self.events_keyset, methods=["GET"]),
            Route("/tags", self.tags, methods=["GET"]),
            Route("/markets/{id}", self.market, methods=["GET"]),
            Route("/events/{id}", self.event, methods=["GET"]),
        ]

    async def _admit(self) -> Response | None:
        fault = self.control.admit_gamma()
        if self.control.latency_ms:
            await asyncio.sleep(self.control.latency_ms / 1000)
        if fault is None:
            return None
        return Response(
            fault.body, fault.status, headers=fault.headers, media_type=fault.media_type
        )

    def _page(self, request: Request, kind: str, rows: list[dict]) -> Response:
        params = request.query_params
        if "offset" in params:
            return _error(422, "validation error", "offset is not supported, use after_cursor")
        if "order" in params:
            return _error(422, "validation error", "order fields are not valid")
        try:
            limit = min(int(params.get("limit", "20")), MAX_LIMIT[kind])
            start = _offset(params["after_cursor"]) if "after_cursor" in params else 0
        except ValueError as exc:
            return _error(422, "validation error", str(exc))
        if limit < 1:
            return _error(422, "validation error", "limit must be positive")
        page = rows[start : start + limit]
        body: dict[str, Any] = {kind: page}
        if start + limit < len(rows):
            body["next_cursor"] = _cursor(start + limit)
        return _json(body)

    async def markets_keyset(self, request: Request) -> Response:
        if (fault := await self._admit()) is not None:
            return fault
        try:
            closed = _flag(request, "closed", False)
            include_tag = _flag(request, "include_tag", False)
        except ValueError as exc:
            return _error(422, "validation error", str(exc))
        conditions = {c.lower() for c in _values(request, "condition_ids")}
        ids = set(_values(request, "id"))
        tokens = set(_values(request, "clob_token_ids"))
        rows = []
        for market in self.catalog.visible_markets(self.clock()):
            if market["closed"] != closed:
                continue
            if conditions and market["conditionId"] not in conditions:
                continue
            if ids and market["id"] not in ids:
                continue
            if tokens and not tokens & set(orjson.loads(market["clobTokenIds"])):
                continue
            rows.append(market if include_tag else {k: v for k, v in market.items() if k != "tags"})
        return self._page(request, "markets", rows)

    async def events_keyset(self, request: Request) -> Response:
        if (fault := await self._admit()) is not None:
            return fault
        try:
            # Gamma has answered closed events only when `closed` is left out.
            closed = _flag(request, "closed", True)
        except ValueError as exc:
            return _error(422, "validation error", str(exc))
        ids = set(_values(request, "id"))
        rows = [
            e
            for e in self.catalog.visible_events(self.clock())
            if e["closed"] == closed and (not ids or e["id"] in ids)
        ]
        return self._page(request, "events", rows)

    async def tags(self, request: Request) -> Response:
        if (fault := await self._admit()) is not None:
            return fault
        try:
            limit = int(request.query_params.get("limit", "100"))
            offset = int(request.query_params.get("offset", "0"))
        except ValueError:
            return _error(422, "validation error", "limit and offset must be integers")
        return _json(self.catalog.tags[offset : offset + max(0, limit)])

    async def market(self, request: Request) -> Response:
        if (fault := await self._admit()) is not None:
            return fault
        wanted = request.path_params["id"]
        if not wanted.isdigit():
            return _error(422, "validation error", "id is invalid")
        for market in self.catalog.visible_markets(self.clock()):
            if market["id"] == wanted:
                body = {k: v for k, v in market.items() if k != "tags"}
                return _json({"$schema": SCHEMA_URL, **body})
        return _error(404, "not found error", "id not found")

    async def event(self, request: Request) -> Response:
        if (fault := await self._admit()) is not None:
            return fault
        for event in self.catalog.visible_events(self.clock()):
            if event["id"] == request.path_params["id"]:
                return _json(event)
        return _error(404, "not found error", "id not found")

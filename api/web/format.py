"""How the pages write the API's numbers, ids and times (Jinja filters).

Every signed amount carries its sign in text (a plus or a minus sign), so a gain reads as a
gain without colour.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

MINUS = "\N{MINUS SIGN}"


def usd(value: float | None, signed: bool = False) -> str:
    """$1,234.56; signed: +$1,234.56, a minus sign (U+2212) before a loss; a dash for none."""
    if value is None:
        return "—"
    sign = MINUS if value < 0 else ("+" if signed and value > 0 else "")
    return f"{sign}${abs(value):,.2f}"


def percent(value: float | None) -> str:
    return "—" if value is None else f"{value:.1f}%"


def price(value: float | None) -> str:
    """A price in [0, 1] as Polymarket shows it, in cents of a dollar per share."""
    return "—" if value is None else f"{value * 100:.1f}¢"


def shares(value: float | None) -> str:
    return "—" if value is None else f"{value:,.2f}"


def count(value: int | None) -> str:
    return "—" if value is None else f"{value:,}"


def short(identifier: str | None, keep: int = 6) -> str:
    """0x1234…abcd for wallets and condition ids, 1234…6789 for long token ids."""
    if not identifier:
        return "—"
    head = keep + 2 if identifier.startswith("0x") else keep
    if len(identifier) <= head + keep + 1:
        return identifier
    return f"{identifier[:head]}…{identifier[-4:]}"


def parse_time(value: str | None) -> datetime | None:
    # The API writes UTC instants with a Z (2026-04-20T15:04:05Z).
    return datetime.fromisoformat(value.replace("Z", "+00:00")) if value else None


def utc_time(value: str | None) -> str:
    moment = parse_time(value)
    return "—" if moment is None else moment.astimezone(UTC).strftime("%d %b %Y %H:%M UTC")


def utc_day(value: str | None) -> str:
    return "—" if not value else date.fromisoformat(value).strftime("%d %b %Y")


def ago(value: str | None, now: datetime | None = None) -> str:
    """How long before `now` an instant was, in plain words: '12 s', '5 min', '3 h', '2 days'."""
    moment = parse_time(value)
    if moment is None:
        return "unknown"
    return duration(int(((now or datetime.now(UTC)) - moment).total_seconds()))


def sign_class(value: float | None) -> str:
    """A CSS class for the colour of an amount; the text already says its sign."""
    if not value:
        return ""
    return "gain" if value > 0 else "loss"


FILTERS = {
    "usd": usd,
    "percent": percent,
    "price": price,
    "shares": shares,
    "count": count,
    "short": short,
    "utc_time": utc_time,
    "utc_day": utc_day,
    "ago": ago,
    "sign_class": sign_class,
}


def duration(seconds: int | None) -> str:
    """A length of time in plain words: '12 s', '5 min', '3 h', '2 days'."""
    if seconds is None:
        return "unknown"
    seconds = max(0, int(seconds))
    if seconds < 90:
        return f"{seconds} s"
    if seconds < 90 * 60:
        return f"{round(seconds / 60)} min"
    if seconds < 36 * 3600:
        return f"{round(seconds / 3600)} h"
    return f"{round(seconds / 86400)} days"


# 2026-04-28T00:00:00Z: Polymarket's V1 subgraphs stopped at the V2 migration.
V2_CUTOVER = datetime(2026, 4, 28, tzinfo=UTC)
SUBGRAPHS = ("orderbook", "pnl", "activity")


def source_lags(sources: list[dict], now: datetime | None = None) -> list[str]:
    """Each source's lag in plain words: 'chain 12 s behind'; a subgraph frozen at the V2
    cutover, where the chain reads the V2 era, as complete; the metadata by its last read."""
    now = now or datetime.now(UTC)
    chain = any(s["source"] == "chain" for s in sources)
    words = []
    for s in sources:
        head = parse_time(s["head_at"])
        if s["source"] == "gamma":
            words.append(f"market names read {ago(s['read_at'], now)} ago")
        elif s["source"] in SUBGRAPHS and chain and head is not None and head >= V2_CUTOVER:
            words.append(f"{s['source']}: V1 history, complete to the V2 cutover ({head:%d %b %Y})")
        else:
            words.append(f"{s['source']} {duration(s['lag_seconds'])} behind")
    return words

"""An independent reference for every mart column, computed from the raw source rows.

Plain Python with `Decimal` arithmetic, event by event, straight from DESIGN section 2. It
shares nothing with the dbt models (no SQL, no scaled integers, no reading of the marts), so a
match between the two is evidence that both implement the definitions. Inputs are keyed by raw
table name: the subgraph entities as the subgraph serves them (GraphQL field names, BigInt as
strings), and the V2 era's chain rows (`chain_order_filled`, `chain_condition_preparations`,
`chain_condition_resolutions`, `chain_position_operations`, `chain_adapter_transfers`) as
decoded from the logs, one dict per log.
"""

from __future__ import annotations

import bisect
import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal, localcontext

from tests.reference.market_metadata import market_metadata

MICRO = Decimal(1_000_000)
E24 = Decimal(10) ** 24  # the marts' exact money columns: USDC x 1e24
DAY = 86_400
WINDOWS = {"1d": DAY, "7d": 7 * DAY, "30d": 30 * DAY}
DEFAULT_EXCLUDED = frozenset(
    {
        "0x4bfb41d5b3570defd03c39a9a4d8de6bd8b8982e",
        "0xc5d563a36ae78145c45a50134d48a1215220f80a",
        "0xd91e80cf2e7be2e162c6513ced06f1dd0da35296",
        "0x78769d50be1763ed1ca0d5e878d93f05aabff29e",
        # the V2 exchanges and collateral adapters
        "0xe111180000d2663c0091e4f400237545b87b996b",
        "0xe2222d279d744050d28e00520010520000310f59",
        "0xe2222d002000ba0053cef3375333610f64600036",
        "0xada100874d00e3331d00f2007a9c336a65009718",
        "0xada100db00ca00073811820692005400218fce1f",
        "0xada200001000ef00d07553cee7006808f895c6f1",
        "0xada2005600dec949baf300f4c6120000bdb6eaab",
    }
)
# Counterparties of an adapter's transfers that are hops inside its operation, not its user:
# the zero address (mints, burns) and the NegRiskAdapter.
ADAPTER_HOPS = frozenset(
    {"0x0000000000000000000000000000000000000000", "0xd91e80cf2e7be2e162c6513ced06f1dd0da35296"}
)
PRECISION = 60


def round6(value: Decimal) -> Decimal:
    """The marts' final rounding: to the micro-USDC, half away from zero."""
    return value.quantize(Decimal("0.000001"), rounding=ROUND_HALF_UP)


def _amount(raw: str | int) -> Decimal:
    return Decimal(int(raw)) / MICRO


SUBGRAPH, CHAIN = 0, 1  # where an event was read: its rank within one timestamp


def subgraph_order(event_id: str) -> tuple:
    """Within one timestamp, subgraph events come first, by id (compared as bytes)..."""
    return (SUBGRAPH, event_id)


def chain_order(block_number: int, log_index: int) -> tuple:
    """...then chain events, in chain order (never by their text id)."""
    return (CHAIN, int(block_number), int(log_index))


@dataclass
class Event:
    """One event of one position; `quantity` None means all held shares (a redemption)."""

    ts: int
    order: tuple  # subgraph_order or chain_order: the order within one timestamp
    kind: str  # buy, sell, split, merge, redemption, conversion
    quantity: Decimal | None
    cost: Decimal = Decimal(0)  # what an increase pays
    price: Decimal = Decimal(0)  # what a decrease realizes per share
    cash: Decimal = Decimal(0)  # USDC received minus paid
    usdc: Decimal = Decimal(0)  # fill volume
    received: bool = False  # a conversion's leg: shares received (else given)

    @property
    def increases(self) -> bool:
        return self.kind in ("buy", "split") or (self.kind == "conversion" and self.received)


@dataclass
class State:
    ts: int
    shares: Decimal
    avg_price: Decimal
    realized: Decimal


@dataclass
class Position:
    trader: str
    token: str
    events: list[Event] = field(default_factory=list)
    states: list[State] = field(default_factory=list)
    applied: dict[str, Decimal] = field(default_factory=lambda: defaultdict(Decimal))
    realized_by_event: list[Decimal] = field(default_factory=list)
    capped: int = 0  # decreases asking for more shares than held

    def fold(self) -> None:
        """Apply the events in event order: capped decreases, average cost."""
        self.events.sort(key=lambda e: (e.ts, e.order))
        shares = avg = realized = Decimal(0)
        for e in self.events:
            delta = Decimal(0)
            if e.increases:
                qty = e.quantity
                if qty > 0:
                    avg = (avg * shares + e.cost) / (shares + qty)
                    shares += qty
            else:
                if e.quantity is not None and e.quantity > shares:
                    self.capped += 1
                qty = shares if e.quantity is None else min(e.quantity, shares)
                delta = qty * (e.price - avg)
                realized += delta
                shares -= qty
            self.applied[e.kind] += qty
            self.realized_by_event.append(delta)
            self.states.append(State(e.ts, shares, avg, realized))
        self._state_times = [s.ts for s in self.states]

    def state_at(self, t: int) -> State | None:
        """The state after the last event at or before t."""
        i = bisect.bisect_right(self._state_times, t)
        return self.states[i - 1] if i else None


class Marks:
    """Token marks: payout from resolved_at on, else the last fill price at or before t."""

    def __init__(self, fills: list[dict], tokens: dict, resolved_at: dict[str, int]):
        by_token: dict[str, list[tuple[int, tuple, Decimal]]] = defaultdict(list)
        for f in fills:
            if f["shares"] > 0:
                by_token[f["token"]].append((f["ts"], f["order"], f["usdc"] / f["shares"]))
        self.prices = {}
        for token, rows in by_token.items():
            rows.sort(key=lambda r: (r[0], r[1]))
            self.prices[token] = ([r[0] for r in rows], [r[2] for r in rows])
        self.tokens = tokens
        self.resolved_at = resolved_at

    def at(self, token: str, t: int) -> Decimal | None:
        info = self.tokens.get(token)
        if info and info["payout"] is not None:
            resolved_at = self.resolved_at[info["condition"]]
            if t >= resolved_at:
                return info["payout"]
        if token in self.prices:
            times, prices = self.prices[token]
            i = bisect.bisect_right(times, t)
            if i:
                return prices[i - 1]
        return None


@dataclass
class Reference:
    as_of: int
    traders_v2: dict[str, dict]
    trader_markets: dict[tuple[str, str], dict]
    trader_stats: dict[tuple[str, dt.date], dict]
    leaderboard: dict[tuple[str, str], dict]
    positions: dict[tuple[str, str], Position]
    # (wallet, category) -> traders_v2's leaderboard columns over that category's positions
    trader_categories: dict[tuple[str, str], dict]


def compute(
    entities: Mapping[str, Iterable[dict]],
    excluded: Iterable[str] = DEFAULT_EXCLUDED,
    min_trades: int = 10,
    min_volume: Decimal | int = 100,
) -> Reference:
    with localcontext() as ctx:
        ctx.prec = PRECISION
        return _compute(entities, {a.lower() for a in excluded}, min_trades, Decimal(min_volume))


def _conditions(entities: Mapping[str, Iterable[dict]]) -> list[dict]:
    """One condition per id: the pnl subgraph's, else the chain's preparation; its payouts from
    the subgraph where it has them, else from the chain's resolution (sum of numerators)."""
    chain_payouts = {
        r["condition_id"].lower(): [int(x) for x in r["payout_numerators"]]
        for r in entities.get("chain_condition_resolutions", [])
    }
    conditions: dict[str, dict] = {}
    for p in entities.get("chain_condition_preparations", []):
        conditions[p["condition_id"].lower()] = {
            "positions": [str(x) for x in p["position_ids"]],
            "numerators": [],
            "denominator": 0,
        }
    for c in entities.get("conditions", []):
        conditions[c["id"].lower()] = {
            "positions": [str(x) for x in c["positionIds"]],
            "numerators": [int(x) for x in c["payoutNumerators"]],
            "denominator": int(c["payoutDenominator"] or 0),
        }
    for condition_id, numerators in chain_payouts.items():
        known = conditions.get(condition_id)
        if known is not None and known["denominator"] == 0:
            known["numerators"], known["denominator"] = numerators, sum(numerators)
    return [{"id": k, **v} for k, v in conditions.items()]


def _tokens(entities: Mapping[str, Iterable[dict]]) -> dict[str, dict]:
    tokens: dict[str, dict] = {}
    for c in _conditions(entities):
        ids = c["positions"]
        numerators = c["numerators"]
        denominator = c["denominator"]
        for i, token in enumerate(ids):
            numerator = numerators[i] if i < len(numerators) else 0
            tokens[str(token)] = {
                "condition": c["id"],
                "index": i,
                "outcomes": len(ids),
                "numerator": numerator if denominator > 0 else None,
                "payout": Decimal(numerator) / Decimal(denominator) if denominator > 0 else None,
            }
    by_condition: dict[str, list[dict]] = defaultdict(list)
    for m in entities.get("market_data", []):
        if m["id"] not in tokens:
            by_condition[m["condition"].lower()].append(m)
    for condition, rows in by_condition.items():
        for m in rows:
            tokens[m["id"]] = {
                "condition": condition,
                "index": None if m.get("outcomeIndex") is None else int(m["outcomeIndex"]),
                "outcomes": len(rows),
                "numerator": None,
                "payout": None,
            }
    return tokens


def _adapter_operations(entities, excluded) -> dict[str, list[dict]]:
    """The collateral adapters' operations attributed to their users (DESIGN section 2, "V2
    position operations"), by kind, in the shape of the activity subgraph's rows plus their
    chain `order`; a conversion carries its `legs` (token, shares, received).

    Each CTF transfer between an adapter and an outside party (not a hop: ADAPTER_HOPS) belongs
    to the operation of that adapter in its transaction whose log is nearest; an operation's
    user is the counterparty of its nearest such transfer. An operation whose user is an
    excluded address (an exchange: a MINT or MERGE settlement leg) is no user's and dropped."""
    operations = entities.get("chain_position_operations", [])
    by_tx: dict[str, list[dict]] = defaultdict(list)
    for o in operations:
        by_tx[o["transaction_hash"]].append(o)
    transfers_of: dict[tuple, list[tuple[dict, str, bool]]] = defaultdict(list)
    for t in entities.get("chain_adapter_transfers", []):
        sender, receiver = t["from_address"].lower(), t["to_address"].lower()
        options = []
        for o in by_tx.get(t["transaction_hash"], []):
            adapter = o["stakeholder"].lower()
            if adapter not in (sender, receiver):
                continue
            counterparty = receiver if sender == adapter else sender
            if counterparty in ADAPTER_HOPS:
                continue
            distance = abs(int(t["log_index"]) - int(o["log_index"]))
            options.append((distance, int(o["log_index"]), o, counterparty, sender == adapter))
        if options:
            _, _, o, counterparty, from_adapter = min(options, key=lambda x: (x[0], x[1]))
            transfers_of[(o["transaction_hash"], o["log_index"])].append(
                (t, counterparty, from_adapter)
            )
    result: dict[str, list[dict]] = {k: [] for k in ("split", "merge", "redemption", "conversion")}
    for o in operations:
        assigned = transfers_of.get((o["transaction_hash"], o["log_index"]))
        if not assigned:
            continue
        nearest = min(
            assigned,
            key=lambda a: (abs(int(a[0]["log_index"]) - int(o["log_index"])), a[0]["log_index"]),
        )
        trader = nearest[1]
        if trader in excluded:
            continue
        row = {
            "id": f"{o['transaction_hash']}_{o['log_index']}",
            "order": chain_order(o["block_number"], o["log_index"]),
            "timestamp": int(o["block_time"]),
            "stakeholder": trader,
            "redeemer": trader,
            "trader": trader,
            "condition": o["condition_id"] or "",
            "amount": o["amount"],
            "indexSets": o["index_sets"],
            "payout": o["payout"],
        }
        if o["operation"] == "conversion":
            row["legs"] = [
                (str(token), _amount(amount), from_adapter)
                for t, counterparty, from_adapter in assigned
                if counterparty == trader
                for token, amount in zip(t["token_ids"], t["amounts"], strict=True)
            ]
        result[o["operation"]].append(row)
    return result


def _win_rate(wins: int, losses: int) -> Decimal | None:
    return Decimal(100) * wins / (wins + losses) if wins + losses else None


def _window_outcomes(
    name: str, start: int, as_of: int, closed: Mapping[tuple, tuple[int, Decimal]], outcomes
) -> dict:
    """wins_W, losses_W, win_rate_W: the trader-markets closed in (start, as_of]."""
    in_window = [outcomes[m] for m, (closed_at, _) in closed.items() if start < closed_at <= as_of]
    wins, losses = in_window.count("win"), in_window.count("loss")
    return {
        f"wins_{name}": wins,
        f"losses_{name}": losses,
        f"win_rate_{name}": _win_rate(wins, losses),
    }


def _risk(closed: Mapping[tuple, tuple[int, Decimal]], outcomes, curve: list[Decimal]) -> dict:
    """Profit factor, average win and loss, best and worst market over the closed
    trader-markets; the largest fall of the cumulative PnL curve from an earlier peak."""
    won = [total for m, (_, total) in closed.items() if outcomes[m] == "win"]
    lost = [total for m, (_, total) in closed.items() if outcomes[m] == "loss"]
    drawdown = peak = Decimal(0)
    for i, value in enumerate(curve):
        peak = value if i == 0 else max(peak, value)
        drawdown = max(drawdown, peak - value)
    best = min(closed.items(), key=lambda kv: (-kv[1][1], kv[0][1]), default=None)
    worst = min(closed.items(), key=lambda kv: (kv[1][1], kv[0][1]), default=None)
    return {
        "profit_factor": sum(won, Decimal(0)) / -sum(lost, Decimal(0)) if lost else None,
        "avg_win": sum(won, Decimal(0)) / len(won) if won else None,
        "avg_loss": sum(lost, Decimal(0)) / len(lost) if lost else None,
        "max_drawdown": drawdown,
        "best_market": best[0][1] if best else None,
        "best_market_pnl": best[1][1] if best else None,
        "worst_market": worst[0][1] if worst else None,
        "worst_market_pnl": worst[1][1] if worst else None,
    }


def _compute(entities, excluded, min_trades, min_volume) -> Reference:
    tokens = _tokens(entities)
    condition_tokens: dict[str, list[tuple[str, dict]]] = defaultdict(list)
    for token, info in tokens.items():
        condition_tokens[info["condition"]].append((token, info))

    fills = []
    for f in entities.get("order_filled_events", []):
        buy = f["makerAssetId"] == "0"
        fills.append(
            {
                "order": subgraph_order(f["id"]),
                "version": 1,
                "ts": int(f["timestamp"]),
                "maker": f["maker"].lower(),
                "side": "BUY" if buy else "SELL",
                "token": f["takerAssetId"] if buy else f["makerAssetId"],
                "usdc": _amount(f["makerAmountFilled"] if buy else f["takerAmountFilled"]),
                "shares": _amount(f["takerAmountFilled"] if buy else f["makerAmountFilled"]),
                "fee": _amount(f["fee"]),
            }
        )
    # V2: the log's own side and token; BUY pays maker amount for taker amount, SELL the reverse
    for f in entities.get("chain_order_filled", []):
        buy = f["side"] == "BUY"
        fills.append(
            {
                "order": chain_order(f["block_number"], f["log_index"]),
                "version": 2,
                "ts": int(f["block_time"]),
                "maker": f["maker"].lower(),
                "side": f["side"],
                "token": str(f["token_id"]),
                "usdc": _amount(f["maker_amount_filled"] if buy else f["taker_amount_filled"]),
                "shares": _amount(f["taker_amount_filled"] if buy else f["maker_amount_filled"]),
                "fee": _amount(f["fee"]),
            }
        )
    operations = _adapter_operations(entities, excluded)
    splits = [*entities.get("splits", []), *operations["split"]]
    merges = [*entities.get("merges", []), *operations["merge"]]
    redemptions = [*entities.get("redemptions", []), *operations["redemption"]]
    # every adapter operation, attributed or not, is an event time; its redemptions count
    # for a condition's first redemption
    chain_operations = entities.get("chain_position_operations", [])

    chain_resolved_at = {
        r["condition_id"].lower(): int(r["block_time"])
        for r in entities.get("chain_condition_resolutions", [])
    }
    event_times = (
        [f["ts"] for f in fills]
        + [int(e["timestamp"]) for e in (*splits, *merges, *redemptions)]
        + list(chain_resolved_at.values())
        + [int(o["block_time"]) for o in chain_operations]
    )
    as_of = max(event_times)

    # resolved_at: the chain's resolution time, else the first redemption, else its last fill
    first_redemption: dict[str, int] = {}
    redemption_times = [
        (r["condition"], int(r["timestamp"])) for r in entities.get("redemptions", [])
    ]
    redemption_times += [
        (o["condition_id"], int(o["block_time"]))
        for o in chain_operations
        if o["operation"] == "redemption"
    ]
    for condition, ts in redemption_times:
        c = condition.lower()
        first_redemption[c] = min(first_redemption.get(c, ts), ts)
    last_fill: dict[str, int] = {}
    for f in fills:
        info = tokens.get(f["token"])
        if info:
            c = info["condition"]
            last_fill[c] = max(last_fill.get(c, f["ts"]), f["ts"])
    resolved_at = {
        c: chain_resolved_at.get(c, first_redemption.get(c, last_fill.get(c, 0)))
        for c, rows in condition_tokens.items()
        if any(info["payout"] is not None for _, info in rows)
    }
    marks = Marks(fills, tokens, resolved_at)

    positions: dict[tuple[str, str], Position] = {}

    def position(trader: str, token: str) -> Position:
        key = (trader, token)
        if key not in positions:
            positions[key] = Position(trader, token)
        return positions[key]

    attributed = [f for f in fills if f["maker"] not in excluded]
    for f in attributed:
        if f["side"] == "BUY" and f["version"] == 1:  # the fee comes out of the shares
            e = Event(f["ts"], f["order"], "buy", f["shares"] - f["fee"], cost=f["usdc"])
            e.cash = -f["usdc"]
        elif f["side"] == "BUY":  # V2: the fee is paid in collateral on top
            e = Event(f["ts"], f["order"], "buy", f["shares"], cost=f["usdc"] + f["fee"])
            e.cash = -(f["usdc"] + f["fee"])
        else:
            price = (f["usdc"] - f["fee"]) / f["shares"] if f["shares"] > 0 else Decimal(0)
            e = Event(f["ts"], f["order"], "sell", f["shares"], price=price)
            e.cash = f["usdc"] - f["fee"]
        e.usdc = f["usdc"]
        position(f["maker"], f["token"]).events.append(e)

    for rows, kind in ((splits, "split"), (merges, "merge")):
        for s in rows:
            trader = s["stakeholder"].lower()
            if trader in excluded:
                continue
            amount = _amount(s["amount"])
            order = s.get("order") or subgraph_order(s["id"])
            outcome_tokens = condition_tokens.get(s["condition"].lower(), [])
            for token, info in outcome_tokens:
                n = Decimal(info["outcomes"])
                if kind == "split":
                    e = Event(int(s["timestamp"]), order, kind, amount, cost=amount / n)
                    e.cash = -amount / n
                else:
                    e = Event(int(s["timestamp"]), order, kind, amount, price=1 / n)
                    e.cash = amount / n
                position(trader, token).events.append(e)

    for r in redemptions:
        trader = r["redeemer"].lower()
        if trader in excluded:
            continue
        index_sets = [int(x) for x in r["indexSets"]]
        redeemed = [
            (token, info)
            for token, info in condition_tokens.get(r["condition"].lower(), [])
            if info["payout"] is not None
            and info["index"] is not None
            and any((b >> info["index"]) & 1 for b in index_sets)
        ]
        numerator_total = sum(info["numerator"] for _, info in redeemed)
        payout = _amount(r["payout"])
        for token, info in redeemed:
            e = Event(
                int(r["timestamp"]), r.get("order") or subgraph_order(r["id"]), "redemption", None,
                price=info["payout"],
            )  # fmt: skip
            e.cash = payout * info["numerator"] / numerator_total if numerator_total else Decimal(0)
            position(trader, token).events.append(e)

    # neg-risk conversions: of n questions (those whose NO shares it takes plus those whose YES
    # shares it gives), each NO share given sells at (n - 1) / n, each YES share received is
    # bought at 1 / n
    for c in operations["conversion"]:
        n = Decimal(len({token for token, _, _ in c["legs"]}))
        for token, amount, received in c["legs"]:
            if received:
                e = Event(c["timestamp"], c["order"], "conversion", amount, cost=amount / n)
                e.cash, e.received = -amount / n, True
            else:
                e = Event(c["timestamp"], c["order"], "conversion", amount, price=(n - 1) / n)
                e.cash = amount * (n - 1) / n
            position(c["trader"], token).events.append(e)

    # a redemption names outcomes by index set: an outcome the trader never held (no other
    # event on it) is no position
    for key in [k for k, p in positions.items() if all(e.kind == "redemption" for e in p.events)]:
        del positions[key]
    for p in positions.values():
        p.fold()

    def equity(p: Position, t: int) -> Decimal:
        s = p.state_at(t)
        if s is None:
            return Decimal(0)
        mark = marks.at(p.token, t)
        mark = s.avg_price if mark is None else mark
        return s.realized + s.shares * (mark - s.avg_price)

    # trader_markets ------------------------------------------------------------------------
    trader_markets: dict[tuple[str, str], dict] = {}
    market_of = {}
    for key, p in positions.items():
        info = tokens.get(p.token)
        s = p.states[-1]
        mark = marks.at(p.token, as_of)
        mark = s.avg_price if mark is None else mark
        unrealized = s.shares * (mark - s.avg_price)
        fills_here = [e for e in p.events if e.kind in ("buy", "sell")]
        resolved = bool(info and info["condition"] in resolved_at)
        has_redemption = any(e.kind == "redemption" for e in p.events)
        if has_redemption:
            status = "redeemed"
        elif resolved:
            status = "resolved"
        elif s.shares == 0:
            status = "closed"
        else:
            status = "open"
        market_of[key] = info["condition"] if info else p.token
        trader_markets[key] = {
            "wallet_address": p.trader,
            "token_id": p.token,
            "condition_id": info["condition"] if info else None,
            "outcome_index": info["index"] if info else None,
            "shares": s.shares,
            "avg_price": s.avg_price,
            "cost_basis": s.shares * s.avg_price,
            "mark_price": mark,
            "current_value": s.shares * mark,
            "realized_pnl": s.realized,
            "unrealized_pnl": unrealized,
            "total_pnl": s.realized + unrealized,
            "cash_flow": sum((e.cash for e in p.events), Decimal(0)),
            "bought_shares": p.applied["buy"],
            "sold_shares": p.applied["sell"],
            "split_shares": p.applied["split"],
            "merged_shares": p.applied["merge"],
            "redeemed_shares": p.applied["redemption"],
            "volume": sum((e.usdc for e in fills_here), Decimal(0)),
            "trades": len(fills_here),
            "v2_trades": sum(1 for e in fills_here if e.order[0] == CHAIN),
            "first_trade_at": min((e.ts for e in fills_here), default=None),
            "last_trade_at": max((e.ts for e in fills_here), default=None),
            "first_activity_at": p.events[0].ts,
            "last_activity_at": p.events[-1].ts,
            "status": status,
            "_resolved": resolved,
        }
    markets: dict[tuple[str, str], list[dict]] = defaultdict(list)
    for key, row in trader_markets.items():
        markets[(row["wallet_address"], market_of[key])].append(row)
    market_outcomes = {}
    # (wallet, market) -> (closed_at, exact total PnL) of the closed trader-markets: closed at
    # the condition's resolution, else at the last event once every share is gone
    closed_markets: dict[tuple[str, str], tuple[int, Decimal]] = {}
    for mkey, rows in markets.items():
        resolved = any(r["_resolved"] for r in rows)
        emptied = all(r["shares"] == 0 for r in rows)
        exact_total = sum((r["total_pnl"] for r in rows), Decimal(0))
        total = round6(exact_total)
        if not (resolved or emptied):
            outcome = "open"
        elif total > 0:
            outcome = "win"
        elif total < 0:
            outcome = "loss"
        else:
            outcome = "flat"
        market_outcomes[mkey] = outcome
        if resolved:
            closed_markets[mkey] = (resolved_at[rows[0]["condition_id"]], exact_total)
        elif emptied:
            closed_markets[mkey] = (max(r["last_activity_at"] for r in rows), exact_total)
        for r in rows:
            r["market_outcome"] = outcome
    metadata = market_metadata(entities)
    for key, row in trader_markets.items():
        del row["_resolved"]
        meta = metadata.get(row["condition_id"]) if row["condition_id"] else None
        row["question"] = meta["question"] if meta else market_of[key]
        row["outcome_label"] = meta["labels"].get(row["token_id"]) if meta else None
        for column in ("market_slug", "event_title", "event_slug", "category"):
            row[column] = meta[column] if meta else None
        row["icon_url"] = meta["icon_url"] if meta else None
        row["market_url"] = meta["market_url"] if meta else None

    closed_by_trader: dict[str, dict] = defaultdict(dict)
    for mkey, closed in closed_markets.items():
        closed_by_trader[mkey[0]][mkey] = closed

    # traders_v2 ------------------------------------------------------------------------------
    by_trader: dict[str, list[Position]] = defaultdict(list)
    for p in positions.values():
        by_trader[p.trader].append(p)
    fills_by_trader: dict[str, list[dict]] = defaultdict(list)
    for f in attributed:
        fills_by_trader[f["maker"]].append(f)
    traders: dict[str, dict] = {}
    for trader, plist in by_trader.items():
        tf = fills_by_trader.get(trader, [])
        rows = [trader_markets[(trader, p.token)] for p in plist]
        outcomes = [o for (w, _), o in market_outcomes.items() if w == trader]
        trader_closed = closed_by_trader[trader]
        wins, losses = outcomes.count("win"), outcomes.count("loss")
        total = sum((equity(p, as_of) for p in plist), Decimal(0))
        row = {
            "wallet_address": trader,
            "first_trade_at": min((f["ts"] for f in tf), default=None),
            "last_trade_at": max((f["ts"] for f in tf), default=None),
            "first_activity_at": min(p.events[0].ts for p in plist),
            "last_activity_at": max(p.events[-1].ts for p in plist),
            "trades": len(tf),
            "volume": sum((f["usdc"] for f in tf), Decimal(0)),
            "realized_pnl": sum((r["realized_pnl"] for r in rows), Decimal(0)),
            "unrealized_pnl": sum((r["unrealized_pnl"] for r in rows), Decimal(0)),
            "total_pnl": total,
            "wins": wins,
            "losses": losses,
            "win_rate": _win_rate(wins, losses),
            "markets_traded": len({market_of[(trader, p.token)] for p in plist}),
            "open_positions": sum(1 for r in rows if r["status"] == "open"),
        }
        for name, seconds in WINDOWS.items():
            start = as_of - seconds
            row[f"pnl_{name}"] = total - sum((equity(p, start) for p in plist), Decimal(0))
            in_window = [f for f in tf if start < f["ts"] <= as_of]
            row[f"volume_{name}"] = sum((f["usdc"] for f in in_window), Decimal(0))
            row[f"trades_{name}"] = len(in_window)
            row.update(_window_outcomes(name, start, as_of, trader_closed, market_outcomes))
        traders[trader] = row

    # trader_stats ----------------------------------------------------------------------------
    trader_stats: dict[tuple[str, dt.date], dict] = {}
    for trader, plist in by_trader.items():
        days: dict[int, dict] = defaultdict(
            lambda: {
                "trades": 0,
                "buy_volume": Decimal(0),
                "sell_volume": Decimal(0),
                "cash_flow": Decimal(0),
                "realized_pnl": Decimal(0),
            }
        )
        for p in plist:
            for e, delta in zip(p.events, p.realized_by_event, strict=True):
                d = days[e.ts // DAY]
                d["cash_flow"] += e.cash
                d["realized_pnl"] += delta
                if e.kind in ("buy", "sell"):
                    d["trades"] += 1
                    d["buy_volume" if e.kind == "buy" else "sell_volume"] += e.usdc
        cumulative_cash = cumulative_realized = previous = Decimal(0)
        peak = drawdown = None
        for day in sorted(days):
            d = days[day]
            eod = day * DAY + DAY - 1
            cumulative_cash += d["cash_flow"]
            cumulative_realized += d["realized_pnl"]
            unrealized = value = Decimal(0)
            open_positions = 0
            for p in plist:
                s = p.state_at(eod)
                if s is None or s.shares <= 0:
                    continue
                mark = marks.at(p.token, eod)
                mark = s.avg_price if mark is None else mark
                unrealized += s.shares * (mark - s.avg_price)
                value += s.shares * mark
                open_positions += 1
            cumulative_pnl = cumulative_realized + unrealized
            peak = cumulative_pnl if peak is None else max(peak, cumulative_pnl)
            drawdown = max(drawdown or Decimal(0), peak - cumulative_pnl)
            date = dt.date(1970, 1, 1) + dt.timedelta(days=day)
            trader_stats[(trader, date)] = {
                "wallet_address": trader,
                "day": date,
                **d,
                "volume": d["buy_volume"] + d["sell_volume"],
                "pnl": cumulative_pnl - previous,
                "cumulative_realized_pnl": cumulative_realized,
                "unrealized_pnl": unrealized,
                "cumulative_pnl": cumulative_pnl,
                "position_value": value,
                "end_of_day_equity": cumulative_cash + value,
                "open_positions": open_positions,
                "peak_pnl": peak,
                "max_drawdown": drawdown,
                "cumulative_cash_flow_e24": cumulative_cash * E24,
                "cumulative_realized_pnl_e24": cumulative_realized * E24,
            }
            previous = cumulative_pnl

    # trader risk: from the closed trader-markets and the end-of-active-day cumulative PnL
    curves: dict[str, list[tuple[dt.date, Decimal]]] = defaultdict(list)
    for (trader, day), stats in trader_stats.items():
        curves[trader].append((day, stats["cumulative_pnl"]))
    for trader, row in traders.items():
        trader_closed = closed_by_trader[trader]
        curve = [value for _, value in sorted(curves[trader])] + [row["total_pnl"]]
        row.update(_risk(trader_closed, market_outcomes, curve))

    # leaderboard -----------------------------------------------------------------------------
    leaderboard: dict[tuple[str, str], dict] = {}
    for window in ("all", *WINDOWS):
        suffix = "" if window == "all" else f"_{window}"
        eligible = []
        for t in traders.values():
            pnl = t["total_pnl"] if window == "all" else t[f"pnl{suffix}"]
            volume = t["volume" if window == "all" else f"volume{suffix}"]
            trades = t["trades" if window == "all" else f"trades{suffix}"]
            if trades >= min_trades and volume >= min_volume:
                eligible.append((t["wallet_address"], round6(pnl), pnl, volume, trades))
        for wallet, rounded, pnl, volume, trades in eligible:
            leaderboard[(window, wallet)] = {
                "time_window": window,
                "wallet_address": wallet,
                "pnl": pnl,
                "volume": volume,
                "trades": trades,
                **{
                    column: traders[wallet][column if window == "all" else f"{column}{suffix}"]
                    for column in ("wins", "losses", "win_rate")
                },
                "pnl_rank": 1 + sum(1 for e in eligible if e[1] > rounded),
                "volume_rank": 1 + sum(1 for e in eligible if e[3] > volume),
            }

    # trader_categories ------------------------------------------------------------------------
    # the positions whose condition has a leaderboard category, grouped by (trader, category)
    by_category: dict[tuple[str, str], list[Position]] = defaultdict(list)
    for key, p in positions.items():
        category = trader_markets[key]["category"]
        if category is not None:
            by_category[(p.trader, category)].append(p)
    trader_categories: dict[tuple[str, str], dict] = {}
    for (trader, category), plist in by_category.items():
        tokens_here = {p.token for p in plist}
        tf = [f for f in fills_by_trader.get(trader, []) if f["token"] in tokens_here]
        outcomes = {
            market_of[(trader, p.token)]: trader_markets[(trader, p.token)]["market_outcome"]
            for p in plist
        }
        wins = sum(1 for o in outcomes.values() if o == "win")
        losses = sum(1 for o in outcomes.values() if o == "loss")
        total = sum((equity(p, as_of) for p in plist), Decimal(0))
        row = {
            "wallet_address": trader,
            "category": category,
            "last_trade_at": max((f["ts"] for f in tf), default=None),
            "trades": len(tf),
            "volume": sum((f["usdc"] for f in tf), Decimal(0)),
            "total_pnl": total,
            "wins": wins,
            "losses": losses,
            "win_rate": _win_rate(wins, losses),
            "markets_traded": len(outcomes),
        }
        category_closed = {
            (trader, m): closed_markets[(trader, m)]
            for m in outcomes
            if (trader, m) in closed_markets
        }
        for name, seconds in WINDOWS.items():
            start = as_of - seconds
            row[f"pnl_{name}"] = total - sum((equity(p, start) for p in plist), Decimal(0))
            in_window = [f for f in tf if start < f["ts"] <= as_of]
            row[f"volume_{name}"] = sum((f["usdc"] for f in in_window), Decimal(0))
            row[f"trades_{name}"] = len(in_window)
            row.update(_window_outcomes(name, start, as_of, category_closed, market_outcomes))
        trader_categories[(trader, category)] = row

    return Reference(
        as_of, traders, trader_markets, trader_stats, leaderboard, positions, trader_categories
    )

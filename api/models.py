"""Response and parameter models of the API (what /docs shows)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Annotated

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    PlainSerializer,
    SerializationInfo,
    WithJsonSchema,
    computed_field,
)

WALLET_PATTERN = r"^0x[0-9a-fA-F]{40}$"
WALLET_EXAMPLE = "0x56687bf447db6ffa42ffe2204a05edaa20f55839"
WALLET_HELP = "a wallet address: '0x' followed by 40 hexadecimal digits (any case)"


class DecimalFormat(StrEnum):
    """How an answer writes the marts' decimals (the `decimals` query parameter)."""

    number = "number"
    string = "string"


DECIMAL_STRING_PATTERN = r"^-?[0-9]+(\.[0-9]+)?$"


def _write_decimal(value: Decimal, info: SerializationInfo) -> float | str:
    # Most JSON readers turn a number into a float64, exact to about 15 significant digits:
    # USDC above ~9e9 loses its micro-dollars. The string keeps every digit the marts hold.
    if info.context is not None and info.context.get("decimals") == DecimalFormat.string:
        return format(value, "f")
    return float(value)


# An exact decimal of the marts: a JSON number by default, a decimal string with
# `decimals=string` (`"12345678901.123456"`).
ExactDecimal = Annotated[
    Decimal,
    PlainSerializer(_write_decimal, when_used="json"),
    WithJsonSchema(
        {"anyOf": [{"type": "number"}, {"type": "string", "pattern": DECIMAL_STRING_PATTERN}]}
    ),
]
Money = ExactDecimal  # USDC, 6 decimals in the marts
Shares = ExactDecimal  # outcome tokens, 6 decimals
Price = ExactDecimal  # USDC per share in [0, 1], 18 decimals
Percent = ExactDecimal  # win rates, 0-100, 6 decimals
Ratio = ExactDecimal  # profit factors, 6 decimals


def dump_json(body: BaseModel, decimals: DecimalFormat) -> bytes:
    return body.model_dump_json(context={"decimals": decimals}).encode()


def _in_utc(value: datetime) -> datetime:
    # The warehouses hand timestamps back in their session's zone (DuckDB: the host's,
    # PostgreSQL: the server's or PGTZ); answers are UTC whatever the host. The marts store
    # instants, so a value without a zone is already UTC.
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


# An instant, always written in UTC with a `Z` (2026-04-20T15:04:05Z).
UtcDatetime = Annotated[datetime, AfterValidator(_in_utc)]


class Timeframe(StrEnum):
    d1 = "1d"
    d7 = "7d"
    d30 = "30d"
    all = "all"


class Category(StrEnum):
    """Polymarket's leaderboard categories (dbt_project/macros/categories.sql)."""

    politics = "politics"
    sports = "sports"
    crypto = "crypto"
    economics = "economics"
    finance = "finance"
    tech = "tech"
    culture = "culture"
    weather = "weather"
    mentions = "mentions"


class SortBy(StrEnum):
    pnl = "pnl"
    volume = "volume"
    win_rate = "win_rate"
    trades = "trades"


class Era(StrEnum):
    v1 = "v1"
    v2 = "v2"
    both = "v1+v2"


class Order(StrEnum):
    desc = "desc"
    asc = "asc"


class PositionStatus(StrEnum):
    all = "all"
    open = "open"
    closed = "closed"
    resolved = "resolved"
    redeemed = "redeemed"


class PositionSort(StrEnum):
    last_activity = "last_activity"
    market = "market"
    status = "status"
    shares = "shares"
    avg_price = "avg_price"
    mark_price = "mark_price"
    realized_pnl = "realized_pnl"
    unrealized_pnl = "unrealized_pnl"
    total_pnl = "total_pnl"


class MarketOutcome(StrEnum):
    win = "win"
    loss = "loss"
    flat = "flat"
    open = "open"


class _Public(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class LeaderboardEntryPublic(_Public):
    rank: int = Field(description="SQL RANK() by the sort column: ties share a rank.", examples=[1])
    wallet_address: str = Field(description="Lower-case wallet address.", examples=[WALLET_EXAMPLE])
    total_pnl: Money = Field(
        description="PnL over the timeframe in USDC: equity(as_of) - equity(as_of - window); "
        "lifetime realized + unrealized PnL for `all`.",
        examples=[1523.25],
    )
    volume: Money = Field(
        description="USDC of the trader's fills in the timeframe.", examples=[9000]
    )
    total_trades: int = Field(description="Fills in the timeframe.", examples=[42])
    win_rate: Percent | None = Field(
        description="100 x wins / (wins + losses) of the timeframe, 0-100; null with none "
        "closed in it.",
        examples=[62.5],
    )
    wins: int = Field(
        description="Trader-markets closed in the timeframe with PnL > 0 (every closed one for "
        "`all`); a trader-market closes when its condition resolves, else when its last share "
        "goes.",
        examples=[5],
    )
    losses: int = Field(
        description="Trader-markets closed in the timeframe with PnL < 0.", examples=[3]
    )
    markets_traded: int = Field(description="Distinct markets (conditions) touched.", examples=[8])
    last_trade_at: UtcDatetime | None = Field(description="Time of the trader's newest fill.")


class LeaderboardPublic(_Public):
    traders: list[LeaderboardEntryPublic] = Field(description="One page, in rank order.")
    total: int = Field(description="Eligible traders in the timeframe.", examples=[1250])
    page: int = Field(description="This page, from 1.", examples=[1])
    limit: int = Field(description="Page size.", examples=[20])
    total_pages: int = Field(description="Pages at this page size.", examples=[63])
    timeframe: Timeframe
    category: Category | None = Field(
        None, description="The category ranked (its markets' positions only); null: all markets."
    )
    sort_by: SortBy
    order: Order
    min_trades: int = Field(description="Eligibility: at least this many fills in the window.")
    min_volume: Money = Field(description="Eligibility: at least this much USDC in the window.")
    as_of: UtcDatetime | None = Field(
        description="Data watermark: newest extracted event time; windows end here."
    )


class TraderPublic(_Public):
    wallet_address: str = Field(examples=[WALLET_EXAMPLE], description="Lower-case address.")
    first_trade_at: UtcDatetime | None = Field(description="Oldest fill.")
    last_trade_at: UtcDatetime | None = Field(description="Newest fill.")
    first_activity_at: UtcDatetime | None = Field(
        description="Oldest fill, split, merge or redemption."
    )
    last_activity_at: UtcDatetime | None = Field(
        description="Newest fill, split, merge or redemption."
    )
    total_trades: int = Field(description="Lifetime fills.", examples=[120])
    total_volume: Money = Field(description="Lifetime USDC of fills.", examples=[45000.5])
    realized_pnl: Money = Field(description="Realized PnL in USDC.", examples=[800.0])
    unrealized_pnl: Money = Field(
        description="shares x (mark - avg_price), summed.", examples=[-12.5]
    )
    total_pnl: Money = Field(description="realized + unrealized.", examples=[787.5])
    wins: int = Field(description="Closed trader-markets won.", examples=[5])
    losses: int = Field(description="Closed trader-markets lost.", examples=[3])
    win_rate: Percent | None = Field(description="100 x wins / (wins + losses).", examples=[62.5])
    markets_traded: int = Field(description="Distinct markets touched.", examples=[8])
    open_positions: int = Field(description="Positions still holding shares.", examples=[2])


class TraderMetricsPublic(_Public):
    pnl_1d: Money = Field(description="PnL over the day ending at as_of.", examples=[12.0])
    pnl_7d: Money = Field(description="PnL over the 7 days ending at as_of.", examples=[150.0])
    pnl_30d: Money = Field(description="PnL over the 30 days ending at as_of.", examples=[420.0])
    pnl_all: Money = Field(description="Lifetime PnL (total_pnl).", examples=[787.5])
    volume_1d: Money = Field(description="USDC of fills in the last day.")
    volume_7d: Money = Field(description="USDC of fills in the last 7 days.")
    volume_30d: Money = Field(description="USDC of fills in the last 30 days.")
    volume_all: Money = Field(description="Lifetime USDC of fills.")
    trades_1d: int = Field(description="Fills in the last day.")
    trades_7d: int = Field(description="Fills in the last 7 days.")
    trades_30d: int = Field(description="Fills in the last 30 days.")
    trades_all: int = Field(description="Lifetime fills.")
    wins_1d: int = Field(description="Trader-markets closed in the last day with PnL > 0.")
    wins_7d: int = Field(description="Trader-markets closed in the last 7 days with PnL > 0.")
    wins_30d: int = Field(description="Trader-markets closed in the last 30 days with PnL > 0.")
    wins_all: int = Field(description="Closed trader-markets with PnL > 0 (wins).")
    losses_1d: int = Field(description="Trader-markets closed in the last day with PnL < 0.")
    losses_7d: int = Field(description="Trader-markets closed in the last 7 days with PnL < 0.")
    losses_30d: int = Field(description="Trader-markets closed in the last 30 days with PnL < 0.")
    losses_all: int = Field(description="Closed trader-markets with PnL < 0 (losses).")
    win_rate_1d: Percent | None = Field(
        description="100 x wins_1d / (wins_1d + losses_1d); null with none closed in the day."
    )
    win_rate_7d: Percent | None = Field(
        description="100 x wins_7d / (wins_7d + losses_7d); null with none closed in 7 days."
    )
    win_rate_30d: Percent | None = Field(
        description="100 x wins_30d / (wins_30d + losses_30d); null with none closed in 30 days."
    )
    win_rate_all: Percent | None = Field(description="The lifetime win_rate.", examples=[62.5])


class MarketResultPublic(_Public):
    market_id: str = Field(
        description="The condition id of the trader-market (a token id for a token without one)."
    )
    total_pnl: Money = Field(description="The trader's total PnL in it (all outcomes), USDC.")


class TraderRiskPublic(_Public):
    profit_factor: Ratio | None = Field(
        description="Total PnL of the winning closed trader-markets / |that of the losing "
        "ones|, to 1e-6; null without a loss.",
        examples=[1.8],
    )
    avg_win: Money | None = Field(
        description="Average total PnL of a winning trader-market; null without one."
    )
    avg_loss: Money | None = Field(
        description="Average total PnL of a losing trader-market (negative); null without one."
    )
    max_drawdown: Money = Field(
        description="Largest fall of cumulative total PnL from an earlier peak, over the "
        "trader's end-of-active-day values and as_of; USDC, >= 0.",
        examples=[120.5],
    )
    best_market: MarketResultPublic | None = Field(
        description="The closed trader-market with the highest total PnL; null with none closed."
    )
    worst_market: MarketResultPublic | None = Field(
        description="The closed trader-market with the lowest total PnL; null with none closed."
    )


class RankPublic(_Public):
    timeframe: Timeframe
    pnl_rank: int = Field(description="Rank by PnL among eligible traders (default thresholds).")
    volume_rank: int = Field(description="Rank by volume among eligible traders.")


class PositionPublic(_Public):
    token_id: str = Field(description="Outcome token id (decimal string).", examples=["1234"])
    condition_id: str | None = Field(description="The market (condition) of the token.")
    outcome_index: int | None = Field(description="Outcome of the token in its condition.")
    shares: Shares = Field(description="Shares held now.", examples=[100.0])
    avg_price: Price | None = Field(description="Average cost per share, 0-1.", examples=[0.42])
    cost_basis: Money | None = Field(description="shares x avg_price.")
    mark_price: Price | None = Field(description="Payout once resolved, else last fill price.")
    current_value: Money | None = Field(description="shares x mark_price.")
    realized_pnl: Money = Field(description="Realized PnL of the position.")
    unrealized_pnl: Money = Field(description="shares x (mark - avg_price).")
    total_pnl: Money = Field(description="realized + unrealized.")
    cash_flow: Money = Field(description="USDC received - USDC paid.")
    bought_shares: Shares = Field(description="Shares bought.")
    sold_shares: Shares = Field(description="Shares sold.")
    split_shares: Shares = Field(description="Shares received from splits.")
    merged_shares: Shares = Field(description="Shares merged back into USDC.")
    redeemed_shares: Shares = Field(description="Shares redeemed.")
    volume: Money = Field(description="USDC of the position's fills.")
    trades: int = Field(description="Fills of the position.")
    v2_trades: int = Field(description="Of those, fills on the V2 exchanges (from the chain).")
    first_trade_at: UtcDatetime | None = None
    last_trade_at: UtcDatetime | None = None
    first_activity_at: UtcDatetime | None = None
    last_activity_at: UtcDatetime | None = None
    status: str = Field(
        description="open (holding shares), closed (no shares left, market unresolved), "
        "resolved (market resolved), redeemed (redeemed for USDC).",
        examples=["open"],
    )
    market_outcome: str = Field(
        description="The trader-market's outcome: win, loss, flat, or open while not closed.",
        examples=["win"],
    )
    question: str | None = Field(
        None, description="The market's question (Gamma), or its condition id without metadata."
    )
    outcome_label: str | None = Field(
        None, description="The token's outcome label (Yes, No, a team...); null without metadata."
    )
    market_slug: str | None = Field(None, description="Gamma's slug of the market.")
    event_title: str | None = Field(None, description="Title of the market's event.")
    event_slug: str | None = Field(None, description="Slug of the market's event.")
    category: str | None = Field(
        None,
        description="Leaderboard category (politics, sports, crypto, ...).",
        examples=["crypto"],
    )
    icon_url: str | None = Field(None, description="The market's icon.")
    market_url: str | None = Field(None, description="The market's page on polymarket.com.")

    @computed_field(
        description="Which exchanges the position's fills are from: v1 (the subgraphs, before "
        "the 2026-04-28 cutover), v2 (the chain), v1+v2 (both traded the same tokens from the "
        "V2 deployment to the cutover); null without fills (splits and merges only)."
    )
    @property
    def era(self) -> Era | None:
        if self.trades == 0:
            return None
        if self.v2_trades == 0:
            return Era.v1
        return Era.v2 if self.v2_trades == self.trades else Era.both


class DailyStatPublic(_Public):
    day: date = Field(description="UTC day.")
    trades: int = Field(description="Fills that day.")
    buy_volume: Money = Field(description="USDC paid in buys that day.")
    sell_volume: Money = Field(description="USDC received in sells that day.")
    volume: Money = Field(description="buy_volume + sell_volume.")
    cash_flow: Money = Field(description="Net USDC received that day.")
    realized_pnl: Money = Field(description="PnL realized that day.")
    pnl: Money = Field(description="Change of cumulative_pnl since the previous active day.")
    cumulative_realized_pnl: Money = Field(description="Realized PnL to the end of the day.")
    unrealized_pnl: Money = Field(description="Unrealized PnL at the end of the day.")
    cumulative_pnl: Money = Field(
        description="Equity at the end of the day (realized + unrealized)."
    )
    position_value: Money = Field(description="Market value of shares held at the end of the day.")
    end_of_day_equity: Money = Field(description="Net cash flow to date + position_value.")
    open_positions: int = Field(description="Positions holding shares at the end of the day.")


class TraderDetailPublic(_Public):
    trader: TraderPublic
    category: Category | None = Field(
        None, description="The category `metrics` cover (its markets only); null: all markets."
    )
    metrics: TraderMetricsPublic
    risk: TraderRiskPublic = Field(
        description="The trader's risk over all its markets (whatever `category`), from its "
        "closed trader-markets and daily series."
    )
    ranks: list[RankPublic] = Field(
        description="The trader's places on the precomputed leaderboards it is eligible for."
    )
    recent_positions: list[PositionPublic] = Field(
        description="The 10 positions with the newest activity."
    )
    chart_data: list[DailyStatPublic] = Field(description="The last 30 active days, oldest first.")
    as_of: UtcDatetime | None = Field(description="Data watermark.")


class TraderStatisticsPublic(_Public):
    wallet_address: str = Field(examples=[WALLET_EXAMPLE])
    date_from: date | None = Field(description="First day requested (inclusive).")
    date_to: date | None = Field(description="Last day requested (inclusive).")
    series: list[DailyStatPublic] = Field(description="One entry per active UTC day, oldest first.")
    as_of: UtcDatetime | None = Field(description="Data watermark.")


class PositionsPublic(_Public):
    wallet_address: str = Field(examples=[WALLET_EXAMPLE])
    positions: list[PositionPublic] = Field(description="Newest activity first.")
    total: int = Field(description="Positions matching the filters.")
    page: int
    limit: int
    total_pages: int
    as_of: UtcDatetime | None = Field(description="Data watermark.")


class TraderSearchResultPublic(_Public):
    wallet_address: str = Field(examples=[WALLET_EXAMPLE])
    total_trades: int = Field(description="Lifetime fills.")
    total_volume: Money = Field(description="Lifetime USDC of fills.")
    total_pnl: Money = Field(description="Lifetime PnL.")
    last_trade_at: UtcDatetime | None = None


class TraderSearchPublic(_Public):
    query: str = Field(description="The normalized prefix searched.", examples=["0x5668"])
    results: list[TraderSearchResultPublic] = Field(description="Most active traders first.")


class MarketPublic(_Public):
    condition_id: str = Field(description="The CTF condition (the market).")
    has_metadata: bool = Field(description="Whether Gamma has the market.")
    question: str = Field(description="The question, or the condition id without metadata.")
    market_slug: str | None = None
    outcome_labels: list[str] | None = Field(
        None, description="Outcome labels in outcome-index order."
    )
    outcome_token_ids: list[str] | None = Field(
        None, description="The outcome token ids, in the same order."
    )
    is_neg_risk: bool = Field(description="A leg of a neg-risk event.")
    event_title: str | None = None
    event_slug: str | None = None
    category: str | None = Field(None, examples=["politics"])
    start_at: UtcDatetime | None = None
    end_at: UtcDatetime | None = None
    is_closed: bool | None = Field(None, description="Trading closed (Gamma's `closed`).")
    icon_url: str | None = None
    market_url: str | None = None


class MarketTraderPublic(_Public):
    rank: int = Field(description="Rank by total PnL in this market (ties share a rank).")
    wallet_address: str
    total_pnl: Money = Field(description="Total PnL of the trader in this market.")
    realized_pnl: Money
    volume: Money = Field(description="USDC of the trader's fills in this market.")
    trades: int
    shares: Shares = Field(description="Shares held now, all outcomes.")


class MarketDetailPublic(_Public):
    market: MarketPublic
    top_traders: list[MarketTraderPublic] = Field(description="Best total PnL first.")
    traders: int = Field(description="Traders who held a position in the market.")
    as_of: UtcDatetime | None = None


class SourcePublic(_Public):
    source: str = Field(
        description="orderbook, pnl, activity (the subgraphs), chain (Polygon), gamma (metadata).",
        examples=["chain"],
    )
    head_at: UtcDatetime | None = Field(
        description="Time of the newest block the source served at its last read."
    )
    read_at: UtcDatetime = Field(description="When that read landed in the warehouse.")
    lag_seconds: int | None = Field(
        description="read_at - head_at: how far behind its chain the source was.", examples=[12]
    )


class SourcesPublic(_Public):
    sources: list[SourcePublic]
    as_of: UtcDatetime | None = Field(description="The data watermark of the marts served.")


class ReconciliationPublic(_Public):
    positions: int = Field(
        description="Positions (wallet, token) compared: every position of the wallets "
        "Polymarket's pnl subgraph follows, on either side.",
        examples=[5120],
    )
    wallets: int = Field(description="Wallets compared.", examples=[480])
    agreeing: int = Field(description="Positions identical or different by rounding only.")
    agreement_pct: Percent | None = Field(
        description="100 x agreeing / positions: the share of positions on which the ledger "
        "agrees with the pnl subgraph's UserPosition (shares, average price, realized PnL, "
        "total bought) up to its integer rounding; null with nothing compared.",
        examples=["74.5614"],
    )
    explained_pct: Percent | None = Field(
        description="100 x the positions whose difference has a class other than `other`."
    )
    identical: int = Field(description="Positions with no difference at all.")
    rounding: int = Field(description="Positions that differ by the subgraph's rounding only.")
    fees: int = Field(
        description="Positions whose difference the V1 fees explain (the subgraph leaves fees out)."
    )
    missing_events: int = Field(
        description="Positions one side lacks events of (one side only, or V2-era events the "
        "frozen subgraph never saw)."
    )
    other: int = Field(description="Unexplained differences (the reconciliation check fails).")
    max_abs_realized_pnl_difference: Money | None = Field(
        description="The largest realized PnL difference, USDC."
    )
    max_abs_shares_difference: Shares | None = Field(description="The largest shares difference.")
    as_of: UtcDatetime | None = Field(description="The data watermark of the marts served.")


class ErrorPublic(BaseModel):
    detail: str = Field(description="What went wrong.", examples=["trader not found"])


class HealthPublic(BaseModel):
    status: str = Field(examples=["ok"])


class ReadyPublic(BaseModel):
    status: str = Field(description="ready, or not_ready.", examples=["ready"])
    warehouse: str = Field(description="postgres or duckdb (the published snapshot).")
    warehouse_ok: bool
    warehouse_error: str | None = Field(
        None, description="Why the marts cannot be read, in plain words (the detail is logged)."
    )
    cache: str = Field(description="redis or memory.")
    cache_status: str = Field(description="ok, or down (answers come from the warehouse).")
    version: str | None = Field(description="The marts publication being served.")
    as_of: UtcDatetime | None = Field(description="Its data watermark.")


class TaskLaunchedPublic(BaseModel):
    task_id: str = Field(description="The Dagster run id.", examples=["1f0c7e0e-..."])
    job_name: str = Field(examples=["fetch_traders_job"])
    status: str = Field(description="Dagster run status at launch.", examples=["QUEUED"])


class TaskStatusPublic(BaseModel):
    task_id: str
    job_name: str | None = None
    status: str = Field(
        description="Dagster run status: QUEUED, NOT_STARTED, STARTING, STARTED, SUCCESS, "
        "FAILURE, CANCELING, CANCELED.",
        examples=["SUCCESS"],
    )
    created_at: float | None = Field(None, description="Unix time the run was created.")
    started_at: float | None = Field(None, description="Unix time the run started.")
    ended_at: float | None = Field(None, description="Unix time the run ended.")


class DaemonStatusPublic(BaseModel):
    daemon_type: str
    required: bool
    healthy: bool | None
    last_heartbeat_at: float | None = None


class WorkerStatsPublic(BaseModel):
    daemons: list[DaemonStatusPublic] = Field(description="Health of every Dagster daemon.")
    all_healthy: bool = Field(description="Every required daemon is healthy.")
    queued_runs: int
    running_runs: int

"""Every SQL statement the API runs, parameterized, in the dialect PostgreSQL and DuckDB share.

Parameters are written `%(name)s` (psycopg); the DuckDB backend rewrites them to `$name`.
Identifiers are never taken from a request: sort columns and windows come from the fixed
maps below, keyed by validated enums.

`marts.` names the published marts: the schema `marts` of the DuckDB snapshot the API loads,
and on PostgreSQL the schema of the publication it serves, which api/warehouse.py substitutes
(PostgreSQL's own `marts` schema is the pipeline's workspace, never read by the API).

The marts (dbt_project/models/marts):
- `marts.traders_v2`: one row per trader; lifetime `trades`, `volume`, `realized_pnl`,
  `unrealized_pnl`, `total_pnl`, `wins`, `losses`, `win_rate`, `markets_traded`,
  `open_positions`, and `pnl_<w>`, `volume_<w>`, `trades_<w>` for w in 1d, 7d, 30d.
- `marts.trader_stats`: one row per trader and UTC `day` with activity.
- `marts.trader_markets`: one row per position (trader, token) with `status` and the
  trader-market's `market_outcome`.
- `marts.leaderboard`: per `time_window`, eligible traders with `pnl_rank`, `volume_rank`.
- `marts.data_watermark`: one row, `as_of` (newest extracted event time).
"""

from __future__ import annotations

# Window -> (pnl, volume, trades) columns of traders_v2; "all" is the lifetime totals.
WINDOW_COLUMNS: dict[str, tuple[str, str, str]] = {
    "1d": ("pnl_1d", "volume_1d", "trades_1d"),
    "7d": ("pnl_7d", "volume_7d", "trades_7d"),
    "30d": ("pnl_30d", "volume_30d", "trades_30d"),
    "all": ("total_pnl", "volume", "trades"),
}
# Leaderboard sort key -> column of the `eligible` CTE below.
SORT_COLUMNS = {
    "pnl": "total_pnl",
    "volume": "volume",
    "win_rate": "win_rate",
    "trades": "total_trades",
}
ORDERS = {"desc": "desc", "asc": "asc"}

DATA_WATERMARK = "select max(as_of) as as_of from marts.data_watermark"

# PostgreSQL only: the newest publication (orchestration/lib/publish.py).
PUBLICATION_VERSION = (
    "select version from publication.versions order by published_at desc, version desc limit 1"
)

PING = "select 1 as ok"


def leaderboard(timeframe: str, sort_by: str, order: str) -> str:
    """One page of the ranked, filtered window; `total_count` on every row.

    Ranks use SQL rank() (ties share a rank) over the chosen column, nulls (a win rate with
    no closed market) last; rows with the same rank display in wallet order.
    """
    pnl, volume, trades = WINDOW_COLUMNS[timeframe]
    column = SORT_COLUMNS[sort_by]
    direction = ORDERS[order]
    return f"""
        with eligible as (
            select
                wallet_address,
                {pnl} as total_pnl,
                {volume} as volume,
                {trades} as total_trades,
                win_rate,
                wins,
                losses,
                markets_traded,
                last_trade_at
            from marts.traders_v2
            where {trades} >= %(min_trades)s and {volume} >= %(min_volume)s
        ),
        ranked as (
            select
                *,
                rank() over (order by {column} {direction} nulls last) as rank,
                count(*) over () as total_count
            from eligible
        )
        select * from ranked
        order by rank, wallet_address
        limit %(limit)s offset %(offset)s
    """


def leaderboard_count(timeframe: str) -> str:
    _, volume, trades = WINDOW_COLUMNS[timeframe]
    return f"""
        select count(*) as total_count from marts.traders_v2
        where {trades} >= %(min_trades)s and {volume} >= %(min_volume)s
    """


TRADER = """
    select
        wallet_address,
        first_trade_at,
        last_trade_at,
        first_activity_at,
        last_activity_at,
        trades as total_trades,
        volume as total_volume,
        realized_pnl,
        unrealized_pnl,
        total_pnl,
        wins,
        losses,
        win_rate,
        markets_traded,
        open_positions,
        pnl_1d, pnl_7d, pnl_30d, total_pnl as pnl_all,
        volume_1d, volume_7d, volume_30d, volume as volume_all,
        trades_1d, trades_7d, trades_30d, trades as trades_all,
        as_of
    from marts.traders_v2
    where wallet_address = %(wallet)s
"""

TRADER_EXISTS = "select 1 as found from marts.traders_v2 where wallet_address = %(wallet)s"

TRADER_RANKS = """
    select time_window as timeframe, pnl_rank, volume_rank
    from marts.leaderboard
    where wallet_address = %(wallet)s
"""

_POSITION_COLUMNS = """
    wallet_address,
    token_id,
    condition_id,
    outcome_index,
    shares,
    avg_price,
    cost_basis,
    mark_price,
    current_value,
    realized_pnl,
    unrealized_pnl,
    total_pnl,
    cash_flow,
    bought_shares,
    sold_shares,
    split_shares,
    merged_shares,
    redeemed_shares,
    volume,
    trades,
    first_trade_at,
    last_trade_at,
    first_activity_at,
    last_activity_at,
    status,
    market_outcome
"""

RECENT_POSITIONS = f"""
    select {_POSITION_COLUMNS}
    from marts.trader_markets
    where wallet_address = %(wallet)s
    order by last_activity_at desc, token_id
    limit %(limit)s
"""


def positions(status: str | None, outcome: str | None) -> str:
    filters = ["wallet_address = %(wallet)s"]
    if status is not None:
        filters.append("status = %(status)s")
    if outcome is not None:
        filters.append("market_outcome = %(outcome)s")
    return f"""
        select {_POSITION_COLUMNS}, count(*) over () as total_count
        from marts.trader_markets
        where {" and ".join(filters)}
        order by last_activity_at desc, token_id
        limit %(limit)s offset %(offset)s
    """


def positions_count(status: str | None, outcome: str | None) -> str:
    filters = ["wallet_address = %(wallet)s"]
    if status is not None:
        filters.append("status = %(status)s")
    if outcome is not None:
        filters.append("market_outcome = %(outcome)s")
    return f"select count(*) as total_count from marts.trader_markets where {' and '.join(filters)}"


_STATS_COLUMNS = """
    day,
    trades,
    buy_volume,
    sell_volume,
    volume,
    cash_flow,
    realized_pnl,
    pnl,
    cumulative_realized_pnl,
    unrealized_pnl,
    cumulative_pnl,
    position_value,
    end_of_day_equity,
    open_positions
"""


def statistics(has_from: bool, has_to: bool) -> str:
    filters = ["wallet_address = %(wallet)s"]
    if has_from:
        filters.append("day >= %(date_from)s")
    if has_to:
        filters.append("day <= %(date_to)s")
    return f"""
        select {_STATS_COLUMNS}
        from marts.trader_stats
        where {" and ".join(filters)}
        order by day
    """


# The chart of a trader's page: its last `limit` active days, oldest first.
CHART = f"""
    select * from (
        select {_STATS_COLUMNS}
        from marts.trader_stats
        where wallet_address = %(wallet)s
        order by day desc
        limit %(limit)s
    ) as recent
    order by day
"""

SEARCH = """
    select wallet_address, trades as total_trades, volume as total_volume, total_pnl,
        last_trade_at
    from marts.traders_v2
    where wallet_address like %(prefix)s
    order by trades desc, volume desc, wallet_address
    limit %(limit)s
"""

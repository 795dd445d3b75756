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
  `open_positions`; `pnl_<w>`, `volume_<w>`, `trades_<w>`, `wins_<w>`, `losses_<w>`,
  `win_rate_<w>` for w in 1d, 7d, 30d; the risk figures `profit_factor`, `avg_win`,
  `avg_loss`, `max_drawdown`, `best_market(_pnl)`, `worst_market(_pnl)`.
- `marts.trader_stats`: one row per trader and UTC `day` with activity.
- `marts.trader_markets`: one row per position (trader, token) with `status` and the
  trader-market's `market_outcome`.
- `marts.trader_categories`: one row per (trader, leaderboard category) with the
  traders_v2 columns the leaderboard reads, over that category's positions.
- `marts.leaderboard`: per `time_window`, eligible traders with `pnl_rank`, `volume_rank` and
  the window's `wins`, `losses`, `win_rate`.
- `marts.data_watermark`: one row, `as_of` (newest extracted event time).
- `marts.position_reconciliation_summary`: one row, how far the ledger agrees with
  Polymarket's pnl subgraph (`agreement_pct`) and the positions per difference class.
"""

from __future__ import annotations

# Window -> (pnl, volume, trades) columns of traders_v2; "all" is the lifetime totals.
WINDOW_COLUMNS: dict[str, tuple[str, str, str]] = {
    "1d": ("pnl_1d", "volume_1d", "trades_1d"),
    "7d": ("pnl_7d", "volume_7d", "trades_7d"),
    "30d": ("pnl_30d", "volume_30d", "trades_30d"),
    "all": ("total_pnl", "volume", "trades"),
}
# Window -> (win_rate, wins, losses) columns of traders_v2 and trader_categories: the
# trader-markets closed in the window; "all" is every closed one.
WIN_COLUMNS: dict[str, tuple[str, str, str]] = {
    "1d": ("win_rate_1d", "wins_1d", "losses_1d"),
    "7d": ("win_rate_7d", "wins_7d", "losses_7d"),
    "30d": ("win_rate_30d", "wins_30d", "losses_30d"),
    "all": ("win_rate", "wins", "losses"),
}
# Leaderboard sort key -> column of a `leaderboard` page row.
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


def _ranked_source(by_category: bool) -> tuple[str, str]:
    """The table a ranking reads and the filter that restricts it to the request's rows."""
    if by_category:
        return "marts.trader_categories", " and category = %(category)s"
    return "marts.traders_v2", ""


def leaderboard(timeframe: str, sort_by: str, order: str, by_category: bool = False) -> str:
    """One page of the ranked, filtered window, and what `rank_page` needs to rank it.

    With `by_category`, the window's metrics are those of `marts.trader_categories`: the
    trader's positions in markets of the category `%(category)s` only.

    Ranks are those of SQL rank() over the chosen column (ties share a rank), nulls (a win
    rate with no closed market) last; rows with the same rank display in wallet order. The
    page is a top-N read (`order by ... limit`), and the rank of its rows comes from two
    counts against its first value, `v0`: `n_before` eligible rows sort strictly before v0,
    `n_through` sort before it or tie with it. A rank() window over every eligible row would
    sort all of them on each cache miss: 0.4 s and more per miss on a million traders.
    Every row also carries `total_count`, the eligible rows of the window. One statement,
    so the page and the counts read the same data.
    """
    pnl, volume, trades = WINDOW_COLUMNS[timeframe]
    win_rate, wins, losses = WIN_COLUMNS[timeframe]
    column = SORT_COLUMNS[sort_by]
    direction = ORDERS[order]
    source = {"total_pnl": pnl, "volume": volume, "total_trades": trades, "win_rate": win_rate}
    key = source[column]
    before = ">" if direction == "desc" else "<"
    table, in_category = _ranked_source(by_category)
    eligible = f"{trades} >= %(min_trades)s and {volume} >= %(min_volume)s{in_category}"
    return f"""
        with page as (
            select
                wallet_address,
                {pnl} as total_pnl,
                {volume} as volume,
                {trades} as total_trades,
                {win_rate} as win_rate,
                {wins} as wins,
                {losses} as losses,
                markets_traded,
                last_trade_at
            from {table}
            where {eligible}
            order by {key} {direction} nulls last, wallet_address
            limit %(limit)s offset %(offset)s
        ),
        head as (
            select {column} as v0 from page
            order by {column} {direction} nulls last, wallet_address
            limit 1
        ),
        counts as (
            select
                count(*) as total_count,
                count(*) filter (
                    where {key} {before} head.v0 or (head.v0 is null and {key} is not null)
                ) as n_before,
                count(*) filter (
                    where {key} {before}= head.v0 or head.v0 is null
                ) as n_through
            from {table}, head
            where {eligible}
        )
        select page.*, counts.*
        from page, counts
        order by page.{column} {direction} nulls last, page.wallet_address
    """


def rank_page(rows: list[dict], sort_by: str) -> None:
    """Set `rank` on the rows of a `leaderboard` page, in place (see `leaderboard`).

    Rows tied with the first value v0 (some may sit on earlier pages) rank n_before + 1. Every
    other row sorts after all n_through rows up to v0's ties, and after the page's own rows
    between them: the page is contiguous in sort order, so no other row can sit in between.
    """
    column = SORT_COLUMNS[sort_by]
    if not rows:
        return
    v0 = rows[0][column]
    ties_of_v0 = 0
    rank = 0
    for i, row in enumerate(rows):
        value = row[column]
        if value == v0:
            ties_of_v0 += 1
            rank = int(row["n_before"]) + 1
        elif value != rows[i - 1][column]:
            rank = int(row["n_through"]) + 1 + (i - ties_of_v0)
        row["rank"] = rank


# Sort key -> rank column of marts.leaderboard (ranked by pnl desc and by volume desc).
MART_RANKS = {"pnl": "pnl_rank", "volume": "volume_rank"}


def leaderboard_from_mart(sort_by: str) -> str:
    """One page of `marts.leaderboard` for a window, in the shape of `leaderboard` pages.

    Used only when the mart was built with the request's thresholds (`api/rankings.py`):
    then its ranks are the ones `leaderboard` would compute, read through the mart's
    (time_window, <rank>) index instead of ranked per request.
    """
    rank = MART_RANKS[sort_by]
    # The page first, then its traders: joined before the limit, DuckDB would join the
    # whole window with every trader.
    return f"""
        with page as (
            select wallet_address, {rank} as rank, pnl, volume, trades, win_rate, wins, losses
            from marts.leaderboard
            where time_window = %(time_window)s
            order by {rank}, wallet_address
            limit %(limit)s offset %(offset)s
        )
        select
            page.rank,
            page.wallet_address,
            page.pnl as total_pnl,
            page.volume,
            page.trades as total_trades,
            page.win_rate,
            page.wins,
            page.losses,
            traders.markets_traded,
            traders.last_trade_at
        from page
        join marts.traders_v2 as traders on traders.wallet_address = page.wallet_address
        order by page.rank, page.wallet_address
    """


# Per window: traders_v2 rows eligible under the given thresholds...
ELIGIBLE_COUNTS = (
    "select "
    + ", ".join(
        f"count(*) filter (where {trades} >= %(min_trades)s and {volume} >= %(min_volume)s) "
        f"as eligible_{window}"
        for window, (_, volume, trades) in WINDOW_COLUMNS.items()
    )
    + " from marts.traders_v2"
)

# ... and per window of marts.leaderboard: its rows, their smallest trades and volume, and
# the rows that traders_v2 does not hold with the same values (or that have nothing to rank).
_MART_ROW_DIFFERS = " ".join(
    f"when '{window}' then board.pnl is distinct from traders.{pnl}"
    f" or board.volume is distinct from traders.{volume}"
    f" or board.trades is distinct from traders.{trades}"
    for window, (pnl, volume, trades) in WINDOW_COLUMNS.items()
)
MART_WINDOWS = f"""
    select
        board.time_window,
        count(*) as traders,
        min(board.trades) as min_trades,
        min(board.volume) as min_volume,
        count(*) filter (
            where board.pnl is null
                or board.volume is null
                or traders.wallet_address is null
                or case board.time_window {_MART_ROW_DIFFERS} else true end
        ) as differing
    from marts.leaderboard as board
    left join marts.traders_v2 as traders on traders.wallet_address = board.wallet_address
    group by board.time_window
"""


def leaderboard_count(timeframe: str, by_category: bool = False) -> str:
    _, volume, trades = WINDOW_COLUMNS[timeframe]
    table, in_category = _ranked_source(by_category)
    return f"""
        select count(*) as total_count from {table}
        where {trades} >= %(min_trades)s and {volume} >= %(min_volume)s{in_category}
    """


# The per-window wins, losses and win rates, named <column>_<window> ("all" included).
_WIN_METRICS = ",\n        ".join(
    f"{column} as {name}_{window}"
    for window, columns in WIN_COLUMNS.items()
    for column, name in zip(columns, ("win_rate", "wins", "losses"), strict=True)
)

TRADER = f"""
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
        {_WIN_METRICS},
        profit_factor,
        avg_win,
        avg_loss,
        max_drawdown,
        best_market,
        best_market_pnl,
        worst_market,
        worst_market_pnl,
        as_of
    from marts.traders_v2
    where wallet_address = %(wallet)s
"""

# The trader's per-window metrics over the positions of one category (no row: none there).
TRADER_CATEGORY = f"""
    select
        pnl_1d, pnl_7d, pnl_30d, total_pnl as pnl_all,
        volume_1d, volume_7d, volume_30d, volume as volume_all,
        trades_1d, trades_7d, trades_30d, trades as trades_all,
        {_WIN_METRICS}
    from marts.trader_categories
    where wallet_address = %(wallet)s and category = %(category)s
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
    v2_trades,
    first_trade_at,
    last_trade_at,
    first_activity_at,
    last_activity_at,
    status,
    market_outcome,
    question,
    outcome_label,
    market_slug,
    event_title,
    event_slug,
    category,
    icon_url,
    market_url
"""

RECENT_POSITIONS = f"""
    select {_POSITION_COLUMNS}
    from marts.trader_markets
    where wallet_address = %(wallet)s
    order by last_activity_at desc, token_id
    limit %(limit)s
"""


# What each position sort orders by (PositionSort values; never user text in the SQL).
POSITION_SORT_COLUMNS = {
    "last_activity": "last_activity_at",
    "market": "coalesce(question, condition_id, token_id)",
    "status": "status",
    "shares": "shares",
    "avg_price": "avg_price",
    "mark_price": "mark_price",
    "realized_pnl": "realized_pnl",
    "unrealized_pnl": "unrealized_pnl",
    "total_pnl": "total_pnl",
}


def positions(
    status: str | None, outcome: str | None, sort: str = "last_activity", order: str = "desc"
) -> str:
    filters = ["wallet_address = %(wallet)s"]
    if status is not None:
        filters.append("status = %(status)s")
    if outcome is not None:
        filters.append("market_outcome = %(outcome)s")
    direction = "asc" if order == "asc" else "desc"
    return f"""
        select {_POSITION_COLUMNS}, count(*) over () as total_count
        from marts.trader_markets
        where {" and ".join(filters)}
        order by {POSITION_SORT_COLUMNS[sort]} {direction} nulls last, token_id
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


MARKET = """
    select condition_id, has_metadata, question, market_slug, outcome_labels,
        clob_token_ids as outcome_token_ids, is_neg_risk, event_title, event_slug, category,
        start_at, end_at, is_closed, icon_url, market_url
    from marts.markets
    where condition_id = %(condition_id)s
"""

# The market's traders by their total PnL in it (all outcomes), ties in wallet order.
MARKET_TRADERS = """
    with traders as (
        select
            wallet_address,
            sum(total_pnl) as total_pnl,
            sum(realized_pnl) as realized_pnl,
            sum(volume) as volume,
            sum(trades) as trades,
            sum(shares) as shares
        from marts.trader_markets
        where condition_id = %(condition_id)s
        group by wallet_address
    ),
    ranked as (
        select *, rank() over (order by total_pnl desc) as rank, count(*) over () as traders
        from traders
    )
    select * from ranked
    order by rank, wallet_address
    limit %(limit)s
"""


SOURCE_FRESHNESS = """
    select source, head_at, read_at, lag_seconds
    from marts.source_freshness
    order by source
"""


RECONCILIATION = """
    select
        positions, wallets, agreeing, agreement_pct, explained_pct, identical, rounding, fees,
        missing_events, other, max_abs_realized_pnl_difference, max_abs_shares_difference
    from marts.position_reconciliation_summary
"""

{{
    config(
        indexes=postgres_indexes([
            {'columns': ['wallet_address'], 'unique': true},
            {'columns': ['total_pnl']},
            {'columns': ['volume']},
        ]),
    )
}}

-- One row per trader (any address with an attributed fill, split, merge or redemption):
-- lifetime totals as of the watermark, trader-market wins and losses, PnL, volume, trades,
-- wins and losses over the 1d, 7d and 30d windows ending at as_of, and the trader's risk
-- (DESIGN section 2, "Trader risk"): profit factor, average win and loss, largest drawdown,
-- best and worst closed trader-market.

with

summaries as (

    select * from {{ ref('int_position_summaries') }}

),

fills as (

    select * from {{ ref('int_fills_attributed') }}

),

equity as (

    select * from {{ ref('int_position_equity_windowed') }}

),

positions as (

    select * from {{ ref('trader_markets') }}

),

-- not materialized: read three times below, each a scan of the table itself (a stored copy of
-- every trader-market costs more than the scans)
trader_markets as not materialized (

    select * from {{ ref('int_trader_markets_summarized') }}

),

daily as (

    select * from {{ ref('trader_stats') }}

),

watermark as (

    select * from {{ ref('int_event_times_summarized') }}

),

-- lifetime totals from the position summaries; the window sums from the last 30 days of fills
traders as (

    select
        trader_address,
        min(first_activity_epoch) as first_activity_epoch,
        max(last_activity_epoch) as last_activity_epoch,
        sum(trades) as trades,
        sum(volume) as volume,
        min(first_trade_epoch) as first_trade_epoch,
        max(last_trade_epoch) as last_trade_epoch
    from summaries
    group by trader_address

),

{%- set longest_window = windows() | map(attribute=1) | max %}
{%- set as_of = built_scalar('int_event_times_summarized', 'max(as_of_epoch)') %}

-- the bound as a literal: PostgreSQL reads the last 30 days by the fills' filled_at_epoch index
-- (the table's last pages, laid out in time), not every fill of the history
trader_fills as (

    select
        fills.trader_address,
        {{ window_fill_sums() }}
    from fills
    cross join watermark
    where fills.filled_at_epoch > {{
        (as_of - longest_window) if as_of is not none
        else 'watermark.as_of_epoch - ' ~ longest_window
    }}
    group by fills.trader_address

),

trader_equity as (

    select
        trader_address,
        sum(case when instant_name = 'now' then realized_pnl_e24 else 0 end) as realized_pnl_e24,
        sum(case when instant_name = 'now' then unrealized_pnl_e24 else 0 end)
            as unrealized_pnl_e24,
        sum(case when instant_name = 'now' then equity_e24 else 0 end) as total_pnl_e24,
        {{ window_start_equities() }}
    from equity
    group by trader_address

),

-- the open positions only: PostgreSQL reads them by the (wallet, status) index, not every
-- position of the history
trader_positions as (

    select
        wallet_address,
        count(*) as open_positions
    from positions
    where status = 'open'
    group by wallet_address

),

trader_outcomes as (

    select
        trader_markets.trader_address,
        count(*) as markets_traded,
        {{ outcome_counts(closed='trader_markets') }},
        sum(case when trader_markets.outcome = 'win' then trader_markets.total_pnl_e24 else 0 end)
            as win_pnl_e24,
        sum(case when trader_markets.outcome = 'loss' then trader_markets.total_pnl_e24 else 0 end)
            as loss_pnl_e24
    from trader_markets
    cross join watermark
    group by trader_markets.trader_address

),

-- the best and worst closed trader-markets by total PnL; equal ones in market id order
closed_extremes as (

    select
        trader_address,
        max(total_pnl_e24) as best_market_pnl_e24,
        min(total_pnl_e24) as worst_market_pnl_e24
    from trader_markets
    where is_closed
    group by trader_address

),

extreme_markets as (

    select
        closed_extremes.trader_address,
        min(
            case
                when trader_markets.total_pnl_e24 = closed_extremes.best_market_pnl_e24
                    then {{ binary_text('trader_markets.market_id') }}
            end
        ) as best_market,
        closed_extremes.best_market_pnl_e24,
        min(
            case
                when trader_markets.total_pnl_e24 = closed_extremes.worst_market_pnl_e24
                    then {{ binary_text('trader_markets.market_id') }}
            end
        ) as worst_market,
        closed_extremes.worst_market_pnl_e24
    from closed_extremes
    inner join trader_markets
        on
            closed_extremes.trader_address = trader_markets.trader_address
            and trader_markets.is_closed
            and trader_markets.total_pnl_e24 in (
                closed_extremes.best_market_pnl_e24, closed_extremes.worst_market_pnl_e24
            )
    group by
        closed_extremes.trader_address,
        closed_extremes.best_market_pnl_e24,
        closed_extremes.worst_market_pnl_e24

),

-- each trader's running peak and drawdown at its last active day (trader_stats carries them
-- day by day): PostgreSQL looks the last row up by the (wallet, day) index, not every day of
-- every trader
last_days as (

    {% if target.type == 'postgres' -%}
        select
            traders.trader_address,
            last_day.peak_pnl,
            last_day.max_drawdown
        from traders
        cross join lateral (
            select
                daily.peak_pnl,
                daily.max_drawdown
            from daily
            where daily.wallet_address = traders.trader_address
            order by daily.day desc
            limit 1
        ) as last_day
    {%- else -%}
        select
            wallet_address as trader_address,
            arg_max(peak_pnl, day) as peak_pnl,
            arg_max(max_drawdown, day) as max_drawdown
        from daily
        group by wallet_address
    {%- endif %}

),

-- the largest fall of the cumulative PnL from an earlier peak, as_of being its last point
drawdowns as (

    select
        trader_equity.trader_address,
        greatest(
            coalesce(last_days.max_drawdown, 0),
            coalesce(last_days.peak_pnl, {{ money('trader_equity.total_pnl_e24') }})
            - {{ money('trader_equity.total_pnl_e24') }}
        ) as max_drawdown
    from trader_equity
    left join last_days
        on trader_equity.trader_address = last_days.trader_address

)

select
    traders.trader_address as wallet_address,
    {{ epoch_to_timestamptz('traders.first_trade_epoch') }} as first_trade_at,
    {{ epoch_to_timestamptz('traders.last_trade_epoch') }} as last_trade_at,
    {{ epoch_to_timestamptz('traders.first_activity_epoch') }} as first_activity_at,
    {{ epoch_to_timestamptz('traders.last_activity_epoch') }} as last_activity_at,
    traders.trades,
    traders.volume,
    {{ money('trader_equity.realized_pnl_e24') }} as realized_pnl,
    {{ money('trader_equity.unrealized_pnl_e24') }} as unrealized_pnl,
    {{ money('trader_equity.total_pnl_e24') }} as total_pnl,
    trader_outcomes.wins,
    trader_outcomes.losses,
    {{ win_rate('trader_outcomes.wins', 'trader_outcomes.losses') }} as win_rate,
    trader_outcomes.markets_traded,
    coalesce(trader_positions.open_positions, 0) as open_positions,
    {%- for name, seconds in windows() %}
        {{ money('trader_equity.total_pnl_e24 - trader_equity.start_equity_' ~ name ~ '_e24') }}
            as pnl_{{ name }},
        coalesce(trader_fills.volume_{{ name }}, 0) as volume_{{ name }},
        coalesce(trader_fills.trades_{{ name }}, 0) as trades_{{ name }},
        trader_outcomes.wins_{{ name }},
        trader_outcomes.losses_{{ name }},
        {{ win_rate('trader_outcomes.wins_' ~ name, 'trader_outcomes.losses_' ~ name) }}
            as win_rate_{{ name }},
    {%- endfor %}
    -- the total PnL of winning trader-markets over that of losing ones, to 1e-6
    case
        when trader_outcomes.losses > 0
            then {{ micro(round_idiv(
                'trader_outcomes.win_pnl_e24',
                idiv('-trader_outcomes.loss_pnl_e24', '1000000')
            )) }}
    end as profit_factor,
    case
        when trader_outcomes.wins > 0
            then {{ money(idiv('trader_outcomes.win_pnl_e24', 'trader_outcomes.wins')) }}
    end as avg_win,
    case
        when trader_outcomes.losses > 0
            then {{ money(idiv('trader_outcomes.loss_pnl_e24', 'trader_outcomes.losses')) }}
    end as avg_loss,
    drawdowns.max_drawdown,
    extreme_markets.best_market,
    {{ money('extreme_markets.best_market_pnl_e24') }} as best_market_pnl,
    extreme_markets.worst_market,
    {{ money('extreme_markets.worst_market_pnl_e24') }} as worst_market_pnl,
    {{ epoch_to_timestamptz('watermark.as_of_epoch') }} as as_of

from traders
inner join trader_equity
    on traders.trader_address = trader_equity.trader_address
left join trader_positions
    on traders.trader_address = trader_positions.wallet_address
inner join trader_outcomes
    on traders.trader_address = trader_outcomes.trader_address
inner join drawdowns
    on traders.trader_address = drawdowns.trader_address
left join extreme_markets
    on traders.trader_address = extreme_markets.trader_address
left join trader_fills
    on traders.trader_address = trader_fills.trader_address
cross join watermark

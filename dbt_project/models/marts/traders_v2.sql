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
-- lifetime totals as of the watermark, trader-market wins and losses, and PnL, volume and
-- trades over the 1d, 7d and 30d windows ending at as_of.

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

trader_fills as (

    select
        fills.trader_address,
        -- noqa: disable=LT02
        {%- for name, seconds in windows() %}
        count(
            case when fills.filled_at_epoch > watermark.as_of_epoch - {{ seconds }} then 1 end
        ) as trades_{{ name }},
        coalesce(sum(
            case
                when fills.filled_at_epoch > watermark.as_of_epoch - {{ seconds }}
                    then fills.usdc
            end
        ), 0) as volume_{{ name }}{{ ',' if not loop.last }}
        {%- endfor %} -- noqa: enable=LT02
    from fills
    cross join watermark
    where fills.filled_at_epoch > watermark.as_of_epoch - {{ longest_window }}
    group by fills.trader_address

),

trader_equity as (

    select
        trader_address,
        sum(case when instant_name = 'now' then realized_pnl_e24 else 0 end) as realized_pnl_e24,
        sum(case when instant_name = 'now' then unrealized_pnl_e24 else 0 end)
            as unrealized_pnl_e24,
        sum(case when instant_name = 'now' then equity_e24 else 0 end) as total_pnl_e24,
        -- noqa: disable=LT02
        {%- for name, seconds in windows() %}
        sum(case when instant_name = '{{ name }}' then equity_e24 else 0 end)
            as start_equity_{{ name }}_e24{{ ',' if not loop.last }}
        {%- endfor %} -- noqa: enable=LT02
    from equity
    group by trader_address

),

trader_positions as (

    select
        wallet_address,
        count(distinct coalesce(condition_id, token_id)) as markets_traded,
        sum(case when status = 'open' then 1 else 0 end) as open_positions
    from positions
    group by wallet_address

),

trader_markets as (

    select distinct
        wallet_address,
        coalesce(condition_id, token_id) as market_id,
        market_outcome
    from positions

),

trader_outcomes as (

    select
        wallet_address,
        sum(case when market_outcome = 'win' then 1 else 0 end) as wins,
        sum(case when market_outcome = 'loss' then 1 else 0 end) as losses
    from trader_markets
    group by wallet_address

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
    case
        when trader_outcomes.wins + trader_outcomes.losses > 0
            then {{ micro(round_idiv(
                to_int('trader_outcomes.wins') ~ ' * 100000000',
                'trader_outcomes.wins + trader_outcomes.losses'
            )) }}
    end as win_rate,
    trader_positions.markets_traded,
    trader_positions.open_positions,
    {%- for name, seconds in windows() %}
        {{ money('trader_equity.total_pnl_e24 - trader_equity.start_equity_' ~ name ~ '_e24') }}
            as pnl_{{ name }},
        coalesce(trader_fills.volume_{{ name }}, 0) as volume_{{ name }},
        coalesce(trader_fills.trades_{{ name }}, 0) as trades_{{ name }},
    {%- endfor %}
    {{ epoch_to_timestamptz('watermark.as_of_epoch') }} as as_of

from traders
inner join trader_equity
    on traders.trader_address = trader_equity.trader_address
inner join trader_positions
    on traders.trader_address = trader_positions.wallet_address
inner join trader_outcomes
    on traders.trader_address = trader_outcomes.wallet_address
left join trader_fills
    on traders.trader_address = trader_fills.trader_address
cross join watermark

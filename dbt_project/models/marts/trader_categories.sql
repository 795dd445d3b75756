{{
    config(
        indexes=postgres_indexes([
            {'columns': ['category', 'wallet_address'], 'unique': true},
            {'columns': ['category', 'total_pnl']},
            {'columns': ['category', 'volume']},
        ]),
    )
}}

-- One row per (trader, leaderboard category) the trader has a position in: the columns of
-- traders_v2 the leaderboard and the trader answer read, over the positions whose condition
-- has that category only. pnl_W = equity(as_of) - equity(as_of - W) over those positions;
-- volume_W and trades_W count their fills in the window. Positions of a condition without a
-- category (no Gamma metadata, or no category tag) count in traders_v2 only.

with

markets as (

    select * from {{ ref('markets') }}
    where category is not null

),

tokens as (

    select * from {{ ref('int_outcome_tokens_enumerated') }}

),

token_categories as (

    select tokens.token_id, markets.category
    from tokens
    inner join markets on tokens.condition_id = markets.condition_id

),

summaries as (

    select
        summaries.*,
        token_categories.category
    from {{ ref('int_position_summaries') }} as summaries
    inner join token_categories on summaries.token_id = token_categories.token_id

),

fills as (

    select
        fills.trader_address,
        fills.filled_at_epoch,
        fills.usdc,
        token_categories.category
    from {{ ref('int_fills_attributed') }} as fills
    inner join token_categories on fills.token_id = token_categories.token_id

),

equity as (

    select
        equity.trader_address,
        equity.instant_name,
        equity.equity_e24,
        equity.is_frozen,
        token_categories.category
    from {{ ref('int_position_equity_windowed') }} as equity
    inner join token_categories on equity.token_id = token_categories.token_id

),

trader_markets as (

    select * from {{ ref('int_trader_markets_summarized') }}

),

watermark as (

    select * from {{ ref('int_event_times_summarized') }}

),

traders as (

    select
        trader_address,
        category,
        sum(trades) as trades,
        sum(volume) as volume,
        max(last_trade_epoch) as last_trade_epoch
    from summaries
    group by trader_address, category

),

{%- set longest_window = windows() | map(attribute=1) | max %}

trader_fills as (

    select
        fills.trader_address,
        fills.category,
        {{ window_fill_sums() }}
    from fills
    cross join watermark
    where fills.filled_at_epoch > watermark.as_of_epoch - {{ longest_window }}
    group by fills.trader_address, fills.category

),

trader_equity as (

    select
        trader_address,
        category,
        sum(case when instant_name = 'now' then equity_e24 else 0 end) as total_pnl_e24,
        {{ window_start_equities() }}
    from equity
    group by trader_address, category

),

-- a trader-market is one condition, so it has one category
trader_outcomes as (

    select
        trader_markets.trader_address,
        markets.category,
        count(*) as markets_traded,
        {{ outcome_counts(closed='trader_markets') }}
    from trader_markets
    inner join markets
        on trader_markets.condition_id = markets.condition_id
    cross join watermark
    group by trader_markets.trader_address, markets.category

)

select
    traders.trader_address as wallet_address,
    traders.category,
    {{ epoch_to_timestamptz('traders.last_trade_epoch') }} as last_trade_at,
    traders.trades,
    traders.volume,
    {{ money('trader_equity.total_pnl_e24') }} as total_pnl,
    trader_outcomes.wins,
    trader_outcomes.losses,
    {{ win_rate('trader_outcomes.wins', 'trader_outcomes.losses') }} as win_rate,
    trader_outcomes.markets_traded,
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
    {{ epoch_to_timestamptz('watermark.as_of_epoch') }} as as_of

from traders
inner join trader_equity
    on
        traders.trader_address = trader_equity.trader_address
        and traders.category = trader_equity.category
inner join trader_outcomes
    on
        traders.trader_address = trader_outcomes.trader_address
        and traders.category = trader_outcomes.category
left join trader_fills
    on
        traders.trader_address = trader_fills.trader_address
        and traders.category = trader_fills.category
cross join watermark

{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key=['wallet_address', 'token_id'],
        on_schema_change='fail',
        indexes=postgres_indexes([
            {'columns': ['wallet_address', 'token_id'], 'unique': true},
            {'columns': ['wallet_address', 'status']},
            {'columns': ['extracted_at']},
        ]),
    )
}}

-- One row per position (trader, token) the trader held, as of the watermark (data_watermark),
-- with its trader-market's outcome (int_trader_markets_summarized) and its market's Gamma
-- metadata.
-- Incremental runs rewrite the positions of the trader-markets int_trader_markets_summarized
-- rewrote since their last build, and of the markets whose Gamma rows (or any tag) loaded
-- since: nothing else in a row moves.

with

summaries as (

    select * from {{ ref('int_position_summaries') }}

),

-- not materialized: a refresh reads only the 'now' rows of relabelled markets' tokens here
-- (its rewritten positions' rows are looked up by key below), where a stored copy would
-- hold every position's 'now' row
equity as not materialized (

    select * from {{ ref('int_position_equity_windowed') }}
    where instant_name = 'now'

),

tokens as (

    select * from {{ ref('int_outcome_tokens_enumerated') }}

),

conditions as (

    select * from {{ ref('int_conditions_resolved') }}

),

markets as (

    select * from {{ ref('markets') }}

),

trader_markets as (

    select * from {{ ref('int_trader_markets_summarized') }}

),

gamma_markets as (

    select * from {{ ref('stg_gamma__markets') }}

),

gamma_events as (

    select * from {{ ref('stg_gamma__events') }}

),

gamma_tags as (

    select * from {{ ref('stg_gamma__tags') }}

),

metadata_loads as (

    select max(extracted_at) as extracted_at from gamma_markets
    union all
    select max(extracted_at) from gamma_events
    union all
    select max(extracted_at) from gamma_tags

),

{% if is_incremental() %}
    {%- set loaded = stored_watermark(this) %}

    -- the table itself: PostgreSQL reads the rows written since by its extracted_at index
    -- (through the CTE, referenced twice, it would store and sort every trader-market)
    rewritten_markets as (

        select
            trader_address,
            market_id
        from {{ ref('int_trader_markets_summarized') }}
        where extracted_at > {{ loaded }}

    ),

    -- a tag's category reaches every market; a market's or event's row, its own
    relabelled_markets as (

        select gamma_markets.condition_id as market_id
        from gamma_markets
        left join gamma_events
            on gamma_markets.event_id = gamma_events.event_id
        where
            gamma_markets.extracted_at > {{ loaded }}
            or gamma_events.extracted_at > {{ loaded }}
            or exists (
                select 1
                from gamma_tags
                where gamma_tags.extracted_at > {{ loaded }}
            )

    ),

    -- the positions of those markets, in key order for the lookups below
    rewritten_positions as materialized (

        select
            positions.trader_address,
            positions.token_id,
            'now' as instant_name
        from (
            {{ positions_of_markets('rewritten_markets') }}
            union
            select
                equity.trader_address,
                equity.token_id
            from relabelled_markets
            inner join tokens
                on relabelled_markets.market_id = tokens.condition_id
            inner join equity
                on tokens.token_id = equity.token_id
        ) as positions
        {{ lookup_order(['positions.trader_address', 'positions.token_id']) }}

    ),

    {{ now_rows_of_positions('rewritten_positions') }}

{% endif %}

-- materialized: joined below on its computed market id
positions as materialized (

    select
        equity.trader_address,
        equity.token_id,
        tokens.condition_id,
        coalesce(tokens.condition_id, equity.token_id) as market_id,
        tokens.outcome_index,
        coalesce(conditions.is_resolved, false) as is_resolved,
        equity.shares_units,
        equity.avg_price_e18,
        equity.mark_e18,
        equity.realized_pnl_e24,
        equity.unrealized_pnl_e24,
        equity.equity_e24 as total_pnl_e24,
        summaries.cash_flow_e24,
        summaries.bought_units,
        summaries.sold_units,
        summaries.split_units,
        summaries.merged_units,
        summaries.redeemed_units,
        summaries.has_redemption,
        summaries.first_activity_epoch,
        summaries.last_activity_epoch,
        summaries.trades,
        summaries.v2_trades,
        summaries.volume,
        summaries.first_trade_epoch,
        summaries.last_trade_epoch
    from {{ 'rewritten_equity' if is_incremental() else 'equity' }} as equity
    inner join {{ 'rewritten_summaries' if is_incremental() else 'summaries' }} as summaries
        on
            equity.trader_address = summaries.trader_address
            and equity.token_id = summaries.token_id
    left join tokens
        on equity.token_id = tokens.token_id
    left join conditions
        on tokens.condition_id = conditions.condition_id
    -- a refresh looks its trader-markets up in this order
    {{ lookup_order([
        'equity.trader_address', 'coalesce(tokens.condition_id, equity.token_id)'
    ]) if is_incremental() }}

)

{%- if is_incremental() %},

    -- their trader-markets, looked up by key in that order, where a join hashes every one
    rewritten_trader_markets as (

        select distinct
            trader_address,
            market_id,
            outcome
        from ({{ rows_matching(ref('int_trader_markets_summarized'), 'positions', [
            ('trader_address', 'trader_address'), ('market_id', 'market_id'),
        ]) }}) as matched

    )

{% endif %}

select
    positions.trader_address as wallet_address,
    positions.token_id,
    positions.condition_id,
    positions.outcome_index,
    {{ micro('positions.shares_units') }} as shares,
    {{ price('positions.avg_price_e18') }} as avg_price,
    {{ money('positions.shares_units * positions.avg_price_e18') }} as cost_basis,
    {{ price('positions.mark_e18') }} as mark_price,
    {{ money('positions.shares_units * positions.mark_e18') }} as current_value,
    {{ money('positions.realized_pnl_e24') }} as realized_pnl,
    {{ money('positions.unrealized_pnl_e24') }} as unrealized_pnl,
    {{ money('positions.total_pnl_e24') }} as total_pnl,
    {{ money('positions.cash_flow_e24') }} as cash_flow,
    {{ micro('positions.bought_units') }} as bought_shares,
    {{ micro('positions.sold_units') }} as sold_shares,
    {{ micro('positions.split_units') }} as split_shares,
    {{ micro('positions.merged_units') }} as merged_shares,
    {{ micro('positions.redeemed_units') }} as redeemed_shares,
    positions.volume,
    positions.trades,
    positions.v2_trades,
    {{ epoch_to_timestamptz('positions.first_trade_epoch') }} as first_trade_at,
    {{ epoch_to_timestamptz('positions.last_trade_epoch') }} as last_trade_at,
    {{ epoch_to_timestamptz('positions.first_activity_epoch') }} as first_activity_at,
    {{ epoch_to_timestamptz('positions.last_activity_epoch') }} as last_activity_at,
    case
        when positions.has_redemption then 'redeemed'
        when positions.is_resolved then 'resolved'
        when positions.shares_units = 0 then 'closed'
        else 'open'
    end as status,
    trader_markets.outcome as market_outcome,
    -- Gamma metadata; a market without it is named by its condition (or token) id
    coalesce(markets.question, positions.market_id) as question,
    markets.outcome_labels[positions.outcome_index + 1] as outcome_label,
    markets.market_slug,
    markets.event_title,
    markets.event_slug,
    markets.category,
    markets.icon_url,
    markets.market_url,
    greatest(
        {{ newest_position_load() }},
        coalesce((select max(metadata_loads.extracted_at) from metadata_loads), {{ newest_position_load() }})
    ) as extracted_at

from positions
inner join {{ 'rewritten_trader_markets' if is_incremental() else 'trader_markets' }} as trader_markets
    on
        positions.trader_address = trader_markets.trader_address
        and positions.market_id = trader_markets.market_id
left join markets
    on positions.condition_id = markets.condition_id

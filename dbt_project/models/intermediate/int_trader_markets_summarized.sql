{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key=['trader_address', 'market_id'],
        on_schema_change='fail',
        pre_hook=["{{ drop_remapped_trader_markets() }}"],
        indexes=postgres_indexes([
            {'columns': ['trader_address', 'market_id'], 'unique': true},
            {'columns': ['extracted_at']},
        ]),
    )
}}

-- One row per trader-market (trader, condition; a token without a condition is a market of
-- its own): the sums of its positions at as_of, whether and when it closed, and its outcome
-- (DESIGN section 2, "Trader-market"). Closed when its condition is resolved or every share is
-- gone; closed_at is the condition's resolved_at, else the last event of its positions. A
-- closed one is a win or a loss by the sign of its total PnL rounded to the micro-USDC, flat
-- when that is 0.
-- Incremental runs rewrite the trader-markets with a position whose 'now' equity row was
-- rewritten since their last build (int_position_equity_windowed's scope): its sums, the
-- condition's resolution and its positions' last events reach a trader-market only there.

with

summaries as (

    select * from {{ ref('int_position_summaries') }}

),

equity as (

    select * from {{ ref('int_position_equity_windowed') }}
    where instant_name = 'now'

),

{% if is_incremental() %}
    {%- set loaded = stored_watermark(this) %}

    rewritten_markets as (

        select distinct
            rewritten.trader_address,
            coalesce(tokens.condition_id, rewritten.token_id) as market_id
        from equity as rewritten
        left join {{ ref('int_outcome_tokens_enumerated') }} as tokens
            on rewritten.token_id = tokens.token_id
        where rewritten.extracted_at > {{ loaded }}

    ),

    -- their positions, in key order for the lookups of their 'now' rows and summaries
    rewritten_positions as materialized (

        select
            positions.trader_address,
            positions.token_id,
            'now' as instant_name
        from ({{ positions_of_markets('rewritten_markets') }}) as positions
        {{ lookup_order(['positions.trader_address', 'positions.token_id']) }}

    ),

    {{ now_rows_of_positions('rewritten_positions') }}

{% endif %}

tokens as (

    select * from {{ ref('int_outcome_tokens_enumerated') }}

),

conditions as (

    select * from {{ ref('int_conditions_resolved') }}

),

positions as (

    select
        equity.trader_address,
        coalesce(tokens.condition_id, equity.token_id) as market_id,
        tokens.condition_id,
        coalesce(conditions.is_resolved, false) as is_resolved,
        conditions.resolved_at_epoch,
        equity.shares_units,
        equity.equity_e24,
        summaries.last_activity_epoch
    from {{ 'rewritten_equity' if is_incremental() else 'equity' }} as equity
    inner join {{ 'rewritten_summaries' if is_incremental() else 'summaries' }} as summaries
        on
            equity.trader_address = summaries.trader_address
            and equity.token_id = summaries.token_id
    left join tokens
        on equity.token_id = tokens.token_id
    left join conditions
        on tokens.condition_id = conditions.condition_id

),

market_sums as (

    select
        trader_address,
        market_id,
        max(condition_id) as condition_id,
        bool_or(is_resolved) as is_resolved,
        max(shares_units) = 0 as is_emptied,
        max(resolved_at_epoch) as resolved_at_epoch,
        max(last_activity_epoch) as last_event_epoch,
        sum(equity_e24) as total_pnl_e24
    from positions
    group by trader_address, market_id

),

closed as (

    select
        trader_address,
        market_id,
        condition_id,
        is_resolved or is_emptied as is_closed,
        case
            when is_resolved then resolved_at_epoch
            when is_emptied then last_event_epoch
        end as closed_at_epoch,
        total_pnl_e24,
        {{ round_idiv('total_pnl_e24', '1000000000000000000') }} as total_pnl_micro
    from market_sums

)

select
    trader_address,
    market_id,
    condition_id,
    is_closed,
    closed_at_epoch,
    total_pnl_e24,
    case
        when not is_closed then 'open'
        when total_pnl_micro > 0 then 'win'
        when total_pnl_micro < 0 then 'loss'
        else 'flat'
    end as outcome,
    {{ newest_position_load() }} as extracted_at

from closed

{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key=['trader_address', 'token_id'],
        on_schema_change='fail',
        indexes=postgres_indexes([
            {'columns': ['trader_address', 'token_id'], 'unique': true},
            {'columns': ['extracted_at']},
            {'columns': ['token_id']},
        ]),
    )
}}

-- One row per position (trader, token): its lifetime flows from the ledger and its fills, and
-- its state after its last event. What trader_markets, the windowed equity and traders_v2 need
-- of a position's history, in one row instead of one per event.
--
-- Incremental runs recompute, from all their events, the positions with ledger rows newer
-- than the newest one summarized here: int_position_events_folded rewrites a position from
-- its first changed event on, and that event always carries a new stamp.

with

ledger as (

    select * from {{ ref('int_position_events_folded') }}

),

fills as (

    select * from {{ ref('int_fills_attributed') }}

),

{% if is_incremental() %}
    {%- set loaded = stored_watermark(this) %}

    -- the ledger table itself: PostgreSQL reads the rebuilt rows by index
    changed_positions as (

        select distinct
            rebuilt.trader_address,
            rebuilt.token_id
        from {{ ref('int_position_events_folded') }} as rebuilt
        where rebuilt.extracted_at > {{ loaded }}

    ),

    position_ledger as (

        select ledger.*
        from ledger
        inner join changed_positions
            on
                ledger.trader_address = changed_positions.trader_address
                and ledger.token_id = changed_positions.token_id

    ),

    position_fill_rows as (

        select fills.*
        from fills
        inner join changed_positions
            on
                fills.trader_address = changed_positions.trader_address
                and fills.token_id = changed_positions.token_id

    ),

{% else %}

    position_ledger as (

        select * from ledger

    ),

    position_fill_rows as (

        select * from fills

    ),

{% endif %}

position_activity as (

    select
        trader_address,
        token_id,
        max(event_seq) as last_event_seq,
        min(event_epoch) as first_activity_epoch,
        max(event_epoch) as last_activity_epoch,
        sum(cash_e24) as cash_flow_e24,
        sum(case when event_kind = 'buy' then quantity_applied_units else 0 end)
            as bought_units,
        sum(case when event_kind = 'sell' then quantity_applied_units else 0 end)
            as sold_units,
        sum(case when event_kind = 'split' then quantity_applied_units else 0 end)
            as split_units,
        sum(case when event_kind = 'merge' then quantity_applied_units else 0 end)
            as merged_units,
        sum(case when event_kind = 'redemption' then quantity_applied_units else 0 end)
            as redeemed_units,
        bool_or(event_kind = 'redemption') as has_redemption,
        max(extracted_at) as extracted_at
    from position_ledger
    group by trader_address, token_id

),

position_fills as (

    select
        trader_address,
        token_id,
        count(*) as trades,
        sum(case when exchange_version = 2 then 1 else 0 end) as v2_trades,
        sum(usdc) as volume,
        min(filled_at_epoch) as first_trade_epoch,
        max(filled_at_epoch) as last_trade_epoch
    from position_fill_rows
    group by trader_address, token_id

)

select
    position_activity.trader_address,
    position_activity.token_id,
    last_states.shares_units,
    last_states.avg_price_e18,
    last_states.realized_pnl_e24,
    position_activity.first_activity_epoch,
    position_activity.last_activity_epoch,
    position_activity.cash_flow_e24,
    position_activity.bought_units,
    position_activity.sold_units,
    position_activity.split_units,
    position_activity.merged_units,
    position_activity.redeemed_units,
    position_activity.has_redemption,
    coalesce(position_fills.trades, 0) as trades,
    coalesce(position_fills.v2_trades, 0) as v2_trades,
    coalesce(position_fills.volume, 0) as volume,
    position_fills.first_trade_epoch,
    position_fills.last_trade_epoch,
    position_activity.extracted_at

from position_activity
inner join position_ledger as last_states
    on
        position_activity.trader_address = last_states.trader_address
        and position_activity.token_id = last_states.token_id
        and position_activity.last_event_seq = last_states.event_seq
left join position_fills
    on
        position_activity.trader_address = position_fills.trader_address
        and position_activity.token_id = position_fills.token_id

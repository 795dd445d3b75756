{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key=['trader_address', 'token_id'],
        on_schema_change='fail',
        indexes=postgres_indexes([
            {'columns': ['trader_address', 'token_id', 'instant_name'], 'unique': true},
            {'columns': ['extracted_at']},
        ]),
    )
}}

-- depends_on: {{ ref('int_position_equity_scope') }}

-- Each position's state and equity at as_of ('now') and at the start of each window:
-- equity(t) = realized(t) + shares(t) x (mark(t) - avg_price(t)), using events at or before t.
-- A position with no event yet at t has no row for it (its equity is 0).
-- A frozen position has its 'now' row only (is_frozen): its equity is the same at every
-- instant, having had no event since the longest window began and, since then, no share
-- left or its condition resolved (marked at the payout). Most of a long history is frozen,
-- so the table grows with the positions that can still move, not four rows a position.
-- Incremental runs rewrite the positions of int_position_equity_scope: the ones that can
-- still move, and those whose events or marks changed since.

with

summaries as (

    select * from {{ ref('int_position_summaries') }}

),

marks as (

    select * from {{ ref('int_token_marks_windowed') }}

),

instants as (

    select distinct
        instant_name,
        mark_at_epoch
    from marks

),

positions as (

    select
        summaries.*,
        summaries.last_activity_epoch <= longest_window.start_epoch
        and (
            summaries.shares_units = 0
            or coalesce(
                conditions.is_resolved
                and conditions.resolved_at_epoch <= longest_window.start_epoch,
                false
            )
        ) as is_frozen
    from summaries
    {% if is_incremental() -%}
        inner join {{ ref('int_position_equity_scope') }} as scope
            on
                summaries.trader_address = scope.trader_address
                and summaries.token_id = scope.token_id
    {% endif -%}
    cross join (select min(mark_at_epoch) as start_epoch from instants) as longest_window
    left join {{ ref('int_outcome_tokens_enumerated') }} as tokens
        on summaries.token_id = tokens.token_id
    left join {{ ref('int_conditions_resolved') }} as conditions
        on tokens.condition_id = conditions.condition_id

),

-- a position whose last event is at or before the instant is in its final state there
settled_states as (

    select
        instants.instant_name,
        positions.trader_address,
        positions.token_id,
        positions.shares_units,
        positions.avg_price_e18,
        positions.realized_pnl_e24,
        positions.is_frozen
    from positions
    inner join instants
        on positions.last_activity_epoch <= instants.mark_at_epoch
    where not positions.is_frozen or instants.instant_name = 'now'

),

-- the others are in the state before their first event after it (none when that is their
-- first event: no state yet); only the events after each instant are read
next_events as (

    select
        instants.instant_name,
        ledger.trader_address,
        ledger.token_id,
        min(ledger.event_seq) as event_seq
    from {{ ref('int_position_events_folded') }} as ledger
    inner join instants
        on ledger.event_epoch > instants.mark_at_epoch
    {% if is_incremental() -%}
        where exists (
            select 1
            from positions
            where
                positions.trader_address = ledger.trader_address
                and positions.token_id = ledger.token_id
        )
    {% endif -%}
    group by instants.instant_name, ledger.trader_address, ledger.token_id

),

-- the ledger of those positions only, so the lookup below hashes their events, not all
moving_ledger as (

    select
        ledger.trader_address,
        ledger.token_id,
        ledger.event_seq,
        ledger.shares_units,
        ledger.avg_price_e18,
        ledger.realized_pnl_e24
    from {{ ref('int_position_events_folded') }} as ledger
    where exists (
        select 1
        from next_events
        where
            next_events.trader_address = ledger.trader_address
            and next_events.token_id = ledger.token_id
    )

),

moving_states as (

    select
        next_events.instant_name,
        ledger.trader_address,
        ledger.token_id,
        ledger.shares_units,
        ledger.avg_price_e18,
        ledger.realized_pnl_e24,
        false as is_frozen
    from next_events
    inner join moving_ledger as ledger
        on
            next_events.trader_address = ledger.trader_address
            and next_events.token_id = ledger.token_id
            and next_events.event_seq - 1 = ledger.event_seq

),

states_at_instants as (

    select * from settled_states
    union all
    select * from moving_states

),

states as (

    select
        states_at_instants.instant_name,
        states_at_instants.trader_address,
        states_at_instants.token_id,
        states_at_instants.shares_units,
        states_at_instants.avg_price_e18,
        states_at_instants.realized_pnl_e24,
        states_at_instants.is_frozen,
        coalesce(marks.mark_e18, states_at_instants.avg_price_e18) as mark_e18
    from states_at_instants
    left join marks
        on
            states_at_instants.instant_name = marks.instant_name
            and states_at_instants.token_id = marks.token_id

)

select
    instant_name,
    trader_address,
    token_id,
    shares_units,
    avg_price_e18,
    mark_e18,
    realized_pnl_e24,
    shares_units * (mark_e18 - avg_price_e18) as unrealized_pnl_e24,
    realized_pnl_e24 + shares_units * (mark_e18 - avg_price_e18) as equity_e24,
    is_frozen,
    {{ newest_position_load() }} as extracted_at

from states

{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key=['trader_address', 'token_id', 'instant_name'],
        on_schema_change='fail',
        post_hook=["{{ prefer_index_lookups() }}", "{{ drop_frozen_instants() }}"],
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
-- Incremental runs recompute the positions of int_position_equity_scope: those whose events or
-- marks changed since, or that a window start moved past an event, a fill or a resolution of.
-- Of those they write only the rows whose values differ from the stored ones (a window start
-- passing a token's fill moves the mark at that instant, seldom the others), and every 'now'
-- row of a position whose summary or condition changed since; the window rows of a position
-- that froze go (drop_frozen_instants). The 'now' rows' extracted_at tells the models
-- downstream which positions moved; as_of_epoch which instants the stored rows hold at.

with

{% if is_incremental() -%}
    {%- set loaded = stored_watermark(this) %}

    -- in key order for the lookups of their summaries and stored rows
    scope as materialized (

        select
            trader_address,
            token_id
        from {{ ref('int_position_equity_scope') }}
        {{ lookup_order(['trader_address', 'token_id']) }}

    ),

{% endif -%}

summaries as (

    {% if is_incremental() -%}
        {{ rows_of_positions(
            ref('int_position_summaries'), 'scope', 'trader_address', 'trader_address'
        ) }}
    {%- else -%}
        select * from {{ ref('int_position_summaries') }}
    {%- endif %}

),

{% if is_incremental() -%}

    stored as (

        {{ rows_of_positions(this, 'scope', 'trader_address', 'trader_address') }}

    ),

{% endif -%}

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
        {%- if is_incremental() %},
            -- its summary or condition changed: downstream models read them with the 'now' row
            summaries.extracted_at > {{ loaded }}
            or coalesce(conditions.extracted_at > {{ loaded }}, false) as is_restamped
        {%- endif %}
    from summaries
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
        {%- if is_incremental() %},
            positions.is_restamped and instants.instant_name = 'now' as is_restamped
        {%- endif %}
    from positions
    inner join instants
        on positions.last_activity_epoch <= instants.mark_at_epoch
    where not positions.is_frozen or instants.instant_name = 'now'

),

-- the others are in the state before their first event after it (none when that is their
-- first event: no state yet), which the ledger keeps on that event's row; only the events
-- after the longest window began are read: the last pages of the ledger, laid out in time
-- (time_order). The bound is a literal, so PostgreSQL reads that range by its event_epoch
-- index (materialized: before the positions, not through a lookup of each position across
-- the whole history).
{%- set longest_window_start = built_scalar('int_token_marks_windowed', 'min(mark_at_epoch)') %}
recent_ledger as {{ 'materialized' if target.type == 'postgres' }} (

    select
        ledger.trader_address,
        ledger.token_id,
        ledger.event_seq,
        ledger.event_epoch,
        ledger.shares_before_units,
        ledger.avg_price_before_e18,
        ledger.realized_pnl_e24 - ledger.realized_delta_e24 as realized_pnl_before_e24
    from {{ ref('int_position_events_folded') }} as ledger
    where ledger.event_epoch > {{
        longest_window_start if longest_window_start is not none
        else '(select min(mark_at_epoch) from instants)'
    }}

),

ledger_after as {{ 'materialized' if target.type == 'duckdb' }} (

    select * from recent_ledger
    {% if is_incremental() -%}
        where exists (
            select 1
            from positions
            where
                positions.trader_address = recent_ledger.trader_address
                and positions.token_id = recent_ledger.token_id
        )
    {%- endif %}

),

next_events as (

    select
        instants.instant_name,
        ledger_after.trader_address,
        ledger_after.token_id,
        min(ledger_after.event_seq) as event_seq
    from ledger_after
    inner join instants
        on ledger_after.event_epoch > instants.mark_at_epoch
    group by instants.instant_name, ledger_after.trader_address, ledger_after.token_id

),

moving_states as (

    select
        next_events.instant_name,
        ledger_after.trader_address,
        ledger_after.token_id,
        ledger_after.shares_before_units as shares_units,
        ledger_after.avg_price_before_e18 as avg_price_e18,
        ledger_after.realized_pnl_before_e24 as realized_pnl_e24,
        false as is_frozen
        {%- if is_incremental() %},
            false as is_restamped
        {%- endif %}
    from next_events
    inner join ledger_after
        on
            next_events.trader_address = ledger_after.trader_address
            and next_events.token_id = ledger_after.token_id
            and next_events.event_seq = ledger_after.event_seq
    where next_events.event_seq > 1

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
        {%- if is_incremental() %}
            states_at_instants.is_restamped,
        {%- endif %}
        coalesce(marks.mark_e18, states_at_instants.avg_price_e18) as mark_e18
    from states_at_instants
    left join marks
        on
            states_at_instants.instant_name = marks.instant_name
            and states_at_instants.token_id = marks.token_id

),
{%- set columns = [
    'instant_name', 'trader_address', 'token_id', 'shares_units', 'avg_price_e18', 'mark_e18',
    'realized_pnl_e24', 'unrealized_pnl_e24', 'equity_e24', 'is_frozen', 'as_of_epoch',
    'extracted_at',
] %}

valued as (

    select
        states.instant_name,
        states.trader_address,
        states.token_id,
        states.shares_units,
        states.avg_price_e18,
        states.mark_e18,
        states.realized_pnl_e24,
        states.shares_units * (states.mark_e18 - states.avg_price_e18) as unrealized_pnl_e24,
        states.realized_pnl_e24
        + states.shares_units * (states.mark_e18 - states.avg_price_e18) as equity_e24,
        states.is_frozen,
        {{ 'states.is_restamped,' if is_incremental() }}
        (select as_of_epoch from {{ ref('int_event_times_summarized') }}) as as_of_epoch,
        {{ newest_position_load() }} as extracted_at
    from states

)

{% if is_incremental() %}

    select
        {%- for column in columns %}
            valued.{{ column }}{{ ',' if not loop.last }}
        {%- endfor %}
    from valued
    left join stored
        on
            valued.trader_address = stored.trader_address
            and valued.token_id = stored.token_id
            and valued.instant_name = stored.instant_name
    where
        valued.is_restamped
        or stored.instant_name is null
        or not {{ same_values('valued', 'stored', [
            'shares_units', 'avg_price_e18', 'mark_e18', 'realized_pnl_e24', 'is_frozen',
        ]) }}

{% else %}

    select {{ columns | join(', ') }} from valued

{% endif %}

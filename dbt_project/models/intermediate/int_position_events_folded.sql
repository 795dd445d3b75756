{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key=['trader_address', 'token_id', 'event_seq'],
        on_schema_change='fail',
        pre_hook=["{{ prefer_index_lookups() }}"],
        indexes=postgres_indexes([
            {'columns': ['trader_address', 'token_id', 'event_seq']},
            {'columns': ['extracted_at']},
            {'columns': ['trader_address', 'event_epoch']},
            {'columns': ['event_epoch']},
        ]),
    )
}}

-- The position ledger: each position's events folded in order, one row per event with the
-- position's state before and after it. Path-dependent (sells are capped at the held shares,
-- the average cost moves with each buy), so it is a sequential fold: a recursive CTE that
-- advances every position by one event per step.
--
-- Incremental runs resume each position from its last state that is still valid: the fold
-- restarts at the first event number whose event differs from what was folded before (new
-- events append at the end; a late event shifts the numbers after it) or was derived anew
-- since (int_position_events_unioned stamps every event row it rebuilds with the newest load
-- it derives from), and the rows from there on are replaced. Only the positions with event
-- rows newer than the newest folded one are compared. Events are immutable, so the result
-- equals a full rebuild exactly.

{#- a sell, merge or redemption applies to the tracked shares only; a redemption to all of them -#}
{%- set applied -%}
    (case
        when events.is_increase then events.quantity_units
        when events.quantity_units is null then ledger.shares_units
        else least(events.quantity_units, ledger.shares_units)
    end)
{%- endset -%}
{%- set realized_delta -%}
    (case
        when events.is_increase then {{ to_int(0) }}
        else {{ applied }} * (events.price_e18 - ledger.avg_price_e18)
    end)
{%- endset %}

with recursive

events as (

    select * from {{ ref('int_position_events_unioned') }}

),

{% if is_incremental() %}
    {%- set loaded = stored_watermark(this) %}

    -- only positions with event rows rebuilt since the last fold can differ from it. The
    -- event table itself, not the events CTE: with hash joins off (see prefer_index_lookups)
    -- PostgreSQL can only look these up through the table's indexes.
    candidate_positions as (

        select distinct
            events.trader_address,
            events.token_id
        from {{ ref('int_position_events_unioned') }} as events
        where events.extracted_at > {{ loaded }}

    ),

    -- whole rows: on DuckDB the fold steps through these (below)
    candidate_events as {{ 'materialized' if target.type == 'duckdb' }} (

        select
            events.*,
            events.extracted_at > {{ loaded }} as is_rebuilt
        from {{ ref('int_position_events_unioned') }} as events
        inner join candidate_positions
            on
                events.trader_address = candidate_positions.trader_address
                and events.token_id = candidate_positions.token_id

    ),

    candidate_folded as {{ 'materialized' if target.type == 'duckdb' }} (

        select
            folded.trader_address,
            folded.token_id,
            folded.event_seq,
            folded.event_id,
            folded.shares_units,
            folded.avg_price_e18,
            folded.realized_pnl_e24
        from {{ this }} as folded
        inner join candidate_positions
            on
                folded.trader_address = candidate_positions.trader_address
                and folded.token_id = candidate_positions.token_id

    ),

    changed_positions as (

        select
            coalesce(events.trader_address, folded.trader_address) as trader_address,
            coalesce(events.token_id, folded.token_id) as token_id,
            min(coalesce(events.event_seq, folded.event_seq)) as first_changed_seq
        from candidate_events as events
        full outer join candidate_folded as folded
            on
                events.trader_address = folded.trader_address
                and events.token_id = folded.token_id
                and events.event_seq = folded.event_seq
        where
            folded.event_id is null
            or events.event_id is null
            or events.event_id != folded.event_id
            -- the same event, derived anew (its condition or tokens were re-loaded)
            or events.is_rebuilt
        group by 1, 2

    ),

    starting_states as (

        select
            changed_positions.trader_address,
            changed_positions.token_id,
            changed_positions.first_changed_seq - 1 as event_seq,
            coalesce(folded.shares_units, {{ to_int(0) }}) as shares_units,
            coalesce(folded.avg_price_e18, {{ to_int(0) }}) as avg_price_e18,
            coalesce(folded.realized_pnl_e24, {{ to_int(0) }}) as realized_pnl_e24
        from changed_positions
        -- as the step's events below: PostgreSQL probes the table's index
        left join {{ 'candidate_folded' if target.type == 'duckdb' else this }} as folded
            on
                changed_positions.trader_address = folded.trader_address
                and changed_positions.token_id = folded.token_id
                and changed_positions.first_changed_seq - 1 = folded.event_seq

    ),

{% else %}

starting_states as (

    select
        trader_address,
        token_id,
        cast(0 as bigint) as event_seq,
        {{ to_int(0) }} as shares_units,
        {{ to_int(0) }} as avg_price_e18,
        {{ to_int(0) }} as realized_pnl_e24
    from events
    where event_seq = 1

),

{% endif %}

ledger as (

    select
        trader_address,
        token_id,
        event_seq,
        cast(null as {{ text_type() }}) as event_id,
        cast(null as {{ text_type() }}) as condition_id,
        cast(null as {{ text_type() }}) as event_kind,
        cast(null as bigint) as event_epoch,
        cast(null as boolean) as is_increase,
        cast(null as {{ int_type() }}) as quantity_units,
        cast(null as {{ int_type() }}) as cash_e24,
        cast(null as {{ int_type() }}) as fill_usdc_units,
        cast(null as timestamp with time zone) as extracted_at,
        {{ to_int(0) }} as quantity_applied_units,
        {{ to_int(0) }} as realized_delta_e24,
        cast(null as {{ int_type() }}) as shares_before_units,
        cast(null as {{ int_type() }}) as avg_price_before_e18,
        shares_units,
        avg_price_e18,
        realized_pnl_e24
    from starting_states

    union all

    select
        events.trader_address,
        events.token_id,
        events.event_seq,
        events.event_id,
        events.condition_id,
        events.event_kind,
        events.event_epoch,
        events.is_increase,
        events.quantity_units,
        events.cash_e24,
        events.fill_usdc_units,
        events.extracted_at,
        {{ applied }} as quantity_applied_units,
        {{ realized_delta }} as realized_delta_e24,
        ledger.shares_units as shares_before_units,
        ledger.avg_price_e18 as avg_price_before_e18,
        case
            when events.is_increase then ledger.shares_units + {{ applied }}
            else ledger.shares_units - {{ applied }}
        end as shares_units,
        case
            when events.is_increase and events.quantity_units > 0
                then {{ idiv(
                    'ledger.avg_price_e18 * ledger.shares_units + events.cost_e24',
                    'ledger.shares_units + events.quantity_units'
                ) }}
            else ledger.avg_price_e18
        end as avg_price_e18,
        ledger.realized_pnl_e24 + {{ realized_delta }} as realized_pnl_e24
    from ledger
    -- PostgreSQL probes the table's index at every step. DuckDB has none: each step would
    -- hash the whole table, so a refresh steps through the changed positions' events only.
    inner join {{
        'candidate_events' if is_incremental() and target.type == 'duckdb'
        else ref('int_position_events_unioned')
    }} as events
        on
            ledger.trader_address = events.trader_address
            and ledger.token_id = events.token_id
            and ledger.event_seq + 1 = events.event_seq
)

select
    trader_address,
    token_id,
    condition_id,
    event_seq,
    event_id,
    event_kind,
    event_epoch,
    is_increase,
    quantity_units,
    quantity_applied_units,
    cash_e24,
    fill_usdc_units,
    realized_delta_e24,
    shares_before_units,
    avg_price_before_e18,
    shares_units,
    avg_price_e18,
    realized_pnl_e24,
    extracted_at

from ledger
where event_id is not null
{{ time_order('event_epoch') }}

{{ config(materialized='ephemeral') }}

-- The positions (trader, token) an int_position_events_unioned refresh rebuilds: what changed
-- since its last build (the newest extracted_at of its rows, its watermark):
--   - a fill or conversion leg that landed since;
--   - on a condition with a split, merge or redemption that landed since, or whose tokens
--     (conditions or market_data rows) were re-loaded since, every position of that trader
--     in the condition (a resolution makes redemptions events; new tokens make splits and
--     merges events);
--   - a stored fill or conversion position whose condition is not its token's any more (a
--     token enumerated after its fills).
-- Raw events are immutable and writers serialized, so whatever landed at or before the
-- watermark was already there at the last build. Before the first build there is nothing to
-- compare with and no position here.

{%- set stored = stored_relation('int_position_events_unioned') %}

{#- parsing renders the else branch: dbt learns the refs there -#}
{% if execute and stored is none %}

select
    cast(null as {{ dbt.type_string() }}) as trader_address,
    cast(null as {{ dbt.type_string() }}) as token_id
where 1 = 0

{% else %}
{%- set loaded = stored_watermark(stored) %}

with

tokens as (

    select * from {{ ref('int_outcome_tokens_enumerated') }}

),

-- not materialized: each read below filters the operations itself, so PostgreSQL finds those
-- loaded since through the raw tables' _extracted_at index instead of computing every
-- operation of the history once
operations as not materialized (

    select * from {{ ref('int_collateral_operations_unioned') }}

),

conversion_legs as (

    select * from {{ ref('int_position_conversion_legs') }}

),

-- the table itself: PostgreSQL estimates the few rows loaded since from its statistics (a
-- third of a CTE, which makes it scan every stored event below instead of using its index)
changed_tokens as (

    select
        tokens.token_id,
        tokens.condition_id
    from {{ ref('int_outcome_tokens_enumerated') }} as tokens
    where tokens.extracted_at > {{ loaded }}

),

changed_conditions as (

    select distinct condition_id from changed_tokens

),

changed_activity as (

    select
        operations.trader_address,
        operations.condition_id
    from operations
    where operations.extracted_at > {{ loaded }}
    union
    -- every operation of a re-loaded condition: PostgreSQL looks each condition's up by the
    -- sources' condition indexes (as a join, it scans the whole activity history)
    select
        condition_operations.trader_address,
        condition_operations.condition_id
    from (
        {{ rows_matching('operations', 'changed_conditions', [('condition_id', 'condition_id')]) }}
    ) as condition_operations

)

-- the table itself: PostgreSQL reads the new fills by index
select
    new_fills.trader_address,
    new_fills.token_id
from {{ ref('int_fills_attributed') }} as new_fills
where new_fills.extracted_at > {{ loaded }}
union
select
    new_legs.trader_address,
    new_legs.token_id
from conversion_legs as new_legs
where new_legs.extracted_at > {{ loaded }}
union
-- a fill or conversion event takes only its condition from the tokens: its position changes
-- when that does (a resolution alone changes the condition's splits, merges, redemptions)
-- (PostgreSQL finds the stored events of the re-loaded tokens by the table's token_id index)
select distinct
    stored.trader_address,
    stored.token_id
from {{ stored }} as stored
inner join changed_tokens
    on stored.token_id = changed_tokens.token_id
where
    stored.event_kind in ('buy', 'sell', 'conversion')
    and stored.condition_id is distinct from changed_tokens.condition_id
union
select
    changed_activity.trader_address,
    tokens.token_id
from changed_activity
inner join tokens
    on changed_activity.condition_id = tokens.condition_id

{% endif %}

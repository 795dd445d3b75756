{{ config(materialized='ephemeral') }}

-- The positions whose int_position_equity_windowed rows a refresh recomputes (and writes those
-- that differ):
--   - those with a summary rebuilt since (the newest load its stored rows have seen);
--   - every position of a market whose marks may have moved since (markets_remarked_since: a
--     fill, a moved resolution, re-loaded payouts), frozen or not: a frozen position's 'now'
--     row holds its mark;
--   - those not frozen that as_of or a window start moved past an event of theirs, a priced
--     fill of their token or their condition's resolution since the build their rows hold at
--     (stored_equity_as_of). With no new load, nothing else moves a position's state or mark
--     at an instant (the mark is the last priced fill at or before it, or the payout from the
--     resolution on), and passing its last event or its resolution is what freezes it.
-- A refresh minutes later passes few of these, so most of the positions that can still move
-- (~190,000 at either bench size) keep their stored rows.
-- Before the model's first build there is nothing to compare with and no position here.

{%- set stored = stored_relation('int_position_equity_windowed') %}

{#- parsing renders the else branch: dbt learns the refs there -#}
{% if execute and stored is none %}

select
    cast(null as {{ dbt.type_string() }}) as trader_address,
    cast(null as {{ dbt.type_string() }}) as token_id
where 1 = 0

{% else %}
{%- set loaded = stored_watermark(stored) %}
{%- set stored_as_of = stored_equity_as_of(stored) %}
{%- set as_of = query_scalar('select as_of_epoch from ' ~ ref('int_event_times_summarized')) %}

with

tokens as (

    select * from {{ ref('int_outcome_tokens_enumerated') }}

),

remarked_markets as (

    {{ markets_remarked_since(loaded) }}

),

-- their tokens (a market's id is its token's while its condition is unknown), whose holders
-- PostgreSQL looks up by the summaries' token index, where a join scans every summary
remarked_tokens as (

    select tokens.token_id
    from remarked_markets
    inner join tokens
        on remarked_markets.market_id = tokens.condition_id
    union
    select market_id
    from remarked_markets

),

-- the positions with an event a window start moved past
passed_events as (

    select distinct
        trader_address,
        token_id
    from {{ ref('int_position_events_folded') }}
    where {{ moved_past('event_epoch', stored_as_of, as_of) }}

),

-- the tokens whose mark at a window start may have moved: a priced fill or the resolution
-- passed
passed_marks as (

    select token_id
    from {{ ref('int_order_fills_unioned') }}
    where price_e18 is not null and {{ moved_past('filled_at_epoch', stored_as_of, as_of) }}

    union

    select tokens.token_id
    from {{ ref('int_conditions_resolved') }} as conditions
    inner join tokens
        on conditions.condition_id = tokens.condition_id
    where
        conditions.is_resolved
        and {{ moved_past('conditions.resolved_at_epoch', stored_as_of, as_of) }}

),

-- the stored positions not frozen (a row an instant; the unions below keep one)
moving as (

    select
        trader_address,
        token_id
    from {{ stored }}
    where not is_frozen

),

positions as (

    select
        moving.trader_address,
        moving.token_id
    from moving
    inner join passed_events
        on
            moving.trader_address = passed_events.trader_address
            and moving.token_id = passed_events.token_id

    union

    select
        moving.trader_address,
        moving.token_id
    from moving
    inner join passed_marks
        on moving.token_id = passed_marks.token_id

    union

    -- by the summaries' extracted_at index on PostgreSQL
    select
        trader_address,
        token_id
    from {{ ref('int_position_summaries') }}
    where extracted_at > {{ loaded }}

    union

    select
        trader_address,
        token_id
    from ({{ rows_matching(ref('int_position_summaries'), 'remarked_tokens', [
        ('token_id', 'token_id'),
    ]) }}) as remarked_positions

)

select
    trader_address,
    token_id
from positions

{% endif %}

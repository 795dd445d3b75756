{{ config(materialized='ephemeral') }}

-- The positions whose int_position_equity_windowed rows a refresh recomputes: those not frozen
-- when it was last built (their window starts move with as_of), those with a summary rebuilt
-- since (the newest load its stored rows have seen), and every position of a market with a
-- row loaded since that its marks or its closing read (markets_loaded_since): a frozen
-- position's 'now' row holds its token's mark. A frozen position stays frozen until one of
-- these: no event since the longest window began and no share left or resolved before, as
-- the window starts only move later.
-- must_rewrite: its summary or its market changed, so its rows are written (what reads them
-- downstream changed with them). A position in scope only because it can still move is
-- written only where a row of it changed: a window start that moved a few minutes rarely
-- passes an event or a fill of its token.
-- Before the model's first build there is nothing to compare with and no position here.

{%- set stored = stored_relation('int_position_equity_windowed') %}

{#- parsing renders the else branch: dbt learns the refs there -#}
{% if execute and stored is none %}

select
    cast(null as {{ dbt.type_string() }}) as trader_address,
    cast(null as {{ dbt.type_string() }}) as token_id,
    cast(null as boolean) as must_rewrite
where 1 = 0

{% else %}
{%- set loaded = stored_watermark(stored) %}

with

summaries as (

    select * from {{ ref('int_position_summaries') }}

),

tokens as (

    select * from {{ ref('int_outcome_tokens_enumerated') }}

),

loaded_markets as (

    {{ markets_loaded_since(loaded) }}

),

positions as (

    select
        trader_address,
        token_id,
        false as must_rewrite
    from {{ stored }}
    where not is_frozen

    union all

    select
        trader_address,
        token_id,
        true
    from summaries
    where extracted_at > {{ loaded }}

    union all

    select
        summaries.trader_address,
        summaries.token_id,
        true
    from summaries
    left join tokens
        on summaries.token_id = tokens.token_id
    inner join loaded_markets
        on coalesce(tokens.condition_id, summaries.token_id) = loaded_markets.market_id

)

select
    trader_address,
    token_id,
    bool_or(must_rewrite) as must_rewrite
from positions
group by trader_address, token_id

{% endif %}

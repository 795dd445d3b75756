{{ config(materialized='ephemeral') }}

-- The positions whose position_reconciliation rows a refresh rewrites: every position of a
-- followed wallet (one with pnl subgraph rows) whose side of the comparison may have moved
-- since the model's last build (the newest load its stored rows have seen):
--   - the ledger's: trader_markets rewrites a position whenever an event of it, its market's
--     resolution or its marks moved; and a split, merge or redemption (V1 or through an
--     adapter) or a conversion loaded since, which the comparison counts for every token of
--     its condition, held or not;
--   - the subgraph's: a UserPosition loaded since;
--   - the token's condition and outcome, for a position the ledger lacks: a condition
--     enumerated since;
--   - every position of a wallet the subgraph follows for the first time.
-- Before the model's first build there is nothing to compare with and no position here.

{%- set stored = stored_relation('position_reconciliation') %}

{#- parsing renders the else branch: dbt learns the refs there -#}
{% if execute and stored is none %}

select
    cast(null as {{ dbt.type_string() }}) as wallet_address,
    cast(null as {{ dbt.type_string() }}) as token_id
where 1 = 0

{% else %}
{%- set loaded = stored_watermark(stored) %}

with

subgraph_positions as (

    select * from {{ ref('stg_polymarket__user_positions') }}

),

followed_wallets as materialized (

    select distinct user_address as wallet_address
    from subgraph_positions

),

tokens as (

    select * from {{ ref('int_outcome_tokens_enumerated') }}

),

-- the operations loaded since, of both eras (through the raw tables' _extracted_at index);
-- an adapter's conversion too marks every token of its condition as V2-era
operations_loaded as (

    select
        trader_address,
        condition_id
    from {{ ref('int_collateral_operations_unioned') }}
    where extracted_at > {{ loaded }}
    union
    select
        trader_address,
        condition_id
    from {{ ref('int_position_operations_attributed') }}
    where extracted_at > {{ loaded }}

),

newly_followed as (

    select distinct subgraph_positions.user_address as wallet_address
    from subgraph_positions
    where
        subgraph_positions.extracted_at > {{ loaded }}
        and not exists (
            select 1
            from {{ stored }} as stored
            where stored.wallet_address = subgraph_positions.user_address
        )

)

-- the table itself, each time: PostgreSQL reads the rows written since by its extracted_at
-- index, and a wallet's by its (wallet, token) index
select
    trader_markets.wallet_address,
    trader_markets.token_id
from {{ ref('trader_markets') }} as trader_markets
where
    trader_markets.extracted_at > {{ loaded }}
    and trader_markets.wallet_address
    in (select followed_wallets.wallet_address from followed_wallets)
union
select
    user_address as wallet_address,
    token_id
from subgraph_positions
where extracted_at > {{ loaded }}
union
select
    subgraph_positions.user_address as wallet_address,
    subgraph_positions.token_id
from subgraph_positions
inner join tokens
    on subgraph_positions.token_id = tokens.token_id
where tokens.extracted_at > {{ loaded }}
union
select
    operations_loaded.trader_address as wallet_address,
    tokens.token_id
from operations_loaded
inner join tokens
    on operations_loaded.condition_id = tokens.condition_id
where
    operations_loaded.trader_address
    in (select followed_wallets.wallet_address from followed_wallets)
union
select
    trader_address as wallet_address,
    token_id
from {{ ref('int_position_conversion_legs') }}
where
    extracted_at > {{ loaded }}
    and trader_address in (select followed_wallets.wallet_address from followed_wallets)
union
select
    trader_markets.wallet_address,
    trader_markets.token_id
from newly_followed
inner join {{ ref('trader_markets') }} as trader_markets
    on newly_followed.wallet_address = trader_markets.wallet_address

{% endif %}

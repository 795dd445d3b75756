-- Fills attributed to their maker only: each side of a match emits its own event, so this
-- counts every trader's fill exactly once. Contract addresses never appear as traders.

with

fills as (

    select * from {{ ref('stg_polymarket__order_filled_events') }}

),

tokens as (

    select * from {{ ref('int_outcome_tokens_enumerated') }}

)

select
    fills.fill_id,
    fills.maker_address as trader_address,
    fills.token_id,
    tokens.condition_id,
    fills.side,
    fills.filled_at_epoch,
    fills.filled_at,
    fills.usdc_units,
    fills.share_units,
    fills.fee_units,
    fills.usdc,
    fills.shares,
    fills.fee,
    fills.price,
    fills.price_e18

from fills
left join tokens
    on fills.token_id = tokens.token_id
where fills.maker_address not in {{ excluded_addresses_sql() }}

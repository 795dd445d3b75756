{{ config(materialized='view') }}

-- Fills of both eras attributed to their maker only: each order of a match emits its own
-- event, so this counts every trader's fill exactly once. Contract addresses never appear as
-- traders. exchange_version says which fee rule applies (V1: in what the maker receives; V2:
-- always in collateral).
--
-- No condition here: a fill's token can be enumerated after the fill lands, so readers join
-- int_outcome_tokens_enumerated for it. A view over int_order_fills_unioned, not a table of
-- its own: a stored copy of nearly every fill would be one more history-sized table for a
-- refresh to append to (25,000 fills into four indexes of a 5M-fill table: 4.4 s, against
-- 0.8 s at 1M) and for the warehouse to keep in memory. Its readers' lookups (by extracted_at,
-- filled_at_epoch, and maker, token and time) go through that table's indexes.

select
    fill_id,
    exchange_version,
    event_sort_key,
    maker_address as trader_address,
    token_id,
    side,
    filled_at_epoch,
    filled_at,
    usdc_units,
    share_units,
    fee_units,
    usdc,
    shares,
    fee,
    price,
    price_e18,
    extracted_at

from {{ ref('int_order_fills_unioned') }}
where maker_address not in {{ excluded_addresses_sql() }}

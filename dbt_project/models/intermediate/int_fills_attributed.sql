{{
    config(
        materialized='incremental',
        incremental_strategy='append',
        on_schema_change='fail',
        indexes=postgres_indexes([
            {'columns': ['fill_id'], 'unique': true},
            {'columns': ['extracted_at']},
            {'columns': ['trader_address', 'token_id', 'filled_at_epoch']},
            {'columns': ['filled_at_epoch']},
        ]),
    )
}}

-- Fills of both eras attributed to their maker only: each order of a match emits its own
-- event, so this counts every trader's fill exactly once. Contract addresses never appear as
-- traders. exchange_version says which fee rule applies (V1: in what the maker receives; V2:
-- always in collateral).
--
-- No condition here: a fill's token can be enumerated after the fill lands, so readers join
-- int_outcome_tokens_enumerated for it. Incremental runs append the fills that landed after
-- the newest one already here. No lookback: raw events are immutable (a reload inserts only
-- the (timestamp, id) pairs not there yet) and warehouse writers are serialized, so no row can
-- land with an extracted_at at or below the watermark after this model has read it, and none
-- lands twice: appending skips looking each new fill up to replace it (1.5 s of 25,000 index
-- probes at 5M fills).

with

fills as (

    select * from {{ ref('int_order_fills_unioned') }}
    {% if is_incremental() %}
        where extracted_at > {{ stored_watermark(this) }}
    {% endif %}

)

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

from fills
where maker_address not in {{ excluded_addresses_sql() }}
{{ time_order('filled_at_epoch') }}

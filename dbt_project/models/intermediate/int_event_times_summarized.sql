-- The data watermark: the newest event time among everything extracted (fills, splits,
-- merges, redemptions and conversions of both eras, whoever made them, and condition
-- resolutions read from the chain; not a condition's preparation). Windows end here, not at the wall clock.

with

event_times as (

    select
        max(filled_at_epoch) as max_epoch,
        max(extracted_at) as max_extracted_at
    from {{ ref('int_order_fills_unioned') }}
    union all
    select
        max(split_at_epoch) as max_epoch,
        max(extracted_at) as max_extracted_at
    from {{ ref('stg_polymarket__splits') }}
    union all
    select
        max(merged_at_epoch) as max_epoch,
        max(extracted_at) as max_extracted_at
    from {{ ref('stg_polymarket__merges') }}
    union all
    select
        max(redeemed_at_epoch) as max_epoch,
        max(extracted_at) as max_extracted_at
    from {{ ref('stg_polymarket__redemptions') }}
    union all
    -- the collateral adapters' splits, merges, redemptions and conversions
    select
        max(operated_at_epoch) as max_epoch,
        max(extracted_at) as max_extracted_at
    from {{ ref('stg_polymarket__chain_position_operations') }}
    union all
    select
        max(resolved_at_epoch) as max_epoch,
        max(extracted_at) as max_extracted_at
    from {{ ref('stg_polymarket__chain_condition_resolutions') }}

)

select
    max(max_epoch) as as_of_epoch,
    max(max_extracted_at) as extracted_at

from event_times

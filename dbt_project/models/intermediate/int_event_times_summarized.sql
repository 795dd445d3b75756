-- The data watermark: the newest event time among everything extracted (fills, splits, merges,
-- redemptions, whoever made them). Windows end here, not at the wall clock.

with

event_times as (

    select
        max(filled_at_epoch) as max_epoch,
        max(extracted_at) as max_extracted_at
    from {{ ref('stg_polymarket__order_filled_events') }}
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

)

select
    max(max_epoch) as as_of_epoch,
    max(max_extracted_at) as extracted_at

from event_times

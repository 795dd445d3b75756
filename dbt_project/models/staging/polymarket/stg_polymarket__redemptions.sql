with

source as (

    select * from {{ source('polymarket', 'redemptions') }}

)

select
    id as redemption_id,
    cast("timestamp" as bigint) as redeemed_at_epoch,
    {{ epoch_to_timestamptz('"timestamp"') }} as redeemed_at,
    lower(redeemer) as redeemer_address,
    lower(condition) as condition_id,
    "indexSets" as index_sets,
    {{ to_int('payout') }} as payout_units,
    {{ micro('payout') }} as payout,
    _block_number as block_number,
    _extracted_at as extracted_at

from source

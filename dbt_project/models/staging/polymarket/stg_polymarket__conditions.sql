with

source as (

    select * from {{ source('polymarket', 'conditions') }}

)

select
    lower(id) as condition_id,
    "positionIds" as position_ids,
    "payoutNumerators" as payout_numerators,
    {{ to_int('"payoutDenominator"') }} as payout_denominator,
    coalesce("payoutDenominator" > 0, false) as is_resolved,
    _block_number as block_number,
    _extracted_at as extracted_at

from source

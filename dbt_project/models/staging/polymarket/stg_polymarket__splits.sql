with

source as (

    select * from {{ source('polymarket', 'splits') }}

)

select
    id as split_id,
    cast("timestamp" as bigint) as split_at_epoch,
    {{ epoch_to_timestamptz('"timestamp"') }} as split_at,
    lower(stakeholder) as stakeholder_address,
    lower(condition) as condition_id,
    {{ to_int('amount') }} as amount_units,
    {{ micro('amount') }} as amount,
    _block_number as block_number,
    _extracted_at as extracted_at

from source

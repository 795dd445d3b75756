with

source as (

    select * from {{ source('polymarket', 'merges') }}

)

select
    id as merge_id,
    cast("timestamp" as bigint) as merged_at_epoch,
    {{ epoch_to_timestamptz('"timestamp"') }} as merged_at,
    lower(stakeholder) as stakeholder_address,
    lower(condition) as condition_id,
    {{ to_int('amount') }} as amount_units,
    {{ micro('amount') }} as amount,
    _block_number as block_number,
    _extracted_at as extracted_at

from source

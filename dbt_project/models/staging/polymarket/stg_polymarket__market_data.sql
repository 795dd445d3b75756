with

source as (

    select * from {{ source('polymarket', 'market_data') }}

)

select
    id as token_id,
    lower(condition) as condition_id,
    cast("outcomeIndex" as integer) as outcome_index,
    _block_number as block_number,
    _extracted_at as extracted_at

from source

with

source as (

    select * from {{ source('polymarket', 'user_positions') }}

)

select
    id as user_position_id,
    lower("user") as user_address,
    "tokenId" as token_id,
    {{ micro('amount') }} as shares,
    {{ micro('"avgPrice"') }} as avg_price,
    {{ micro('"realizedPnl"') }} as realized_pnl,
    {{ micro('"totalBought"') }} as total_bought,
    _block_number as block_number,
    _extracted_at as extracted_at

from source

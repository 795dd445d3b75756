-- ConditionalTokens transfers from or to a collateral adapter, one row per token moved (a
-- TransferBatch moves several).

with

source as (

    select * from {{ source('polymarket', 'chain_adapter_transfers') }}

),

tokens as (

    -- the two arrays unnest side by side: the i-th amount is the i-th token's
    select
        transaction_hash,
        log_index,
        unnest(token_ids) as token_id,
        unnest(amounts) as amount
    from source

)

select
    source.transaction_hash,
    cast(source.log_index as bigint) as log_index,
    cast(source.block_number as bigint) as block_number,
    cast(source.block_time as bigint) as transferred_at_epoch,
    lower(source.from_address) as from_address,
    lower(source.to_address) as to_address,
    tokens.token_id,
    {{ to_int('tokens.amount') }} as amount_units,
    source._extracted_at as extracted_at

from source
inner join tokens
    on
        source.transaction_hash = tokens.transaction_hash
        and source.log_index = tokens.log_index

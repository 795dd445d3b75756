-- V2 exchange fills from the chain, in the shape of stg_polymarket__order_filled_events: the
-- maker order's side and token, what the maker paid and received. The V2 fee is always in
-- collateral (a BUY pays usdc + fee for all its shares, a SELL receives usdc - fee).
-- A chain event's id is `<transaction_hash>_<log_index>`; it orders by (block, log index).

with

source as (

    select * from {{ source('polymarket', 'chain_order_filled') }}

),

renamed as (

    select
        transaction_hash || '_' || cast(log_index as {{ text_type() }}) as fill_id,
        transaction_hash,
        order_hash,
        lower(maker) as maker_address,
        lower(taker) as taker_address,
        lower(exchange) as exchange_address,
        side,
        token_id,
        case when side = 'BUY' then '0' else token_id end as maker_asset_id,
        case when side = 'BUY' then token_id else '0' end as taker_asset_id,
        cast(block_time as bigint) as filled_at_epoch,
        case
            when side = 'BUY' then {{ to_int('maker_amount_filled') }}
            else {{ to_int('taker_amount_filled') }}
        end as usdc_units,
        case
            when side = 'BUY' then {{ to_int('taker_amount_filled') }}
            else {{ to_int('maker_amount_filled') }}
        end as share_units,
        {{ to_int('fee') }} as fee_units,
        cast(block_number as bigint) as block_number,
        cast(log_index as bigint) as log_index,
        _extracted_at as extracted_at

    from source

)

select
    fill_id,
    transaction_hash,
    order_hash,
    maker_address,
    taker_address,
    exchange_address,
    maker_asset_id,
    taker_asset_id,
    side,
    token_id,
    filled_at_epoch,
    {{ fill_measures() }},
    block_number,
    log_index,
    extracted_at

from renamed

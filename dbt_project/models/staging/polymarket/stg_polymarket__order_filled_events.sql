with

source as (

    select * from {{ source('polymarket', 'order_filled_events') }}

),

renamed as (

    select
        id as fill_id,
        "transactionHash" as transaction_hash,
        "orderHash" as order_hash,
        lower(maker) as maker_address,
        lower(taker) as taker_address,
        "makerAssetId" as maker_asset_id,
        "takerAssetId" as taker_asset_id,
        cast("timestamp" as bigint) as filled_at_epoch,
        case when "makerAssetId" = '0' then 'BUY' else 'SELL' end as side,
        case
            when "makerAssetId" = '0' then "takerAssetId" else "makerAssetId"
        end as token_id,
        case
            when "makerAssetId" = '0' then {{ to_int('"makerAmountFilled"') }}
            else {{ to_int('"takerAmountFilled"') }}
        end as usdc_units,
        case
            when "makerAssetId" = '0' then {{ to_int('"takerAmountFilled"') }}
            else {{ to_int('"makerAmountFilled"') }}
        end as share_units,
        {{ to_int('fee') }} as fee_units,
        _block_number as block_number,
        _extracted_at as extracted_at

    from source

)

select
    fill_id,
    transaction_hash,
    order_hash,
    maker_address,
    taker_address,
    maker_asset_id,
    taker_asset_id,
    side,
    token_id,
    filled_at_epoch,
    {{ fill_measures() }},
    block_number,
    extracted_at

from renamed

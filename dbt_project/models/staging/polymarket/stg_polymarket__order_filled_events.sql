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
    {{ epoch_to_timestamptz('filled_at_epoch') }} as filled_at,
    usdc_units,
    share_units,
    fee_units,
    {{ micro('usdc_units') }} as usdc,
    {{ micro('share_units') }} as shares,
    {{ micro('fee_units') }} as fee,
    -- usdc / shares before fees, x 1e18, truncated: the exact value the marks use
    case
        when share_units > 0 then {{ idiv('usdc_units * ' ~ e18(), 'share_units') }}
    end as price_e18,
    case
        when share_units > 0 then {{ price(idiv('usdc_units * ' ~ e18(), 'share_units')) }}
    end as price,
    block_number,
    extracted_at

from renamed

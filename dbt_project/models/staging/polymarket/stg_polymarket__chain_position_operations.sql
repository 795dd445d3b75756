-- The collateral adapters' splits, merges, redemptions and neg-risk conversions as the
-- ConditionalTokens and NegRiskAdapter logs record them: the adapter is the stakeholder or
-- redeemer; whom the operation was for is in the adapter's transfers of the same transaction
-- (int_position_operations_attributed). A chain event's id is `<transaction_hash>_<log_index>`.

with

source as (

    select * from {{ source('polymarket', 'chain_position_operations') }}

)

select
    transaction_hash || '_' || cast(log_index as {{ text_type() }}) as operation_id,
    transaction_hash,
    lower(contract) as contract_address,
    event as event_name,
    operation,
    lower(stakeholder) as adapter_address,
    lower(condition_id) as condition_id,
    lower(market_id) as neg_risk_market_id,
    index_set as question_index_set,
    index_sets,
    {{ to_int('amount') }} as amount_units,
    {{ to_int('payout') }} as payout_units,
    cast(block_time as bigint) as operated_at_epoch,
    {{ epoch_to_timestamptz('block_time') }} as operated_at,
    cast(block_number as bigint) as block_number,
    cast(log_index as bigint) as log_index,
    _extracted_at as extracted_at

from source

-- Conditions prepared on the ConditionalTokens contract, with their outcome token ids as the
-- contract computes them (position_ids, in outcome-index order; computed at load).

with

source as (

    select * from {{ source('polymarket', 'chain_condition_preparations') }}

)

select
    lower(condition_id) as condition_id,
    lower(oracle) as oracle_address,
    question_id,
    outcome_slot_count,
    lower(collateral) as collateral_address,
    position_ids,
    cast(block_time as bigint) as prepared_at_epoch,
    cast(block_number as bigint) as block_number,
    cast(log_index as bigint) as log_index,
    _extracted_at as extracted_at

from source

-- Conditions resolved on the ConditionalTokens contract: the payout of each outcome. The
-- contract's payout denominator is the sum of the numerators.

with

source as (

    select * from {{ source('polymarket', 'chain_condition_resolutions') }}

),

numerators as (

    select
        transaction_hash,
        log_index,
        sum(numerator) as payout_denominator
    from (
        select
            transaction_hash,
            log_index,
            unnest(payout_numerators) as numerator
        from source
    ) as unnested
    group by transaction_hash, log_index

)

select
    lower(source.condition_id) as condition_id,
    lower(source.oracle) as oracle_address,
    source.outcome_slot_count,
    source.payout_numerators,
    {{ to_int('numerators.payout_denominator') }} as payout_denominator,
    cast(source.block_time as bigint) as resolved_at_epoch,
    cast(source.block_number as bigint) as block_number,
    cast(source.log_index as bigint) as log_index,
    source._extracted_at as extracted_at

from source
inner join numerators
    on
        source.transaction_hash = numerators.transaction_hash
        and source.log_index = numerators.log_index

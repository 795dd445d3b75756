{{ config(materialized='view') }}

-- Each neg-risk conversion as the position events it makes, one row per token: the NO shares
-- the user sent the adapter and the YES shares the adapter sent back (its transfers assigned
-- to the conversion). In a market of n questions (n = the questions whose NO shares were
-- converted plus those whose YES shares came back), each NO share given is sold at
-- (n - 1) / n and each YES share received bought at 1 / n, so the cash of the legs adds up to
-- the collateral a conversion of k questions pays, (k - 1) x amount (dbt_project/README.md).

with

conversions as (

    select * from {{ ref('int_position_operations_attributed') }}
    where operation = 'conversion'

),

legs as (

    select
        conversions.trader_address,
        transfers.token_id,
        conversions.operation_id as event_id,
        conversions.event_sort_key,
        conversions.operated_at_epoch as event_epoch,
        not assigned.is_from_adapter as is_given,
        transfers.amount_units,
        greatest(conversions.extracted_at, transfers.extracted_at) as extracted_at
    from conversions
    inner join {{ ref('int_adapter_transfers_assigned') }} as assigned
        on
            conversions.operation_id = assigned.operation_id
            and conversions.trader_address = assigned.counterparty_address
    inner join {{ ref('stg_polymarket__chain_adapter_transfers') }} as transfers
        on
            assigned.transaction_hash = transfers.transaction_hash
            and assigned.log_index = transfers.log_index

),

question_counts as (

    select
        event_id,
        count(distinct token_id) as question_count
    from legs
    group by event_id

)

select
    legs.trader_address,
    legs.token_id,
    legs.event_id,
    legs.event_sort_key,
    legs.event_epoch,
    not legs.is_given as is_increase,
    legs.amount_units as quantity_units,
    case
        when not legs.is_given
            then legs.amount_units * {{ idiv(e18(), 'question_counts.question_count') }}
    end as cost_e24,
    case
        when legs.is_given
            then {{ idiv(e18() ~ ' * (question_counts.question_count - 1)',
                         'question_counts.question_count') }}
    end as price_e18,
    case
        when legs.is_given
            then {{ idiv('legs.amount_units * ' ~ e18() ~ ' * (question_counts.question_count - 1)',
                         'question_counts.question_count') }}
        else -{{ idiv('legs.amount_units * ' ~ e18(), 'question_counts.question_count') }}
    end as cash_e24,
    legs.extracted_at
from legs
inner join question_counts
    on legs.event_id = question_counts.event_id

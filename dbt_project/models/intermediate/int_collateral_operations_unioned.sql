{{ config(materialized='view') }}

-- Every split, merge and redemption by a user, of both eras in one shape: the activity
-- subgraph's (V1; the exchanges' own left out) and the collateral adapters' operations
-- attributed to their users (V2, int_position_operations_attributed). event_sort_key puts
-- them in DESIGN section 2's one event order within a timestamp: subgraph events by id,
-- then chain events by (block, log index).

with

splits as (

    select * from {{ ref('stg_polymarket__splits') }}

),

merges as (

    select * from {{ ref('stg_polymarket__merges') }}

),

redemptions as (

    select * from {{ ref('stg_polymarket__redemptions') }}

),

chain_operations as (

    select * from {{ ref('int_position_operations_attributed') }}

)

select
    'split' as operation,
    split_id as operation_id,
    '0' || split_id as event_sort_key,
    split_at_epoch as operated_at_epoch,
    stakeholder_address as trader_address,
    condition_id,
    amount_units,
    cast(null as {{ int_type() }} []) as index_sets,
    cast(null as {{ int_type() }}) as payout_units,
    extracted_at
from splits
where stakeholder_address not in {{ excluded_addresses_sql() }}

union all

select
    'merge' as operation,
    merge_id as operation_id,
    '0' || merge_id as event_sort_key,
    merged_at_epoch as operated_at_epoch,
    stakeholder_address as trader_address,
    condition_id,
    amount_units,
    cast(null as {{ int_type() }} []) as index_sets,
    cast(null as {{ int_type() }}) as payout_units,
    extracted_at
from merges
where stakeholder_address not in {{ excluded_addresses_sql() }}

union all

select
    'redemption' as operation,
    redemption_id as operation_id,
    '0' || redemption_id as event_sort_key,
    redeemed_at_epoch as operated_at_epoch,
    redeemer_address as trader_address,
    condition_id,
    cast(null as {{ int_type() }}) as amount_units,
    index_sets,
    payout_units,
    extracted_at
from redemptions
where redeemer_address not in {{ excluded_addresses_sql() }}

union all

select
    operation,
    operation_id,
    event_sort_key,
    operated_at_epoch,
    trader_address,
    condition_id,
    amount_units,
    index_sets,
    payout_units,
    extracted_at
from chain_operations
where operation in ('split', 'merge', 'redemption')

{{
    config(
        indexes=postgres_indexes([
            {'columns': ['condition_id', 'trader_address']},
        ]),
    )
}}

-- The V2 era's user position operations, one row per (transaction, operation): splits,
-- merges, redemptions and neg-risk conversions made through the collateral adapters,
-- attributed to the counterparty of the adapter's CTF transfer nearest to the operation's log
-- (int_adapter_transfers_assigned). An operation whose counterparty is an excluded address
-- (an exchange) is the settlement leg of a MINT or MERGE match, not a user's operation, and is
-- dropped; so is one with no transfer to or from anyone but the adapter's own hops.
-- event_sort_key orders it among the chain's events by (block, log index), after the
-- subgraph's events of the same timestamp (int_order_fills_unioned). A refresh looks a
-- condition's operations (and a trader's in it) up by its index, as the V1 activity's.

with

operations as (

    select * from {{ ref('stg_polymarket__chain_position_operations') }}

),

assigned as (

    select * from {{ ref('int_adapter_transfers_assigned') }}

),

nearest as (

    select
        operation_id,
        counterparty_address,
        row_number() over (
            partition by operation_id
            order by abs(log_index - operation_log_index), log_index
        ) as nearness
    from assigned

)

select
    operations.operation_id,
    operations.transaction_hash,
    operations.operation,
    nearest.counterparty_address as trader_address,
    operations.adapter_address,
    operations.condition_id,
    operations.neg_risk_market_id,
    operations.question_index_set,
    operations.index_sets,
    operations.amount_units,
    operations.payout_units,
    operations.operated_at_epoch,
    operations.operated_at,
    operations.block_number,
    operations.log_index,
    {{ chain_sort_key('operations.block_number', 'operations.log_index') }} as event_sort_key,
    operations.extracted_at
from operations
inner join nearest
    on
        operations.operation_id = nearest.operation_id
        and nearest.nearness = 1
where nearest.counterparty_address not in {{ excluded_addresses_sql() }}

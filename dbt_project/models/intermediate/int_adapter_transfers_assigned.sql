{{ config(materialized='view') }}

-- Each CTF transfer between a collateral adapter and someone outside it, assigned to the
-- adapter operation of the same transaction it belongs to: the nearest by log index (a split
-- sends the minted set right after its log, a merge or redemption pulls the shares right
-- before, a conversion does both). Transfers whose counterparty is a hop inside the
-- operation (the zero address of mints and burns, the NegRiskAdapter) name nobody and are
-- left out (var adapter_internal_addresses).

with

operations as (

    select * from {{ ref('stg_polymarket__chain_position_operations') }}

),

transfer_logs as (

    select distinct
        transaction_hash,
        log_index,
        from_address,
        to_address
    from {{ ref('stg_polymarket__chain_adapter_transfers') }}

),

candidates as (

    select
        operations.operation_id,
        operations.log_index as operation_log_index,
        transfer_logs.transaction_hash,
        transfer_logs.log_index,
        transfer_logs.from_address = operations.adapter_address as is_from_adapter,
        case
            when transfer_logs.from_address = operations.adapter_address
                then transfer_logs.to_address
            else transfer_logs.from_address
        end as counterparty_address
    from operations
    inner join transfer_logs
        on
            operations.transaction_hash = transfer_logs.transaction_hash
            and operations.adapter_address in (transfer_logs.from_address, transfer_logs.to_address)

),

ranked as (

    select
        *,
        row_number() over (
            partition by transaction_hash, log_index
            order by abs(log_index - operation_log_index), operation_log_index
        ) as nearness
    from candidates
    where counterparty_address not in {{ adapter_internal_addresses_sql() }}

)

select
    operation_id,
    operation_log_index,
    transaction_hash,
    log_index,
    is_from_adapter,
    counterparty_address
from ranked
where nearness = 1

-- Each position's state and equity at as_of ('now') and at the start of each window:
-- equity(t) = realized(t) + shares(t) x (mark(t) - avg_price(t)), using events at or before t.
-- A position with no event yet at t has no row for it (its equity is 0).

with

summaries as (

    select * from {{ ref('int_position_summaries') }}

),

marks as (

    select * from {{ ref('int_token_marks_windowed') }}

),

instants as (

    select distinct
        instant_name,
        mark_at_epoch
    from marks

),

-- a position whose last event is at or before the instant is in its final state there
settled_states as (

    select
        instants.instant_name,
        summaries.trader_address,
        summaries.token_id,
        summaries.shares_units,
        summaries.avg_price_e18,
        summaries.realized_pnl_e24
    from summaries
    inner join instants
        on summaries.last_activity_epoch <= instants.mark_at_epoch

),

-- the others are in the state before their first event after it (none when that is their
-- first event: no state yet); only the events after each instant are read
next_events as (

    select
        instants.instant_name,
        ledger.trader_address,
        ledger.token_id,
        min(ledger.event_seq) as event_seq
    from {{ ref('int_position_events_folded') }} as ledger
    inner join instants
        on ledger.event_epoch > instants.mark_at_epoch
    group by instants.instant_name, ledger.trader_address, ledger.token_id

),

-- the ledger of those positions only, so the lookup below hashes their events, not all
moving_ledger as (

    select
        ledger.trader_address,
        ledger.token_id,
        ledger.event_seq,
        ledger.shares_units,
        ledger.avg_price_e18,
        ledger.realized_pnl_e24
    from {{ ref('int_position_events_folded') }} as ledger
    where exists (
        select 1
        from next_events
        where
            next_events.trader_address = ledger.trader_address
            and next_events.token_id = ledger.token_id
    )

),

moving_states as (

    select
        next_events.instant_name,
        ledger.trader_address,
        ledger.token_id,
        ledger.shares_units,
        ledger.avg_price_e18,
        ledger.realized_pnl_e24
    from next_events
    inner join moving_ledger as ledger
        on
            next_events.trader_address = ledger.trader_address
            and next_events.token_id = ledger.token_id
            and next_events.event_seq - 1 = ledger.event_seq

),

states_at_instants as (

    select * from settled_states
    union all
    select * from moving_states

),

states as (

    select
        states_at_instants.instant_name,
        states_at_instants.trader_address,
        states_at_instants.token_id,
        states_at_instants.shares_units,
        states_at_instants.avg_price_e18,
        states_at_instants.realized_pnl_e24,
        coalesce(marks.mark_e18, states_at_instants.avg_price_e18) as mark_e18
    from states_at_instants
    left join marks
        on
            states_at_instants.instant_name = marks.instant_name
            and states_at_instants.token_id = marks.token_id

)

select
    instant_name,
    trader_address,
    token_id,
    shares_units,
    avg_price_e18,
    mark_e18,
    realized_pnl_e24,
    shares_units * (mark_e18 - avg_price_e18) as unrealized_pnl_e24,
    realized_pnl_e24 + shares_units * (mark_e18 - avg_price_e18) as equity_e24

from states

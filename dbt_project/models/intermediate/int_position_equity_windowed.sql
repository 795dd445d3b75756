-- Each position's state and equity at as_of ('now') and at the start of each window:
-- equity(t) = realized(t) + shares(t) x (mark(t) - avg_price(t)), using events at or before t.
-- A position with no event yet at t has no row for it (its equity is 0).

with

ledger as (

    select * from {{ ref('int_position_events_folded') }}

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

position_states as (

    select
        trader_address,
        token_id,
        event_epoch,
        lead(event_epoch) over (
            partition by trader_address, token_id order by event_seq
        ) as next_event_epoch,
        shares_units,
        avg_price_e18,
        realized_pnl_e24
    from ledger

),

-- the state at an instant is the one after the last event at or before it: the row whose
-- [event_epoch, next_event_epoch) interval holds the instant (one row per position, no sort)
states_at_instants as (

    select
        instants.instant_name,
        position_states.trader_address,
        position_states.token_id,
        position_states.shares_units,
        position_states.avg_price_e18,
        position_states.realized_pnl_e24
    from position_states
    inner join instants
        on
            position_states.event_epoch <= instants.mark_at_epoch
            and (
                position_states.next_event_epoch is null
                or position_states.next_event_epoch > instants.mark_at_epoch
            )

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

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

ranked_states as (

    select
        instants.instant_name,
        ledger.trader_address,
        ledger.token_id,
        ledger.shares_units,
        ledger.avg_price_e18,
        ledger.realized_pnl_e24,
        row_number() over (
            partition by instants.instant_name, ledger.trader_address, ledger.token_id
            order by ledger.event_seq desc
        ) as recency
    from ledger
    inner join instants
        on ledger.event_epoch <= instants.mark_at_epoch

),

states as (

    select
        ranked_states.instant_name,
        ranked_states.trader_address,
        ranked_states.token_id,
        ranked_states.shares_units,
        ranked_states.avg_price_e18,
        ranked_states.realized_pnl_e24,
        coalesce(marks.mark_e18, ranked_states.avg_price_e18) as mark_e18
    from ranked_states
    left join marks
        on
            ranked_states.instant_name = marks.instant_name
            and ranked_states.token_id = marks.token_id
    where ranked_states.recency = 1

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

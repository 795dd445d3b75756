{{
    config(
        indexes=postgres_indexes([
            {'columns': ['wallet_address', 'day'], 'unique': true},
        ]),
    )
}}

-- One row per trader per UTC day with activity: that day's fills, volume, cash flow and
-- realized PnL, and the state at the end of the day (events at or before 23:59:59):
-- cumulative_pnl = equity(t) of DESIGN section 2 (realized + unrealized to date),
-- end_of_day_equity = net cash flow to date + market value of the shares held.

with

ledger as (

    select
        *,
        cast({{ idiv('event_epoch', 86400) }} * 86400 as bigint) as day_start_epoch
    from {{ ref('int_position_events_folded') }}

),

fills as (

    select * from {{ ref('int_fills_attributed') }}

),

prices as (

    select * from {{ ref('int_token_prices_daily') }}

),

tokens as (

    select * from {{ ref('int_outcome_tokens_enumerated') }}

),

conditions as (

    select * from {{ ref('int_conditions_resolved') }}

),

daily_events as (

    select
        trader_address,
        day_start_epoch,
        sum(cash_e24) as cash_flow_e24,
        sum(realized_delta_e24) as realized_pnl_e24
    from ledger
    group by trader_address, day_start_epoch

),

daily_fills as (

    select
        trader_address,
        cast({{ idiv('filled_at_epoch', 86400) }} * 86400 as bigint) as day_start_epoch,
        count(*) as trades,
        sum(case when side = 'BUY' then usdc else 0 end) as buy_volume,
        sum(case when side = 'SELL' then usdc else 0 end) as sell_volume
    from fills
    group by trader_address, {{ idiv('filled_at_epoch', 86400) }}

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
        avg_price_e18
    from ledger

),

open_states_at_day_end as (

    select
        daily_events.trader_address,
        daily_events.day_start_epoch,
        position_states.token_id,
        position_states.shares_units,
        position_states.avg_price_e18
    from daily_events
    inner join position_states
        on
            daily_events.trader_address = position_states.trader_address
            and position_states.event_epoch < daily_events.day_start_epoch + 86400
            and (
                position_states.next_event_epoch is null
                or position_states.next_event_epoch >= daily_events.day_start_epoch + 86400
            )
    where position_states.shares_units > 0

),

marked_states as (

    select
        open_states_at_day_end.trader_address,
        open_states_at_day_end.day_start_epoch,
        open_states_at_day_end.shares_units,
        open_states_at_day_end.avg_price_e18,
        coalesce(
            case
                when
                    conditions.is_resolved
                    and open_states_at_day_end.day_start_epoch + 86399
                    >= conditions.resolved_at_epoch
                    then tokens.payout_price_e18
            end,
            prices.close_price_e18,
            open_states_at_day_end.avg_price_e18
        ) as mark_e18
    from open_states_at_day_end
    left join prices
        on
            open_states_at_day_end.token_id = prices.token_id
            and open_states_at_day_end.day_start_epoch = prices.day_start_epoch
    left join tokens
        on open_states_at_day_end.token_id = tokens.token_id
    left join conditions
        on tokens.condition_id = conditions.condition_id

),

day_end_holdings as (

    select
        trader_address,
        day_start_epoch,
        count(*) as open_positions,
        sum(shares_units * (mark_e18 - avg_price_e18)) as unrealized_pnl_e24,
        sum(shares_units * mark_e18) as position_value_e24
    from marked_states
    group by trader_address, day_start_epoch

),

days as (

    select
        daily_events.trader_address,
        daily_events.day_start_epoch,
        coalesce(daily_fills.trades, 0) as trades,
        coalesce(daily_fills.buy_volume, 0) as buy_volume,
        coalesce(daily_fills.sell_volume, 0) as sell_volume,
        daily_events.cash_flow_e24,
        daily_events.realized_pnl_e24,
        sum(daily_events.cash_flow_e24) over (
            partition by daily_events.trader_address
            order by daily_events.day_start_epoch
            rows between unbounded preceding and current row
        ) as cumulative_cash_flow_e24,
        sum(daily_events.realized_pnl_e24) over (
            partition by daily_events.trader_address
            order by daily_events.day_start_epoch
            rows between unbounded preceding and current row
        ) as cumulative_realized_pnl_e24,
        coalesce(day_end_holdings.open_positions, 0) as open_positions,
        coalesce(day_end_holdings.unrealized_pnl_e24, 0) as unrealized_pnl_e24,
        coalesce(day_end_holdings.position_value_e24, 0) as position_value_e24
    from daily_events
    left join daily_fills
        on
            daily_events.trader_address = daily_fills.trader_address
            and daily_events.day_start_epoch = daily_fills.day_start_epoch
    left join day_end_holdings
        on
            daily_events.trader_address = day_end_holdings.trader_address
            and daily_events.day_start_epoch = day_end_holdings.day_start_epoch

),

with_pnl as (

    select
        *,
        cumulative_realized_pnl_e24 + unrealized_pnl_e24 as cumulative_pnl_e24,
        cumulative_cash_flow_e24 + position_value_e24 as end_of_day_equity_e24
    from days

),

with_daily_pnl as (

    select
        *,
        cumulative_pnl_e24 - coalesce(lag(cumulative_pnl_e24) over (
            partition by trader_address order by day_start_epoch
        ), 0) as pnl_e24
    from with_pnl

)

select
    trader_address as wallet_address,
    {{ epoch_to_date('day_start_epoch') }} as day,
    trades,
    buy_volume,
    sell_volume,
    buy_volume + sell_volume as volume,
    {{ money('cash_flow_e24') }} as cash_flow,
    {{ money('realized_pnl_e24') }} as realized_pnl,
    {{ money('pnl_e24') }} as pnl,
    {{ money('cumulative_realized_pnl_e24') }} as cumulative_realized_pnl,
    {{ money('unrealized_pnl_e24') }} as unrealized_pnl,
    {{ money('cumulative_pnl_e24') }} as cumulative_pnl,
    {{ money('position_value_e24') }} as position_value,
    {{ money('end_of_day_equity_e24') }} as end_of_day_equity,
    open_positions

from with_daily_pnl

{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key=['wallet_address', 'day'],
        on_schema_change='fail',
        indexes=postgres_indexes([
            {'columns': ['wallet_address', 'day'], 'unique': true},
            {'columns': ['extracted_at']},
            {'columns': ['day']},
        ]),
    )
}}

-- One row per trader per UTC day with activity: that day's fills, volume, cash flow and
-- realized PnL, and the state at the end of the day (events at or before 23:59:59):
-- cumulative_pnl = equity(t) of DESIGN section 2 (realized + unrealized to date),
-- end_of_day_equity = net cash flow to date + market value of the shares held.
--
-- Incremental runs recompute the traders of int_trader_stats_scope (what changed since the
-- last build) from the first day whose row can differ, and replace their rows from there on
-- (delete+insert on (wallet, day)). Only the events from the trader's previous active day on
-- are read: the running sums continue the exact ones stored on that day's row (less that
-- day's own events), the positions it holds then start from their state before them (or their
-- final state, untouched since), and the first row's pnl from the previous active day,
-- recomputed with them and not written.
-- depends_on: {{ ref('int_trader_stats_scope') }}

with

ledger as (

    select
        *,
        {{ epoch_to_day_start('event_epoch') }} as day_start_epoch
    from {{ ref('int_position_events_folded') }}

),

-- not materialized: a refresh reads only the affected traders' held positions, where a
-- stored copy would hold every position's
summaries as not materialized (

    select * from {{ ref('int_position_summaries') }}

),

all_fills as (

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

watermark as (

    select * from {{ ref('int_event_times_summarized') }}

),

{% if is_incremental() %}

    -- the traders to recompute, from which day (int_trader_stats_scope)
    affected_traders as (

        select * from {{ ref('int_trader_stats_scope') }}

    ),

    -- the earliest day any of them is recomputed from: a scalar bound that lets the scans of
    -- the ledger, the fills and the daily closes skip what lies before it (DuckDB's zone
    -- maps). PostgreSQL can read each trader's ledger and fills from its own day on through
    -- their (trader, time) indexes.
    recomputed_from as (

        select min(start_day_start_epoch) as start_day_start_epoch
        from affected_traders

    ),

    recomputed_ledger as (

        select
            ledger.*,
            affected_traders.start_day_start_epoch
        from ledger
        inner join affected_traders
            on
                ledger.trader_address = affected_traders.trader_address
                and ledger.event_epoch >= affected_traders.start_day_start_epoch
        where ledger.event_epoch >= (select start_day_start_epoch from recomputed_from)

    ),

    -- the stored row of each trader's previous active day (none when its first day is
    -- recomputed: nothing came before), looked up by (wallet, day) where a join reads every
    -- stored day: the running sums, peak and drawdown the recomputed days continue
    previous_days as (

        select
            trader_address,
            {{ epoch_to_date('start_day_start_epoch') }} as day
        from affected_traders
        where start_day_start_epoch < from_day_start_epoch

    ),

    previous_rows as (

        select
            stored.wallet_address as trader_address,
            {{ date_to_epoch('stored.day') }} as day_start_epoch,
            stored.cumulative_cash_flow_e24,
            stored.cumulative_realized_pnl_e24,
            stored.peak_pnl,
            stored.max_drawdown
        from (
            {{ rows_matching(this, 'previous_days', [
                ('wallet_address', 'trader_address'), ('day', 'day')
            ]) }}
        ) as stored

    ),

    -- the state each position enters the recomputed days with: its final state when untouched
    -- since (its only row here), else the state before its first recomputed event (the ledger
    -- keeps it on the event's row: looking up the row before would hash the whole ledger). Any
    -- epoch before the trader's first recomputed day places it: no day before that is recomputed.
    first_recomputed_events as (

        select
            trader_address,
            token_id,
            event_seq,
            start_day_start_epoch,
            shares_before_units,
            avg_price_before_e18,
            row_number() over (
                partition by trader_address, token_id order by event_seq
            ) as recomputed_rank
        from recomputed_ledger

    ),

    held_positions as (

        select
            summaries.trader_address,
            summaries.token_id,
            summaries.last_activity_epoch,
            summaries.shares_units,
            summaries.avg_price_e18,
            coalesce(
                conditions.is_resolved
                and conditions.resolved_at_epoch
                <= affected_traders.start_day_start_epoch + 86399
                and tokens.payout_price_e18 is not null,
                false
            ) as is_settled,
            tokens.payout_price_e18
        from summaries
        inner join affected_traders
            on
                summaries.trader_address = affected_traders.trader_address
                and summaries.last_activity_epoch < affected_traders.start_day_start_epoch
        left join tokens
            on summaries.token_id = tokens.token_id
        left join conditions
            on tokens.condition_id = conditions.condition_id
        where summaries.shares_units > 0

    ),

    -- those resolved by the first recomputed day are marked at their payout at the end of
    -- every recomputed day: summed once per trader, not once per trader and day
    settled_holdings as (

        select
            trader_address,
            count(*) as open_positions,
            sum(shares_units * (payout_price_e18 - avg_price_e18)) as unrealized_pnl_e24,
            sum(shares_units * payout_price_e18) as position_value_e24
        from held_positions
        where is_settled
        group by trader_address

    ),

    state_events as (

        select
            trader_address,
            token_id,
            cast(0 as bigint) as event_seq,
            last_activity_epoch as event_epoch,
            shares_units,
            avg_price_e18
        from held_positions
        where not is_settled
        union all
        select
            trader_address,
            token_id,
            event_seq - 1 as event_seq,
            start_day_start_epoch - 1 as event_epoch,
            shares_before_units as shares_units,
            avg_price_before_e18 as avg_price_e18
        from first_recomputed_events
        where recomputed_rank = 1
        union all
        select
            trader_address,
            token_id,
            event_seq,
            event_epoch,
            shares_units,
            avg_price_e18
        from recomputed_ledger

    ),

    fills as (

        select all_fills.*
        from all_fills
        inner join affected_traders
            on
                all_fills.trader_address = affected_traders.trader_address
                and all_fills.filled_at_epoch >= affected_traders.start_day_start_epoch
        where all_fills.filled_at_epoch >= (select start_day_start_epoch from recomputed_from)

    ),

    day_prices as (

        select prices.*
        from prices
        where prices.day_start_epoch >= (select start_day_start_epoch from recomputed_from)

    ),

{% else %}

state_events as (

    select * from ledger

),

recomputed_ledger as (

    select * from ledger

),

fills as (

    select * from all_fills

),

day_prices as (

    select * from prices

),

{% endif %}

daily_events as (

    select
        trader_address,
        day_start_epoch,
        sum(cash_e24) as cash_flow_e24,
        sum(realized_delta_e24) as realized_pnl_e24
    from recomputed_ledger
    group by trader_address, day_start_epoch

),

{% if is_incremental() %}

    -- the running sums before the recomputed days: the previous active day's, less its own;
    -- and the peak and drawdown up to that day, which the recomputed days continue
    opening_sums as (

        select
            previous_rows.trader_address,
            previous_rows.cumulative_cash_flow_e24
            - coalesce(daily_events.cash_flow_e24, 0) as cash_flow_e24,
            previous_rows.cumulative_realized_pnl_e24
            - coalesce(daily_events.realized_pnl_e24, 0) as realized_pnl_e24,
            previous_rows.peak_pnl,
            previous_rows.max_drawdown
        from previous_rows
        left join daily_events
            on
                previous_rows.trader_address = daily_events.trader_address
                and previous_rows.day_start_epoch = daily_events.day_start_epoch

    ),

{% endif %}

daily_fills as (

    select
        trader_address,
        {{ epoch_to_day_start('filled_at_epoch') }} as day_start_epoch,
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
    from state_events

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
    left join day_prices as prices
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
        {% if is_incremental() -%}
            coalesce(opening_sums.cash_flow_e24, 0) +
        {%- endif %}
        sum(daily_events.cash_flow_e24) over (
            partition by daily_events.trader_address
            order by daily_events.day_start_epoch
            rows between unbounded preceding and current row
        ) as cumulative_cash_flow_e24,
        {% if is_incremental() -%}
            coalesce(opening_sums.realized_pnl_e24, 0) +
        {%- endif %}
        sum(daily_events.realized_pnl_e24) over (
            partition by daily_events.trader_address
            order by daily_events.day_start_epoch
            rows between unbounded preceding and current row
        ) as cumulative_realized_pnl_e24,
        {%- for column in ['open_positions', 'unrealized_pnl_e24', 'position_value_e24'] %}
            coalesce(day_end_holdings.{{ column }}, 0)
            {%- if is_incremental() %} + coalesce(settled_holdings.{{ column }}, 0){% endif %}
            as {{ column }},
        {%- endfor %}
        {% if is_incremental() -%}
            opening_sums.peak_pnl as previous_peak_pnl,
            coalesce(opening_sums.max_drawdown, 0) as previous_max_drawdown
        {%- else -%}
            cast(null as decimal(38, 6)) as previous_peak_pnl,
            0 as previous_max_drawdown
        {%- endif %}
    from daily_events
    left join daily_fills
        on
            daily_events.trader_address = daily_fills.trader_address
            and daily_events.day_start_epoch = daily_fills.day_start_epoch
    left join day_end_holdings
        on
            daily_events.trader_address = day_end_holdings.trader_address
            and daily_events.day_start_epoch = day_end_holdings.day_start_epoch
    {% if is_incremental() -%}
        left join opening_sums
            on daily_events.trader_address = opening_sums.trader_address
        left join settled_holdings
            on daily_events.trader_address = settled_holdings.trader_address
    {%- endif %}

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
        ), 0) as pnl_e24,
        {{ money('cumulative_pnl_e24') }} as cumulative_pnl
    from with_pnl

),

-- the highest cumulative PnL (as shown, to the micro-USDC) at the end of any active day so
-- far, and the largest fall from such a peak so far (DESIGN section 2, "Trader risk"):
-- traders_v2 reads a trader's max_drawdown from its last row and as_of. An incremental run
-- continues them from the previous active day's stored row (opening_sums).
with_peaks as (

    select
        *,
        greatest(
            previous_peak_pnl,
            max(cumulative_pnl) over (
                partition by trader_address
                order by day_start_epoch
                rows between unbounded preceding and current row
            )
        ) as peak_pnl
    from with_daily_pnl

),

with_drawdowns as (

    select
        *,
        greatest(
            previous_max_drawdown,
            max(peak_pnl - cumulative_pnl) over (
                partition by trader_address
                order by day_start_epoch
                rows between unbounded preceding and current row
            )
        ) as max_drawdown
    from with_peaks

)

select
    with_drawdowns.trader_address as wallet_address,
    {{ epoch_to_date('with_drawdowns.day_start_epoch') }} as day,
    with_drawdowns.trades,
    with_drawdowns.buy_volume,
    with_drawdowns.sell_volume,
    with_drawdowns.buy_volume + with_drawdowns.sell_volume as volume,
    {{ money('with_drawdowns.cash_flow_e24') }} as cash_flow,
    {{ money('with_drawdowns.realized_pnl_e24') }} as realized_pnl,
    {{ money('with_drawdowns.pnl_e24') }} as pnl,
    {{ money('with_drawdowns.cumulative_realized_pnl_e24') }} as cumulative_realized_pnl,
    {{ money('with_drawdowns.unrealized_pnl_e24') }} as unrealized_pnl,
    with_drawdowns.cumulative_pnl,
    {{ money('with_drawdowns.position_value_e24') }} as position_value,
    {{ money('with_drawdowns.end_of_day_equity_e24') }} as end_of_day_equity,
    with_drawdowns.open_positions,
    cast(with_drawdowns.peak_pnl as decimal(38, 6)) as peak_pnl,
    cast(with_drawdowns.max_drawdown as decimal(38, 6)) as max_drawdown,
    {{ to_int('with_drawdowns.cumulative_cash_flow_e24') }} as cumulative_cash_flow_e24,
    {{ to_int('with_drawdowns.cumulative_realized_pnl_e24') }} as cumulative_realized_pnl_e24,
    watermark.extracted_at

from with_drawdowns
cross join watermark
{% if is_incremental() -%}
    inner join affected_traders
        on
            with_drawdowns.trader_address = affected_traders.trader_address
            and with_drawdowns.day_start_epoch >= affected_traders.from_day_start_epoch
{%- endif %}

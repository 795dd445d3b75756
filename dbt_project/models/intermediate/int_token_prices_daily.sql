-- Each token's closing price on every UTC day from its first fill to the watermark: the price
-- of the last fill at or before 23:59:59 that day, whoever made it, in (timestamp, id) order.
-- Dense, so end-of-day marks are an equality join.

with

fills as (

    select
        token_id,
        fill_id,
        filled_at_epoch,
        price_e18,
        cast({{ idiv('filled_at_epoch', 86400) }} * 86400 as bigint) as day_start_epoch
    from {{ ref('stg_polymarket__order_filled_events') }}
    where price_e18 is not null

),

watermark as (

    select
        cast({{ idiv('as_of_epoch', 86400) }} * 86400 as bigint) as last_day_start_epoch
    from {{ ref('int_event_times_summarized') }}

),

ranked_fills as (

    select
        token_id,
        day_start_epoch,
        price_e18,
        row_number() over (
            partition by token_id, day_start_epoch
            order by filled_at_epoch desc, {{ binary_text('fill_id') }} desc
        ) as recency
    from fills

),

traded_days as (

    select
        token_id,
        day_start_epoch,
        price_e18 as close_price_e18
    from ranked_fills
    where recency = 1

),

token_ranges as (

    select
        token_id,
        min(day_start_epoch) as first_day_start_epoch
    from traded_days
    group by token_id

),

calendar as (

    select cast(day_start_epoch as bigint) as day_start_epoch
    from watermark
    cross join generate_series(
        (select min(first_day_start_epoch) from token_ranges),
        last_day_start_epoch,
        cast(86400 as bigint)
    ) as days (day_start_epoch)

),

token_days as (

    select
        token_ranges.token_id,
        calendar.day_start_epoch,
        traded_days.close_price_e18,
        count(traded_days.close_price_e18) over (
            partition by token_ranges.token_id
            order by calendar.day_start_epoch
            rows between unbounded preceding and current row
        ) as traded_day_number
    from token_ranges
    inner join calendar
        on token_ranges.first_day_start_epoch <= calendar.day_start_epoch
    left join traded_days
        on
            token_ranges.token_id = traded_days.token_id
            and calendar.day_start_epoch = traded_days.day_start_epoch

)

select
    token_id,
    day_start_epoch,
    max(close_price_e18) over (
        partition by token_id, traded_day_number
    ) as close_price_e18

from token_days

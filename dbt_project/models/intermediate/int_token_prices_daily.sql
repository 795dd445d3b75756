{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key=['token_id', 'day_start_epoch'],
        on_schema_change='fail',
        indexes=postgres_indexes([
            {'columns': ['token_id', 'day_start_epoch'], 'unique': true},
            {'columns': ['extracted_at']},
        ]),
    )
}}

-- Each token's closing price on every UTC day from its first fill to the watermark: the price
-- of the last fill at or before 23:59:59 that day, whoever made it, in event order (timestamp,
-- then event_sort_key: subgraph fills by id, then chain fills by block and log index).
-- Dense, so end-of-day marks are an equality join.
--
-- Incremental runs recompute each token from the day of its earliest fill that landed after
-- the newest row here (a late fill moves every close after it until the next traded day),
-- forward-filling from the stored close of the day before; every other token only gains the
-- days the watermark moved past. A recomputed row equal to the stored one keeps its stamp, so
-- trader_stats can tell which end-of-day marks changed.

with

-- not materialized: each read below takes only the fills it needs (DuckDB would otherwise
-- compute the CTE over every fill once, before any filter reaches it)
fills as not materialized (

    select
        token_id,
        event_sort_key,
        filled_at_epoch,
        price_e18,
        {{ epoch_to_day_start('filled_at_epoch') }} as day_start_epoch,
        extracted_at
    from {{ ref('int_order_fills_unioned') }}
    where price_e18 is not null

),

watermark as (

    select
        {{ epoch_to_day_start('as_of_epoch') }} as last_day_start_epoch,
        extracted_at
    from {{ ref('int_event_times_summarized') }}

),

{% if is_incremental() %}
    {%- set loaded = stored_watermark(this) %}

    -- the first day to recompute per token: its earliest new fill, else the first new day
    recomputed_tokens as (

        select
            token_id,
            min(from_day_start_epoch) as from_day_start_epoch
        from (
            select
                fills.token_id,
                fills.day_start_epoch as from_day_start_epoch
            from fills
            where fills.extracted_at > {{ loaded }}
            union all
            select
                token_id,
                max(day_start_epoch) + 86400 as from_day_start_epoch
            from {{ this }}
            group by token_id
        ) as starts
        group by token_id

    ),

    -- the stored close of the day before, which the recomputed days forward-fill from
    seed_closes as (

        select
            recomputed_tokens.token_id,
            stored.day_start_epoch,
            stored.close_price_e18
        from recomputed_tokens
        inner join {{ this }} as stored
            on
                recomputed_tokens.token_id = stored.token_id
                and recomputed_tokens.from_day_start_epoch - 86400 = stored.day_start_epoch

    ),

    recomputed_fills as (

        select fills.*
        from fills
        inner join recomputed_tokens
            on
                fills.token_id = recomputed_tokens.token_id
                and fills.day_start_epoch >= recomputed_tokens.from_day_start_epoch
        -- a scalar bound on the column itself: the scan skips the older history
        where fills.filled_at_epoch >= (
            select min(recomputed_tokens.from_day_start_epoch) from recomputed_tokens
        )

    ),

{% else %}

recomputed_fills as (

    select * from fills

),

{% endif %}

ranked_fills as (

    select
        token_id,
        day_start_epoch,
        price_e18,
        row_number() over (
            partition by token_id, day_start_epoch
            order by filled_at_epoch desc, {{ binary_text('event_sort_key') }} desc
        ) as recency
    from recomputed_fills

),

traded_days as (

    select
        token_id,
        day_start_epoch,
        price_e18 as close_price_e18
    from ranked_fills
    where recency = 1
    {% if is_incremental() %}
        union all
        select * from seed_closes
    {% endif %}

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

),

closes as (

    select
        token_id,
        day_start_epoch,
        max(close_price_e18) over (
            partition by token_id, traded_day_number
        ) as close_price_e18
    from token_days

)

{% if is_incremental() %}

    select
        closes.token_id,
        closes.day_start_epoch,
        closes.close_price_e18,
        case
            when closes.close_price_e18 = stored.close_price_e18 then stored.extracted_at
            else watermark.extracted_at
        end as extracted_at
    from closes
    inner join recomputed_tokens
        on
            closes.token_id = recomputed_tokens.token_id
            and closes.day_start_epoch >= recomputed_tokens.from_day_start_epoch
    cross join watermark
    left join {{ this }} as stored
        on
            closes.token_id = stored.token_id
            and closes.day_start_epoch = stored.day_start_epoch

{% else %}

select
    closes.token_id,
    closes.day_start_epoch,
    closes.close_price_e18,
    watermark.extracted_at
from closes
cross join watermark

{% endif %}

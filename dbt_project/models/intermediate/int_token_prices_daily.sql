{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key=['token_id', 'day_start_epoch'],
        on_schema_change='fail',
        pre_hook="{{ drop_closes_past_resolution() }}",
        indexes=postgres_indexes([
            {'columns': ['token_id', 'day_start_epoch'], 'unique': true},
            {'columns': ['day_start_epoch']},
            {'columns': ['extracted_at']},
        ]),
    )
}}

-- Each token's closing price on every UTC day from its first fill to the watermark, or to its
-- condition's resolution day once resolved (from resolved_at on a token is marked at its
-- payout, so later closes would never be read): the price of the last fill at or before
-- 23:59:59 that day, whoever made it, in event order (timestamp, then event_sort_key: subgraph
-- fills by id, then chain fills by block and log index). Dense, so end-of-day marks are an
-- equality join; ending at the resolution keeps the table growing with the markets, not with
-- markets x days.
--
-- Incremental runs recompute each token from the day of its earliest fill that landed after
-- the newest row here (a late fill moves every close after it until the next traded day),
-- forward-filling from the stored close of the day before. A token whose closes reach the
-- last stored day (not resolved before it) or whose condition was rewritten since gains the
-- days from its last stored one to its last day now; the pre-hook drops the days past a
-- resolution that moved earlier. A recomputed row equal to the stored one keeps its stamp, so
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

-- the last day a token's closes run to: its condition's resolution day once resolved, else
-- the watermark's
token_last_days as (

    select
        tokens.token_id,
        least(
            {{ epoch_to_day_start('conditions.resolved_at_epoch') }},
            watermark.last_day_start_epoch
        ) as last_day_start_epoch
    from {{ ref('int_outcome_tokens_enumerated') }} as tokens
    inner join {{ ref('int_conditions_resolved') }} as conditions
        on tokens.condition_id = conditions.condition_id
    cross join watermark
    where conditions.is_resolved

),

{% if is_incremental() %}
    {%- set loaded = stored_watermark(this) %}

    -- the tokens whose last day may have moved later: those whose closes reach the last
    -- stored day (the watermark's then, found through the day index), and those of a
    -- condition rewritten since (its resolution may have moved)
    extended_tokens as (

        select token_id
        from {{ this }}
        where day_start_epoch = (select max(day_start_epoch) from {{ this }})
        union
        select tokens.token_id
        from {{ ref('int_outcome_tokens_enumerated') }} as tokens
        inner join {{ ref('int_conditions_resolved') }} as conditions
            on tokens.condition_id = conditions.condition_id
        where conditions.extracted_at > {{ loaded }}

    ),

    stored_last_days as (

        select
            stored.token_id,
            max(stored.day_start_epoch) as last_day_start_epoch
        from {{ this }} as stored
        inner join extended_tokens
            on stored.token_id = extended_tokens.token_id
        group by stored.token_id

    ),

    -- the first day to recompute per token: its earliest new fill, else the day after its
    -- last stored one when its last day is later now
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
                stored_last_days.token_id,
                stored_last_days.last_day_start_epoch + 86400 as from_day_start_epoch
            from stored_last_days
            cross join watermark
            left join token_last_days
                on stored_last_days.token_id = token_last_days.token_id
            where
                stored_last_days.last_day_start_epoch < coalesce(
                    token_last_days.last_day_start_epoch, watermark.last_day_start_epoch
                )
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
    left join token_last_days
        on token_ranges.token_id = token_last_days.token_id
    left join traded_days
        on
            token_ranges.token_id = traded_days.token_id
            and calendar.day_start_epoch = traded_days.day_start_epoch
    where
        token_last_days.last_day_start_epoch is null
        or calendar.day_start_epoch <= token_last_days.last_day_start_epoch

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

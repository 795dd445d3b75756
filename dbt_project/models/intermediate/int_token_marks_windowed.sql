-- The mark of every enumerated or priced token at the ends and starts of the leaderboard
-- windows: as_of ('now') and as_of minus 1, 7 and 30 days. A resolved token is marked at its
-- payout from resolved_at on; before that at the price of its last fill at or before the
-- instant, whoever made it.
-- mark_e18 is null when neither applies (positions then use their own average cost).

with

watermark as (

    select * from {{ ref('int_event_times_summarized') }}

),

fills as (

    select * from {{ ref('int_order_fills_unioned') }}

),

tokens as (

    select * from {{ ref('int_outcome_tokens_enumerated') }}

),

conditions as (

    select * from {{ ref('int_conditions_resolved') }}

),

prices as (

    select * from {{ ref('int_token_prices_daily') }}

),

instants as (

    select
        instant_name,
        mark_at_epoch,
        {{ epoch_to_day_start('mark_at_epoch') }} as day_start_epoch
    from (
        select
            'now' as instant_name,
            as_of_epoch as mark_at_epoch
        from watermark
        {% for name, seconds in windows() %}
            union all
            select
                '{{ name }}',
                as_of_epoch - {{ seconds }}
            from watermark
        {% endfor %}
    ) as named_instants

),

-- every token with a priced fill has daily closes: the fills themselves are read for one day
-- per instant only
traded_tokens as (

    select distinct token_id from prices
    union
    select token_id from tokens

),

-- the last fill at or before an instant is the last one of the instant's own day up to it,
-- else the close of the day before: one day of fills is read per instant
same_day_fills as (

    select
        instants.instant_name,
        fills.token_id,
        fills.price_e18,
        row_number() over (
            partition by instants.instant_name, fills.token_id
            order by fills.filled_at_epoch desc, {{ binary_text('fills.event_sort_key') }} desc
        ) as recency
    from fills
    inner join instants
        on
            fills.filled_at_epoch >= instants.day_start_epoch
            and fills.filled_at_epoch <= instants.mark_at_epoch
    where
        fills.price_e18 is not null
        -- a scalar bound on the column itself: the scan skips the older history
        and fills.filled_at_epoch >= (select min(instants.day_start_epoch) from instants)

),

last_prices as (

    select
        instants.instant_name,
        traded_tokens.token_id,
        coalesce(same_day_fills.price_e18, prices.close_price_e18) as price_e18
    from traded_tokens
    cross join instants
    left join same_day_fills
        on
            instants.instant_name = same_day_fills.instant_name
            and traded_tokens.token_id = same_day_fills.token_id
            and same_day_fills.recency = 1
    left join prices
        on
            traded_tokens.token_id = prices.token_id
            and instants.day_start_epoch - 86400 = prices.day_start_epoch

)

select
    instants.instant_name,
    instants.mark_at_epoch,
    last_prices.token_id,
    case
        when conditions.is_resolved and instants.mark_at_epoch >= conditions.resolved_at_epoch
            then tokens.payout_price_e18
        else last_prices.price_e18
    end as mark_e18

from last_prices
inner join instants
    on last_prices.instant_name = instants.instant_name
left join tokens
    on last_prices.token_id = tokens.token_id
left join conditions
    on tokens.condition_id = conditions.condition_id

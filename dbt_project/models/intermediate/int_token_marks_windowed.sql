-- The mark of every token at the ends and starts of the leaderboard windows: as_of ('now')
-- and as_of minus 1, 7 and 30 days. A resolved token is marked at its payout from resolved_at
-- on; before that at the price of its last fill at or before the instant, whoever made it.
-- mark_e18 is null when neither applies (positions then use their own average cost).

with

watermark as (

    select * from {{ ref('int_event_times_summarized') }}

),

fills as (

    select * from {{ ref('stg_polymarket__order_filled_events') }}

),

tokens as (

    select * from {{ ref('int_outcome_tokens_enumerated') }}

),

conditions as (

    select * from {{ ref('int_conditions_resolved') }}

),

instants as (

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

),

traded_tokens as (

    select distinct token_id from fills
    union
    select token_id from tokens

),

fill_intervals as (

    select
        token_id,
        filled_at_epoch,
        price_e18,
        lead(filled_at_epoch) over (
            partition by token_id
            order by filled_at_epoch, {{ binary_text('fill_id') }}
        ) as next_filled_at_epoch
    from fills
    where price_e18 is not null

),

-- the last fill at or before an instant: the one whose interval to the next fill holds it
last_prices as (

    select
        instants.instant_name,
        fill_intervals.token_id,
        fill_intervals.price_e18
    from fill_intervals
    inner join instants
        on
            fill_intervals.filled_at_epoch <= instants.mark_at_epoch
            and (
                fill_intervals.next_filled_at_epoch is null
                or fill_intervals.next_filled_at_epoch > instants.mark_at_epoch
            )

)

select
    instants.instant_name,
    instants.mark_at_epoch,
    traded_tokens.token_id,
    case
        when conditions.is_resolved and instants.mark_at_epoch >= conditions.resolved_at_epoch
            then tokens.payout_price_e18
        else last_prices.price_e18
    end as mark_e18

from traded_tokens
cross join instants
left join tokens
    on traded_tokens.token_id = tokens.token_id
left join conditions
    on tokens.condition_id = conditions.condition_id
left join last_prices
    on
        instants.instant_name = last_prices.instant_name
        and traded_tokens.token_id = last_prices.token_id

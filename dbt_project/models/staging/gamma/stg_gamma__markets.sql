-- Gamma markets, one per condition: where Gamma lists a condition twice, its latest edit.

with

source as (

    select * from {{ source('gamma', 'markets') }}

),

ranked as (

    select
        *,
        row_number() over (
            partition by condition_id order by updated_at desc nulls last, id desc
        ) as edit_rank
    from source
    where condition_id is not null

)

select
    id as market_id,
    condition_id,
    question_id,
    question,
    slug as market_slug,
    group_item_title,
    outcomes as outcome_labels,
    clob_token_ids,
    neg_risk as is_neg_risk,
    neg_risk_market_id,
    closed as is_closed,
    {{ epoch_to_timestamptz('start_date') }} as start_at,
    {{ epoch_to_timestamptz('end_date') }} as end_at,
    {{ epoch_to_timestamptz('closed_time') }} as closed_at,
    icon as icon_url,
    image as image_url,
    -- a market belongs to one event; Gamma lists it as a list of zero or one
    event_ids[1] as event_id,
    tag_ids,
    _extracted_at as extracted_at

from ranked
where edit_rank = 1

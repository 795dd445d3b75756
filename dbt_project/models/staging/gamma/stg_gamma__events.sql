-- Gamma events: the title and slug a market's page is grouped under, and the event's tags.

with

source as (

    select * from {{ source('gamma', 'events') }}

)

select
    id as event_id,
    slug as event_slug,
    title as event_title,
    neg_risk as is_neg_risk,
    closed as is_closed,
    icon as icon_url,
    tag_ids,
    _extracted_at as extracted_at

from source

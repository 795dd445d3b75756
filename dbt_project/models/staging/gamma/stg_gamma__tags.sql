-- Gamma tags, with the leaderboard category each category tag names (null for the others).

with

source as (

    select * from {{ source('gamma', 'tags') }}

)

select
    id as tag_id,
    label as tag_label,
    slug as tag_slug,
    force_hide as is_force_hidden,
    {{ category_of_tag_slug('slug') }} as category,
    {{ category_rank_of_tag_slug('slug') }} as category_rank,
    _extracted_at as extracted_at

from source

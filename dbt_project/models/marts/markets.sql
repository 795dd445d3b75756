{{
    config(
        indexes=postgres_indexes([
            {'columns': ['condition_id'], 'unique': true},
            {'columns': ['category']},
        ]),
    )
}}

-- One row per condition the pipeline knows (from the subgraphs or the chain), with its Gamma
-- metadata where Gamma has it: question, event, outcome labels, category, dates, images and
-- the Polymarket URL. A condition Gamma lacks stays, labelled by its id (`has_metadata`
-- false): metadata never decides what counts.

with

tokens as (

    select * from {{ ref('int_outcome_tokens_enumerated') }}

),

gamma_markets as (

    select * from {{ ref('stg_gamma__markets') }}

),

gamma_events as (

    select * from {{ ref('stg_gamma__events') }}

),

gamma_tags as (

    select * from {{ ref('stg_gamma__tags') }}

),

conditions as (

    select distinct condition_id from tokens
    where condition_id is not null

),

-- the tags of a market are its own (listed with include_tag) and its event's
market_tags as (

    select condition_id, unnest(tag_ids) as tag_id from gamma_markets
    union
    select gamma_markets.condition_id, unnest(gamma_events.tag_ids) as tag_id
    from gamma_markets
    inner join gamma_events on gamma_markets.event_id = gamma_events.event_id

),

-- a market with several category tags takes the first in the leaderboard's order
market_categories as (

    select
        market_tags.condition_id,
        min(gamma_tags.category_rank) as category_rank
    from market_tags
    inner join gamma_tags on market_tags.tag_id = gamma_tags.tag_id
    where gamma_tags.category_rank is not null
    group by market_tags.condition_id

),

category_names as (

    select distinct category_rank, category from gamma_tags
    where category_rank is not null

)

select
    conditions.condition_id,
    gamma_markets.market_id,
    gamma_markets.market_id is not null as has_metadata,
    coalesce(gamma_markets.question, conditions.condition_id) as question,
    gamma_markets.market_slug,
    gamma_markets.group_item_title,
    gamma_markets.outcome_labels,
    gamma_markets.clob_token_ids,
    coalesce(gamma_markets.is_neg_risk, false) as is_neg_risk,
    gamma_markets.event_id,
    gamma_events.event_title,
    gamma_events.event_slug,
    category_names.category,
    gamma_markets.start_at,
    gamma_markets.end_at,
    gamma_markets.is_closed,
    gamma_markets.closed_at,
    coalesce(gamma_markets.icon_url, gamma_events.icon_url) as icon_url,
    gamma_markets.image_url,
    case
        when gamma_events.event_slug is not null and gamma_markets.market_slug is not null
            then
                'https://polymarket.com/event/' || gamma_events.event_slug
                || '/' || gamma_markets.market_slug
        when gamma_markets.market_slug is not null
            then 'https://polymarket.com/market/' || gamma_markets.market_slug
    end as market_url

from conditions
left join gamma_markets
    on conditions.condition_id = gamma_markets.condition_id
left join gamma_events
    on gamma_markets.event_id = gamma_events.event_id
left join market_categories
    on conditions.condition_id = market_categories.condition_id
left join category_names
    on market_categories.category_rank = category_names.category_rank

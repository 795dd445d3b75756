-- Resolution per condition. resolved_at is the block time of its ConditionResolution where the
-- chain source has one, else the first redemption of the condition (by anyone), else its last
-- fill (by anyone); from then on its tokens are marked at their payout.

with

tokens as (

    select * from {{ ref('int_outcome_tokens_enumerated') }}

),

fills as (

    select * from {{ ref('int_order_fills_unioned') }}

),

redemptions as (

    -- both eras': the activity subgraph's and the collateral adapters' (whoever's they are)
    select
        condition_id,
        redeemed_at_epoch
    from {{ ref('stg_polymarket__redemptions') }}
    union all
    select
        condition_id,
        operated_at_epoch as redeemed_at_epoch
    from {{ ref('stg_polymarket__chain_position_operations') }}
    where operation = 'redemption'

),

chain_resolutions as (

    select * from {{ ref('stg_polymarket__chain_condition_resolutions') }}

),

conditions as (

    select
        condition_id,
        max(outcome_count) as outcome_count,
        bool_or(is_resolved) as is_resolved
    from tokens
    group by condition_id

),

last_fills as (

    select
        tokens.condition_id,
        max(fills.filled_at_epoch) as last_fill_epoch
    from fills
    inner join tokens
        on fills.token_id = tokens.token_id
    group by tokens.condition_id

),

first_redemptions as (

    select
        condition_id,
        min(redeemed_at_epoch) as first_redemption_epoch
    from redemptions
    group by condition_id

)

select
    conditions.condition_id,
    conditions.outcome_count,
    conditions.is_resolved,
    chain_resolutions.resolved_at_epoch as chain_resolution_epoch,
    first_redemptions.first_redemption_epoch,
    last_fills.last_fill_epoch,
    -- a resolved condition with neither redemptions nor fills counts as resolved all along
    case
        when conditions.is_resolved
            then coalesce(
                    chain_resolutions.resolved_at_epoch,
                    first_redemptions.first_redemption_epoch,
                    last_fills.last_fill_epoch,
                    0
                )
    end as resolved_at_epoch

from conditions
left join first_redemptions
    on conditions.condition_id = first_redemptions.condition_id
left join last_fills
    on conditions.condition_id = last_fills.condition_id
left join chain_resolutions
    on conditions.condition_id = chain_resolutions.condition_id

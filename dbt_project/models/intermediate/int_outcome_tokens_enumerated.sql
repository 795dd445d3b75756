-- One row per outcome token: its condition, outcome index, the condition's outcome count and,
-- once resolved, its payout price. A condition comes from the pnl subgraph (V1 era) or from its
-- ConditionPreparation on the chain (markets created since the V2 deployment; token ids computed
-- as the CTF does); its payouts from the subgraph or from its ConditionResolution on the chain
-- (the two must agree: assert_condition_payouts_agree_across_sources). Tokens known only from
-- market_data (orderbook subgraph) fill in the condition where it is missing.
-- extracted_at is the newest load of any row that shapes the condition's tokens, so the
-- incremental event models can tell which conditions changed since they last ran.

with

subgraph_conditions as (

    select * from {{ ref('stg_polymarket__conditions') }}

),

chain_preparations as (

    select * from {{ ref('stg_polymarket__chain_condition_preparations') }}

),

chain_resolutions as (

    select * from {{ ref('stg_polymarket__chain_condition_resolutions') }}

),

condition_ids as (

    select condition_id from subgraph_conditions
    union
    select condition_id from chain_preparations
    union
    select condition_id from chain_resolutions

),

conditions as (

    select
        condition_ids.condition_id,
        coalesce(subgraph_conditions.position_ids, chain_preparations.position_ids)
            as position_ids,
        case
            when subgraph_conditions.is_resolved then subgraph_conditions.payout_numerators
            else chain_resolutions.payout_numerators
        end as payout_numerators,
        case
            when subgraph_conditions.is_resolved then subgraph_conditions.payout_denominator
            else chain_resolutions.payout_denominator
        end as payout_denominator,
        coalesce(subgraph_conditions.is_resolved, false)
        or coalesce(chain_resolutions.payout_denominator > 0, false) as is_resolved
    from condition_ids
    left join subgraph_conditions
        on condition_ids.condition_id = subgraph_conditions.condition_id
    left join chain_preparations
        on condition_ids.condition_id = chain_preparations.condition_id
    left join chain_resolutions
        on condition_ids.condition_id = chain_resolutions.condition_id

),

market_data as (

    select * from {{ ref('stg_polymarket__market_data') }}

),

condition_positions as (

    select
        condition_id,
        position_ids,
        payout_numerators,
        payout_denominator,
        is_resolved,
        generate_subscripts(position_ids, 1) as position_index
    from conditions

),

condition_tokens as (

    select
        position_ids[position_index] as token_id,
        condition_id,
        position_index - 1 as outcome_index,
        count(*) over (partition by condition_id) as outcome_count,
        is_resolved,
        case
            when is_resolved
                then {{ to_int('coalesce(payout_numerators[position_index], 0)') }}
        end as payout_numerator,
        payout_denominator
    from condition_positions

),

market_data_only_tokens as (

    select
        market_data.token_id,
        market_data.condition_id,
        market_data.outcome_index,
        count(*) over (partition by market_data.condition_id) as outcome_count,
        false as is_resolved,
        cast(null as {{ int_type() }}) as payout_numerator,
        cast(null as {{ int_type() }}) as payout_denominator
    from market_data
    left join condition_tokens
        on market_data.token_id = condition_tokens.token_id
    where condition_tokens.token_id is null

),

tokens as (

    select * from condition_tokens
    union all
    select * from market_data_only_tokens

),

loads as (

    select
        condition_id,
        extracted_at
    from subgraph_conditions
    union all
    select
        condition_id,
        extracted_at
    from chain_preparations
    union all
    select
        condition_id,
        extracted_at
    from chain_resolutions
    union all
    select
        condition_id,
        extracted_at
    from market_data

),

condition_loads as (

    select
        condition_id,
        max(extracted_at) as extracted_at
    from loads
    group by condition_id

)

select
    tokens.token_id,
    tokens.condition_id,
    tokens.outcome_index,
    tokens.outcome_count,
    tokens.is_resolved,
    tokens.payout_numerator,
    tokens.payout_denominator,
    case
        when tokens.is_resolved
            then {{ idiv('tokens.payout_numerator * ' ~ e18(), 'tokens.payout_denominator') }}
    end as payout_price_e18,
    condition_loads.extracted_at

from tokens
left join condition_loads
    on tokens.condition_id = condition_loads.condition_id

-- A condition resolved in both sources (the pnl subgraph and a ConditionResolution log on the
-- chain) must have the same payout in each: one row per condition disagreeing.

select
    subgraph.condition_id,
    subgraph.payout_numerators as subgraph_numerators,
    chain.payout_numerators as chain_numerators
from {{ ref('stg_polymarket__conditions') }} as subgraph
inner join {{ ref('stg_polymarket__chain_condition_resolutions') }} as chain
    on subgraph.condition_id = chain.condition_id
where
    subgraph.is_resolved
    and (
        subgraph.payout_denominator != chain.payout_denominator
        or cast(subgraph.payout_numerators as {{ text_type() }})
        != cast(chain.payout_numerators as {{ text_type() }})
    )

{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key='condition_id',
        on_schema_change='fail',
        pre_hook="{{ drop_unenumerated_conditions() }}",
        indexes=postgres_indexes([
            {'columns': ['condition_id'], 'unique': true},
        ]),
    )
}}

-- Resolution per condition. resolved_at is the block time of its ConditionResolution where the
-- chain source has one, else the first redemption of the condition (by anyone), else its last
-- fill (by anyone); from then on its tokens are marked at their payout.
-- Incremental runs recompute the conditions with a row loaded since (markets_loaded_since):
-- every input of a condition's row is one of its own rows. A condition's fills are found by
-- its tokens (int_order_fills_unioned's token index on PostgreSQL), not by scanning them all.
-- Only the rows that differ from the stored ones are written: a condition keeps its stamp
-- until its row moves, so the models downstream re-mark a resolved market's positions when
-- its resolution moved, not whenever one more of its redemptions lands (most of a long
-- history's markets are resolved, and redemptions keep coming for months).

{%- set loaded = stored_watermark(this) if is_incremental() %}

with

tokens as (

    select * from {{ ref('int_outcome_tokens_enumerated') }}

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
        tokens.condition_id,
        max(tokens.outcome_count) as outcome_count,
        bool_or(tokens.is_resolved) as is_resolved
    from tokens
    {% if is_incremental() -%}
        inner join ({{ markets_loaded_since(loaded) }}) as loaded_markets
            on tokens.condition_id = loaded_markets.market_id
    {% endif -%}
    group by tokens.condition_id

),

condition_tokens as (

    select
        tokens.condition_id,
        tokens.token_id
    from tokens
    inner join conditions
        on tokens.condition_id = conditions.condition_id

),

-- each condition's newest fill, read per token
last_fills as (

    {{ last_fills_by_condition('condition_tokens') }}

),

-- a refresh looks the redemptions of its few conditions up (by the raw tables' condition
-- index on PostgreSQL), where a join scans every redemption of the history
first_redemptions as (

    select
        condition_redemptions.condition_id,
        min(condition_redemptions.redeemed_at_epoch) as first_redemption_epoch
    from (
        {% if is_incremental() -%}
            {{ rows_matching('redemptions', 'conditions', [('condition_id', 'condition_id')]) }}
        {%- else -%}
            select redemptions.*
            from redemptions
            inner join conditions
                on redemptions.condition_id = conditions.condition_id
        {%- endif %}
    ) as condition_redemptions
    group by condition_redemptions.condition_id

),

computed as (

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
        end as resolved_at_epoch,
        {{ newest_position_load() }} as extracted_at

    from conditions
    left join first_redemptions
        on conditions.condition_id = first_redemptions.condition_id
    left join last_fills
        on conditions.condition_id = last_fills.condition_id
    left join chain_resolutions
        on conditions.condition_id = chain_resolutions.condition_id

)

{% if is_incremental() %}

    select computed.*
    from computed
    left join {{ this }} as stored
        on computed.condition_id = stored.condition_id
    where
        stored.condition_id is null
        or not {{ same_values('computed', 'stored', [
            'outcome_count', 'is_resolved', 'chain_resolution_epoch',
            'first_redemption_epoch', 'last_fill_epoch', 'resolved_at_epoch',
        ]) }}

{% else %}

select * from computed

{% endif %}

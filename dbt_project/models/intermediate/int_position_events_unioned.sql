{{
    config(
        indexes=postgres_indexes([
            {'columns': ['trader_address', 'token_id', 'event_seq'], 'unique': true},
        ]),
    )
}}

-- Every event that moves a position (trader, token), numbered in (timestamp, id) order.
-- Fills are one event; a split or merge is one event per outcome token of its condition
-- (a buy or sell of every outcome at 1 / outcomes); a redemption is one event per redeemed
-- outcome, sold at its payout. Amounts are scaled integers (see macros/exact_arithmetic.sql):
--   quantity_units  shares x 1e6 requested (null for a redemption: all held shares)
--   cost_e24        what an increase pays, USDC x 1e24 (moves the average cost)
--   price_e18       what a decrease realizes per share, x 1e18 (net of fee for fills)
--   cash_e24        USDC received minus paid, x 1e24
-- Redemptions wait for their condition's payout, and splits and merges for its outcome
-- tokens: until then they are not events yet, and arrive later as late events.

with

fills as (

    select * from {{ ref('int_fills_attributed') }}

),

splits as (

    select * from {{ ref('stg_polymarket__splits') }}
    where stakeholder_address not in {{ excluded_addresses_sql() }}

),

merge_sets as (

    select * from {{ ref('stg_polymarket__merges') }}
    where stakeholder_address not in {{ excluded_addresses_sql() }}

),

redemptions as (

    select * from {{ ref('stg_polymarket__redemptions') }}
    where redeemer_address not in {{ excluded_addresses_sql() }}

),

tokens as (

    select * from {{ ref('int_outcome_tokens_enumerated') }}

),

fill_events as (

    -- the condition from the token enumeration, which can come after the fill
    select
        fills.trader_address,
        fills.token_id,
        tokens.condition_id,
        fills.fill_id as event_id,
        lower(fills.side) as event_kind,
        fills.filled_at_epoch as event_epoch,
        fills.side = 'BUY' as is_increase,
        case
            when fills.side = 'BUY' then fills.share_units - fills.fee_units
            else fills.share_units
        end as quantity_units,
        case when fills.side = 'BUY' then fills.usdc_units * {{ e18() }} end as cost_e24,
        case
            when fills.side = 'SELL' and fills.share_units > 0
                then {{ idiv(
                    '(fills.usdc_units - fills.fee_units) * ' ~ e18(), 'fills.share_units'
                ) }}
            when fills.side = 'SELL' then {{ to_int(0) }}
        end as price_e18,
        case
            when fills.side = 'BUY' then -fills.usdc_units * {{ e18() }}
            else (fills.usdc_units - fills.fee_units) * {{ e18() }}
        end as cash_e24,
        fills.usdc_units as fill_usdc_units
    from fills
    left join tokens
        on fills.token_id = tokens.token_id

),

split_events as (

    select
        splits.stakeholder_address as trader_address,
        tokens.token_id,
        splits.condition_id,
        splits.split_id as event_id,
        'split' as event_kind,
        splits.split_at_epoch as event_epoch,
        true as is_increase,
        splits.amount_units as quantity_units,
        splits.amount_units * {{ idiv(e18(), 'tokens.outcome_count') }} as cost_e24,
        cast(null as {{ int_type() }}) as price_e18,
        -{{ idiv('splits.amount_units * ' ~ e18(), 'tokens.outcome_count') }} as cash_e24,
        cast(null as {{ int_type() }}) as fill_usdc_units
    from splits
    inner join tokens
        on splits.condition_id = tokens.condition_id

),

merge_events as (

    select
        merge_sets.stakeholder_address as trader_address,
        tokens.token_id,
        merge_sets.condition_id,
        merge_sets.merge_id as event_id,
        'merge' as event_kind,
        merge_sets.merged_at_epoch as event_epoch,
        false as is_increase,
        merge_sets.amount_units as quantity_units,
        cast(null as {{ int_type() }}) as cost_e24,
        {{ idiv(e18(), 'tokens.outcome_count') }} as price_e18,
        {{ idiv('merge_sets.amount_units * ' ~ e18(), 'tokens.outcome_count') }} as cash_e24,
        cast(null as {{ int_type() }}) as fill_usdc_units
    from merge_sets
    inner join tokens
        on merge_sets.condition_id = tokens.condition_id

),

redemption_index_sets as (

    select
        redemption_id,
        condition_id,
        unnest(index_sets) as index_set
    from redemptions

),

redeemed_tokens as (

    select distinct
        redemption_index_sets.redemption_id,
        tokens.token_id,
        tokens.payout_numerator,
        tokens.payout_price_e18
    from redemption_index_sets
    inner join tokens
        on
            redemption_index_sets.condition_id = tokens.condition_id
            and tokens.is_resolved
            -- bit outcome_index of the index set is set
            and {{ idiv(
                'redemption_index_sets.index_set', to_int('power(2, tokens.outcome_index)')
            ) }} % 2 = 1

),

redeemed_numerators as (

    select
        redemption_id,
        sum(payout_numerator) as payout_numerator_total
    from redeemed_tokens
    group by redemption_id

),

redemption_events as (

    select
        redemptions.redeemer_address as trader_address,
        redeemed_tokens.token_id,
        redemptions.condition_id,
        redemptions.redemption_id as event_id,
        'redemption' as event_kind,
        redemptions.redeemed_at_epoch as event_epoch,
        false as is_increase,
        cast(null as {{ int_type() }}) as quantity_units,
        cast(null as {{ int_type() }}) as cost_e24,
        redeemed_tokens.payout_price_e18 as price_e18,
        -- the payout is shared among the redeemed outcomes by their payout numerators
        case
            when redeemed_numerators.payout_numerator_total > 0
                then {{ idiv(
                    'redemptions.payout_units * ' ~ e18() ~ ' * redeemed_tokens.payout_numerator',
                    'redeemed_numerators.payout_numerator_total'
                ) }}
            else {{ to_int(0) }}
        end as cash_e24,
        cast(null as {{ int_type() }}) as fill_usdc_units
    from redemptions
    inner join redeemed_tokens
        on redemptions.redemption_id = redeemed_tokens.redemption_id
    inner join redeemed_numerators
        on redemptions.redemption_id = redeemed_numerators.redemption_id

),

position_events as (

    select * from fill_events
    union all
    select * from split_events
    union all
    select * from merge_events
    union all
    select * from redemption_events

)

select
    trader_address,
    token_id,
    condition_id,
    event_id,
    row_number() over (
        partition by trader_address, token_id
        order by event_epoch, {{ binary_text('event_id') }}
    ) as event_seq,
    event_kind,
    event_epoch,
    is_increase,
    quantity_units,
    cost_e24,
    price_e18,
    cash_e24,
    fill_usdc_units

from position_events

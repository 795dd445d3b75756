{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key=['trader_address', 'token_id', 'event_seq'],
        on_schema_change='fail',
        indexes=postgres_indexes([
            {'columns': ['trader_address', 'token_id', 'event_seq'], 'unique': true},
            {'columns': ['extracted_at']},
            {'columns': ['token_id']},
        ]),
    )
}}

-- Every event that moves a position (trader, token), numbered in event order: by timestamp,
-- then subgraph events by id, then chain events by (block, log index) (event_sort_key).
-- Fills are one event; a split or merge is one event per outcome token of its condition
-- (a buy or sell of every outcome at 1 / outcomes); a redemption is one event per redeemed
-- outcome the trader held (a position with another event), sold at its payout. Splits, merges
-- and redemptions come from the V1 activity subgraph and, for the V2 era, from the collateral
-- adapters' operations attributed to their users (int_position_operations_attributed), the
-- same way; a V2 neg-risk conversion is one event per token it takes or gives
-- (int_position_conversion_legs). Amounts are scaled integers (see macros/exact_arithmetic.sql):
--   quantity_units  shares x 1e6 requested (null for a redemption: all held shares)
--   cost_e24        what an increase pays, USDC x 1e24 (moves the average cost)
--   price_e18       what a decrease realizes per share, x 1e18 (net of fee for fills)
--   cash_e24        USDC received minus paid, x 1e24
--   extracted_at    the newest load among the rows the event derives from (its source event
--                   and its condition's tokens): the incremental watermark
-- Redemptions wait for their condition's payout, and splits and merges for its outcome
-- tokens: until then they are not events yet, and arrive later as late events.
--
-- Incremental runs rebuild only the positions of int_position_events_scope (what changed
-- since the last build), each with all its events (a late event renumbers the ones after
-- it); of those, the event rows that differ from the stored ones are replaced (delete+insert
-- on (trader, token, seq)).
-- depends_on: {{ ref('int_position_events_scope') }}

with

all_fills as (

    select * from {{ ref('int_fills_attributed') }}

),

all_operations as (

    select * from {{ ref('int_collateral_operations_unioned') }}

),

all_conversion_legs as (

    select * from {{ ref('int_position_conversion_legs') }}

),

tokens as (

    select * from {{ ref('int_outcome_tokens_enumerated') }}

),

{% if is_incremental() %}

    -- the positions to rebuild (int_position_events_scope)
    changed_positions as (

        select * from {{ ref('int_position_events_scope') }}

    ),

    -- the (trader, condition) pairs whose splits, merges and redemptions feed those positions
    changed_position_conditions as (

        select distinct
            changed_positions.trader_address,
            tokens.condition_id
        from changed_positions
        inner join tokens
            on changed_positions.token_id = tokens.token_id

    ),

    -- every event of those positions lies at or after history_from: each is a stored event
    -- of theirs or derives from a fill that landed since (splits, merges, redemptions and
    -- conversion legs are read whole above). A scalar bound lets the scans of the fills and
    -- of the stored events skip the row groups of older history: DuckDB has no index to look
    -- a position's rows up by, and the tables grow in time order. Each position's stored
    -- events are looked up by the table's key index (as a join, PostgreSQL walks all of it).
    history_from as (

        select min(event_epoch) as event_epoch
        from (
            select position_events.event_epoch
            from changed_positions
            cross join lateral (
                select min(stored.event_epoch) as event_epoch
                from {{ this }} as stored
                where
                    stored.trader_address = changed_positions.trader_address
                    and stored.token_id = changed_positions.token_id
            ) as position_events
            union all
            select new_fills.filled_at_epoch
            from {{ ref('int_fills_attributed') }} as new_fills
            where new_fills.extracted_at > {{ stored_watermark(this) }}
        ) as position_epochs

    ),

    -- PostgreSQL looks each position's fills up by the fills' (trader, token) index
    fills as (

        {%- if target.type == 'postgres' %}
            {{ rows_of_positions(
                ref('int_fills_attributed'), 'changed_positions', 'trader_address', 'trader_address'
            ) }}
        {%- else %}
            select all_fills.*
            from all_fills
            inner join changed_positions
                on
                    all_fills.trader_address = changed_positions.trader_address
                    and all_fills.token_id = changed_positions.token_id
            where
                all_fills.filled_at_epoch >= (select history_from.event_epoch from history_from)
        {%- endif %}

    ),

    -- PostgreSQL looks each pair's operations up by the sources' (condition, holder) indexes:
    -- as a join, it scans every split, merge and redemption of the history
    operations as (

        {{ rows_matching('all_operations', 'changed_position_conditions', [
            ('trader_address', 'trader_address'), ('condition_id', 'condition_id'),
        ]) }}

    ),

    conversion_legs as (

        select all_conversion_legs.*
        from all_conversion_legs
        inner join changed_positions
            on
                all_conversion_legs.trader_address = changed_positions.trader_address
                and all_conversion_legs.token_id = changed_positions.token_id

    ),

{% else %}

fills as (

    select * from all_fills

),

operations as (

    select * from all_operations

),

conversion_legs as (

    select * from all_conversion_legs

),

{% endif %}

fill_events as (

    -- the condition from the token enumeration, which can come after the fill
    select
        fills.trader_address,
        fills.token_id,
        tokens.condition_id,
        fills.fill_id as event_id,
        fills.event_sort_key,
        lower(fills.side) as event_kind,
        fills.filled_at_epoch as event_epoch,
        fills.side = 'BUY' as is_increase,
        -- a V1 buy's fee is taken from the shares received; a V2 buy pays it in collateral
        -- on top of usdc (DESIGN section 2, "V2 fills")
        case
            when fills.side = 'BUY' and fills.exchange_version = 1
                then fills.share_units - fills.fee_units
            else fills.share_units
        end as quantity_units,
        case
            when fills.side = 'BUY' and fills.exchange_version = 1
                then fills.usdc_units * {{ e18() }}
            when fills.side = 'BUY' then (fills.usdc_units + fills.fee_units) * {{ e18() }}
        end as cost_e24,
        case
            when fills.side = 'SELL' and fills.share_units > 0
                then {{ idiv(
                    '(fills.usdc_units - fills.fee_units) * ' ~ e18(), 'fills.share_units'
                ) }}
            when fills.side = 'SELL' then {{ to_int(0) }}
        end as price_e18,
        case
            when fills.side = 'BUY' and fills.exchange_version = 1
                then -fills.usdc_units * {{ e18() }}
            when fills.side = 'BUY' then -(fills.usdc_units + fills.fee_units) * {{ e18() }}
            else (fills.usdc_units - fills.fee_units) * {{ e18() }}
        end as cash_e24,
        fills.usdc_units as fill_usdc_units,
        greatest(fills.extracted_at, coalesce(tokens.extracted_at, fills.extracted_at))
            as extracted_at
    from fills
    left join tokens
        on fills.token_id = tokens.token_id

),

split_events as (

    select
        splits.trader_address,
        tokens.token_id,
        splits.condition_id,
        splits.operation_id as event_id,
        splits.event_sort_key,
        'split' as event_kind,
        splits.operated_at_epoch as event_epoch,
        true as is_increase,
        splits.amount_units as quantity_units,
        splits.amount_units * {{ idiv(e18(), 'tokens.outcome_count') }} as cost_e24,
        cast(null as {{ int_type() }}) as price_e18,
        -{{ idiv('splits.amount_units * ' ~ e18(), 'tokens.outcome_count') }} as cash_e24,
        cast(null as {{ int_type() }}) as fill_usdc_units,
        greatest(splits.extracted_at, coalesce(tokens.extracted_at, splits.extracted_at))
            as extracted_at
    from operations as splits
    inner join tokens
        on splits.condition_id = tokens.condition_id
    where splits.operation = 'split'

),

merge_events as (

    select
        merge_sets.trader_address,
        tokens.token_id,
        merge_sets.condition_id,
        merge_sets.operation_id as event_id,
        merge_sets.event_sort_key,
        'merge' as event_kind,
        merge_sets.operated_at_epoch as event_epoch,
        false as is_increase,
        merge_sets.amount_units as quantity_units,
        cast(null as {{ int_type() }}) as cost_e24,
        {{ idiv(e18(), 'tokens.outcome_count') }} as price_e18,
        {{ idiv('merge_sets.amount_units * ' ~ e18(), 'tokens.outcome_count') }} as cash_e24,
        cast(null as {{ int_type() }}) as fill_usdc_units,
        greatest(
            merge_sets.extracted_at, coalesce(tokens.extracted_at, merge_sets.extracted_at)
        ) as extracted_at
    from operations as merge_sets
    inner join tokens
        on merge_sets.condition_id = tokens.condition_id
    where merge_sets.operation = 'merge'

),

redemptions as (

    select
        operation_id as redemption_id,
        event_sort_key,
        operated_at_epoch as redeemed_at_epoch,
        trader_address,
        condition_id,
        index_sets,
        payout_units,
        extracted_at
    from operations
    where operation = 'redemption'

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
        tokens.payout_price_e18,
        tokens.extracted_at
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
        redemptions.trader_address,
        redeemed_tokens.token_id,
        redemptions.condition_id,
        redemptions.redemption_id as event_id,
        redemptions.event_sort_key,
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
        cast(null as {{ int_type() }}) as fill_usdc_units,
        greatest(
            redemptions.extracted_at,
            coalesce(redeemed_tokens.extracted_at, redemptions.extracted_at)
        ) as extracted_at
    from redemptions
    inner join redeemed_tokens
        on redemptions.redemption_id = redeemed_tokens.redemption_id
    inner join redeemed_numerators
        on redemptions.redemption_id = redeemed_numerators.redemption_id

),

conversion_events as (

    -- the condition from the token enumeration, as for fills
    select
        conversion_legs.trader_address,
        conversion_legs.token_id,
        tokens.condition_id,
        conversion_legs.event_id,
        conversion_legs.event_sort_key,
        'conversion' as event_kind,
        conversion_legs.event_epoch,
        conversion_legs.is_increase,
        conversion_legs.quantity_units,
        conversion_legs.cost_e24,
        conversion_legs.price_e18,
        conversion_legs.cash_e24,
        cast(null as {{ int_type() }}) as fill_usdc_units,
        greatest(
            conversion_legs.extracted_at,
            coalesce(tokens.extracted_at, conversion_legs.extracted_at)
        ) as extracted_at
    from conversion_legs
    left join tokens
        on conversion_legs.token_id = tokens.token_id

),

held_position_events as (

    select * from fill_events
    union all
    select * from split_events
    union all
    select * from merge_events
    union all
    select * from conversion_events

),

-- A redemption names outcomes by index set, held or not: it is an event only of a position
-- the trader held, one with another event (DESIGN section 2, "Trader-market"). Every event of
-- a position is above, incremental runs included (they take changed positions whole).
held_positions as (

    select distinct
        trader_address,
        token_id
    from held_position_events

),

position_events as (

    select * from held_position_events
    union all
    select redemption_events.*
    from redemption_events
    inner join held_positions
        on
            redemption_events.trader_address = held_positions.trader_address
            and redemption_events.token_id = held_positions.token_id

)
{%- if is_incremental() %},

    changed_position_events as (

        -- a split or merge reaches every outcome token: keep the changed positions only
        select position_events.*
        from position_events
        inner join changed_positions
            on
                position_events.trader_address = changed_positions.trader_address
                and position_events.token_id = changed_positions.token_id

    ),

    -- the stored events of those positions only: what the new rows are compared with (a
    -- join to every stored event would hash the whole table); PostgreSQL looks each
    -- position's up by the table's key index
    stored_events as (

        {%- if target.type == 'postgres' %}
            {{ rows_of_positions(this, 'changed_positions', 'trader_address', 'trader_address') }}
        {%- else %}
            select stored.*
            from {{ this }} as stored
            inner join changed_positions
                on
                    stored.trader_address = changed_positions.trader_address
                    and stored.token_id = changed_positions.token_id
            where stored.event_epoch >= (select history_from.event_epoch from history_from)
        {%- endif %}

    )
{%- endif %},

numbered_events as (

    select
        trader_address,
        token_id,
        condition_id,
        event_id,
        row_number() over (
            partition by trader_address, token_id
            order by event_epoch, {{ binary_text('event_sort_key') }}
        ) as event_seq,
        event_kind,
        event_epoch,
        is_increase,
        quantity_units,
        cost_e24,
        price_e18,
        cash_e24,
        fill_usdc_units,
        extracted_at
    from {{ 'changed_position_events' if is_incremental() else 'position_events' }}

)

{% if is_incremental() %}

    -- Only the event rows that differ from the stored ones are written: a position gains
    -- events and re-derives some, it never loses one (raw events are immutable; a late token
    -- enumeration or a resolution only makes more of them events), so the rows it keeps stay
    -- as they are, stamp included, and int_position_events_folded refolds only from what
    -- changed.
    select numbered.*
    from numbered_events as numbered
    left join stored_events as stored
        on
            numbered.trader_address = stored.trader_address
            and numbered.token_id = stored.token_id
            and numbered.event_seq = stored.event_seq
    where
        stored.event_seq is null
        or not {{ same_values('numbered', 'stored', [
            'condition_id', 'event_id', 'event_kind', 'event_epoch', 'is_increase',
            'quantity_units', 'cost_e24', 'price_e18', 'cash_e24', 'fill_usdc_units',
        ]) }}

{% else %}

select * from numbered_events
{{ time_order('event_epoch') }}

{% endif %}

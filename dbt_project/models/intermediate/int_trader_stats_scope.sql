{{ config(materialized='ephemeral') }}

-- The traders whose trader_stats rows a refresh rewrites, and from which day: what changed
-- since trader_stats was last built (the newest extracted_at of its rows). A trader is
-- affected from the earliest of:
--   - the day of its earliest ledger row rebuilt since (a new or late event, or one derived
--     anew): every later row's state and running sums move;
--   - for a token it holds, the first day whose stored close changed (int_token_prices_daily
--     keeps the stamp of an unchanged close), counted on the trader's active days from its
--     first event on that token;
--   - for a token whose condition was re-loaded or whose resolved_at moved (a chain
--     resolution, a new first redemption or last fill), the earlier of its resolved_at before
--     and after: before that day both versions mark at fill prices. The old one is recomputed
--     from the events that had landed by the last build.
-- start_day_start_epoch is the trader's previous active day: recomputed too, since the first
-- rewritten row's pnl needs its cumulative PnL, and not written.
-- Before trader_stats' first build there is nothing to compare with and no trader here.

{%- set stored = stored_relation('trader_stats') %}

{#- parsing renders the else branch: dbt learns the refs there -#}
{% if execute and stored is none %}

select
    cast(null as {{ dbt.type_string() }}) as trader_address,
    cast(null as bigint) as from_day_start_epoch,
    cast(null as bigint) as start_day_start_epoch
where 1 = 0

{% else %}
{%- set loaded = stored_watermark(stored) %}

with

prices as (

    select * from {{ ref('int_token_prices_daily') }}

),

tokens as (

    select * from {{ ref('int_outcome_tokens_enumerated') }}

),

conditions as (

    select * from {{ ref('int_conditions_resolved') }}

),

summaries as (

    select * from {{ ref('int_position_summaries') }}

),

-- redemptions by anyone (and fills, last_fills_by_condition): what a condition's resolved_at
-- is computed from
redemptions as (

    select * from {{ ref('stg_polymarket__redemptions') }}

),

chain_resolutions as (

    select * from {{ ref('stg_polymarket__chain_condition_resolutions') }}

),

-- the ledger table itself: PostgreSQL finds the rebuilt rows through its extracted_at index
rebuilt_ledger_starts as (

    select
        rebuilt.trader_address,
        {{ epoch_to_day_start('min(rebuilt.event_epoch)') }}
            as from_day_start_epoch
    from {{ ref('int_position_events_folded') }} as rebuilt
    where rebuilt.extracted_at > {{ loaded }}
    group by rebuilt.trader_address

),

changed_closes as (

    select
        prices.token_id,
        min(prices.day_start_epoch) as from_day_start_epoch
    from prices
    where prices.extracted_at > {{ loaded }}
    group by prices.token_id

),

-- the conditions with a row loaded since in what resolved_at is computed from: any other's
-- stands as at the last run, so only these are recomputed as they stood then (a scan of every
-- fill and redemption ever loaded otherwise)
loaded_conditions as (

    {{ markets_loaded_since(loaded) }}

),

-- resolved_at as it stood at the last run: from the events that had landed by then
previous_first_redemptions as (

    select
        redemptions.condition_id,
        min(
            case
                when redemptions.extracted_at <= {{ loaded }}
                    then redemptions.redeemed_at_epoch
            end
        ) as first_redemption_epoch
    -- looked up by the raw condition index, where a join reads every redemption
    from ({{ rows_matching('redemptions', 'loaded_conditions', [
        ('condition_id', 'market_id'),
    ]) }}) as redemptions
    group by redemptions.condition_id

),

previous_chain_resolutions as (

    select
        chain_resolutions.condition_id,
        min(
            case
                when chain_resolutions.extracted_at <= {{ loaded }}
                    then chain_resolutions.resolved_at_epoch
            end
        ) as resolved_at_epoch
    from chain_resolutions
    inner join loaded_conditions
        on chain_resolutions.condition_id = loaded_conditions.market_id
    group by chain_resolutions.condition_id

),

-- the tokens of those conditions, before the per-token reads below (materialized: PostgreSQL
-- would otherwise read every token's last fill and join to the conditions after)
loaded_condition_tokens as materialized (

    select
        tokens.condition_id,
        tokens.token_id
    from loaded_conditions
    inner join tokens
        on loaded_conditions.market_id = tokens.condition_id

),

-- each condition's newest fill that had landed then, read per token
previous_last_fills as (

    {{ last_fills_by_condition('loaded_condition_tokens', landed_by=loaded) }}

),

reloaded_conditions as (

    select distinct tokens.condition_id
    from tokens
    where tokens.extracted_at > {{ loaded }}

),

-- a condition's marks can change from the earlier of its resolved_at before and after:
-- before that both use fill prices (a condition not resolved before only moves from the
-- new one). Payouts only come with a re-load of the condition (one of loaded_conditions).
moved_resolutions as (

    select
        conditions.condition_id,
        least(
            conditions.resolved_at_epoch,
            coalesce(
                previous_chain_resolutions.resolved_at_epoch,
                previous_first_redemptions.first_redemption_epoch,
                previous_last_fills.last_fill_epoch,
                0
            )
        ) as from_epoch
    from conditions
    inner join loaded_conditions
        on conditions.condition_id = loaded_conditions.market_id
    left join reloaded_conditions
        on conditions.condition_id = reloaded_conditions.condition_id
    left join previous_chain_resolutions
        on conditions.condition_id = previous_chain_resolutions.condition_id
    left join previous_first_redemptions
        on conditions.condition_id = previous_first_redemptions.condition_id
    left join previous_last_fills
        on conditions.condition_id = previous_last_fills.condition_id
    where
        reloaded_conditions.condition_id is not null
        or (
            conditions.is_resolved
            and conditions.resolved_at_epoch != coalesce(
                previous_chain_resolutions.resolved_at_epoch,
                previous_first_redemptions.first_redemption_epoch,
                previous_last_fills.last_fill_epoch,
                0
            )
        )

),

changed_marks as (

    select
        token_id,
        min(from_day_start_epoch) as from_day_start_epoch
    from (
        select
            token_id,
            from_day_start_epoch
        from changed_closes
        union all
        select
            tokens.token_id,
            {{ epoch_to_day_start('moved_resolutions.from_epoch') }}
        from moved_resolutions
        inner join tokens
            on moved_resolutions.condition_id = tokens.condition_id
    ) as starts
    group by token_id

),

-- traders with positions that can hold shares at the end of a day from a changed mark on
-- (still holding, or with an event since: the only way shares leave), from the earliest
mark_holders as (

    select
        summaries.trader_address,
        min(greatest(
            changed_marks.from_day_start_epoch,
            {{ epoch_to_day_start('summaries.first_activity_epoch') }}
        )) as from_day_start_epoch
    from summaries
    inner join changed_marks
        on summaries.token_id = changed_marks.token_id
    where
        summaries.shares_units > 0
        or summaries.last_activity_epoch >= changed_marks.from_day_start_epoch
    group by summaries.trader_address

),

-- their first active day from there on, as stored (a newer one comes with rebuilt rows)
mark_affected as (

    select
        trader_address,
        day_start_epoch as from_day_start_epoch
    from ({{ stored_day_next_to(stored, 'mark_holders', 'first on or after') }}) as next_days

),

affected_from as (

    select
        trader_address,
        min(from_day_start_epoch) as from_day_start_epoch
    from (
        select * from rebuilt_ledger_starts
        union all
        select * from mark_affected
    ) as starts
    group by trader_address

),

-- recomputed from the previous active day, whose cumulative PnL the first row's pnl needs
previous_days as (

    {{ stored_day_next_to(stored, 'affected_from', 'last before') }}

)

select
    affected_from.trader_address,
    affected_from.from_day_start_epoch,
    coalesce(
        previous_days.day_start_epoch, affected_from.from_day_start_epoch
    ) as start_day_start_epoch
from affected_from
left join previous_days
    on affected_from.trader_address = previous_days.trader_address

{% endif %}

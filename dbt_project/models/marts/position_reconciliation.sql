{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key=['wallet_address', 'token_id'],
        on_schema_change='fail',
        indexes=postgres_indexes([
            {'columns': ['wallet_address', 'token_id'], 'unique': true},
            {'columns': ['difference_class']},
            {'columns': ['extracted_at']},
        ]),
    )
}}

-- depends_on: {{ ref('int_position_reconciliation_scope') }}

-- The ledger's positions beside Polymarket's pnl subgraph's (UserPosition), for every wallet
-- the subgraph follows, with each difference classed by what explains it. The subgraph's
-- rules (pnl-subgraph/src in Polymarket/polymarket-subgraph, mirrored by
-- subgraph_sim/positions.py): every fill at usdc / shares with the fee left out, so a BUY's
-- fee shares count as bought and a SELL realizes its USDC before the fee; splits and merges
-- at 0.5; a redemption sells all it tracks at the payout; every division truncates to 1e-6.
-- It never saw the V2 era.
--
-- Classes of a position with any difference, first that applies:
--   missing_events  the position is on one side only, or has V2-era events (chain fills,
--                   adapter operations, conversions) the frozen subgraph never saw
--   fees            the position paid V1 fees and its differences are the ones fees make:
--                   total bought higher by exactly the BUY fee shares, shares higher by at most
--                   them, average price as rounding allows when no BUY paid a fee, realized PnL
--                   higher by at most the SELL fees plus twice the fee shares at 1 USDC (their
--                   cost, and their sale or redemption), lower by at most twice those shares;
--                   otherwise other (a fee the ledger applies the wrong way lands there)
--   rounding        no fee: shares and total bought equal, average price and realized PnL
--                   within what the subgraph's truncations can move them (tolerance columns)
--   other           nothing above explains it: the ledger or the subgraph is wrong
-- A position agrees when identical or different by rounding only.
--
-- Incremental runs compare again only the positions whose inputs moved since the last build
-- (int_position_reconciliation_scope); on PostgreSQL what they read of the ledger, the fills
-- and the operations is looked up by index for those positions, so a refresh's cost follows
-- them, not the followed wallets' history.

with

{% if is_incremental() %}
    -- materialized: the few positions compared again, each looked up by key in what follows
    compared as materialized (

        select * from {{ ref('int_position_reconciliation_scope') }}

    ),
{% endif %}

subgraph_positions as (

    select user_positions.*
    from {{ ref('stg_polymarket__user_positions') }} as user_positions
    {%- if is_incremental() %}
    inner join compared
        on
            user_positions.user_address = compared.wallet_address
            and user_positions.token_id = compared.token_id
    {%- endif %}
    where user_positions.user_address not in {{ excluded_addresses_sql() }}

),

followed_wallets as (

    select distinct user_address as wallet_address
    from {{ ref('stg_polymarket__user_positions') }}
    where user_address not in {{ excluded_addresses_sql() }}

),

ledger_positions as (

    select trader_markets.*
    from
        {%- if is_incremental() %}
            ({{ rows_of_positions(
                ref('trader_markets'), 'compared', 'wallet_address', 'wallet_address'
            ) }})
        {%- else %}
            {{ ref('trader_markets') }}
        {%- endif %} as trader_markets
    where
        trader_markets.wallet_address
        in (select followed_wallets.wallet_address from followed_wallets)

),

tokens as (

    select * from {{ ref('int_outcome_tokens_enumerated') }}

),

-- what the comparison reads of the ledger's sources: the compared positions' rows only
fills as (

    select fills.*
    from
        {%- if is_incremental() %}
            ({{ rows_of_positions(
                ref('int_fills_attributed'), 'compared', 'trader_address', 'wallet_address'
            ) }})
        {%- else %}
            {{ ref('int_fills_attributed') }}
        {%- endif %} as fills
    where fills.trader_address in (select followed_wallets.wallet_address from followed_wallets)

),

v1_fill_counts as (

    select
        trader_address,
        token_id,
        sum(case when side = 'BUY' then fee_units else 0 end) as buy_fee_units,
        sum(case when side = 'SELL' then fee_units else 0 end) as sell_fee_units,
        sum(case when side = 'BUY' then 1 else 0 end) as increases,
        sum(case when side = 'SELL' then 1 else 0 end) as decreases
    from fills
    where exchange_version = 1
    group by trader_address, token_id

),

{% set v1_operation_sources = [
    ('stg_polymarket__splits', 'stakeholder_address', 1, 0),
    ('stg_polymarket__merges', 'stakeholder_address', 0, 1),
    ('stg_polymarket__redemptions', 'redeemer_address', 0, 1),
] %}

{% if is_incremental() and target.type == 'postgres' %}

    compared_conditions as (

        select distinct
            compared.wallet_address,
            tokens.condition_id
        from compared
        inner join tokens
            on compared.token_id = tokens.token_id

    ),

    -- each compared wallet's operations of the condition, looked up by the raw tables'
    -- (condition, holder) index: the activity's whole history is not read (DuckDB has no
    -- such index, and scans either way)
    followed_v1_operations as (

        select
            compared_conditions.wallet_address as trader_address,
            compared_conditions.condition_id,
            operations.increases,
            operations.decreases
        from compared_conditions
        cross join lateral (
            {%- for source, holder, increases, decreases in v1_operation_sources %}
                select
                    {{ increases }} as increases,
                    {{ decreases }} as decreases
                from {{ ref(source) }} as operations_of_source
                where
                    operations_of_source.{{ holder }} = compared_conditions.wallet_address
                    and operations_of_source.condition_id = compared_conditions.condition_id
                {{ 'union all' if not loop.last }}
            {%- endfor %}
        ) as operations

    ),

{% else %}

    v1_operations as (
        {%- for source, holder, increases, decreases in v1_operation_sources %}

            select
                {{ holder }} as trader_address,
                condition_id,
                {{ increases }} as increases,
                {{ decreases }} as decreases
            from {{ ref(source) }}
            {{ 'union all' if not loop.last }}
        {%- endfor %}

    ),

    followed_v1_operations as (

        select * from v1_operations
        where trader_address in (select followed_wallets.wallet_address from followed_wallets)

    ),

{% endif %}

-- a split, merge or redemption moves every outcome token of its condition
v1_operation_counts as (

    select
        v1_operations.trader_address,
        tokens.token_id,
        sum(v1_operations.increases) as increases,
        sum(v1_operations.decreases) as decreases
    from followed_v1_operations as v1_operations
    inner join tokens
        on v1_operations.condition_id = tokens.condition_id
    group by v1_operations.trader_address, tokens.token_id

),

v2_era_positions as (

    select
        trader_address,
        token_id
    from fills
    where exchange_version = 2
    union
    select
        operations.trader_address,
        tokens.token_id
    from {{ ref('int_position_operations_attributed') }} as operations
    inner join tokens
        on operations.condition_id = tokens.condition_id
    where
        operations.trader_address
        in (select followed_wallets.wallet_address from followed_wallets)
    union
    select
        trader_address,
        token_id
    from {{ ref('int_position_conversion_legs') }}
    where trader_address in (select followed_wallets.wallet_address from followed_wallets)

),

paired as (

    select
        coalesce(ledger.wallet_address, subgraph.user_address) as wallet_address,
        coalesce(ledger.token_id, subgraph.token_id) as token_id,
        ledger.wallet_address is not null as in_ledger,
        subgraph.user_position_id is not null as in_subgraph,
        coalesce(ledger.shares, 0) as ledger_shares,
        coalesce(ledger.avg_price, 0) as ledger_avg_price,
        coalesce(ledger.realized_pnl, 0) as ledger_realized_pnl,
        coalesce(ledger.bought_shares + ledger.split_shares, 0) as ledger_total_bought,
        coalesce(subgraph.shares, 0) as subgraph_shares,
        coalesce(subgraph.avg_price, 0) as subgraph_avg_price,
        coalesce(subgraph.realized_pnl, 0) as subgraph_realized_pnl,
        coalesce(subgraph.total_bought, 0) as subgraph_total_bought
    from ledger_positions as ledger
    full outer join subgraph_positions as subgraph
        on
            ledger.wallet_address = subgraph.user_address
            and ledger.token_id = subgraph.token_id

),

measured as (

    select
        paired.*,
        tokens.condition_id,
        tokens.outcome_index,
        paired.subgraph_shares - paired.ledger_shares as shares_difference,
        paired.subgraph_avg_price - paired.ledger_avg_price as avg_price_difference,
        paired.subgraph_realized_pnl - paired.ledger_realized_pnl as realized_pnl_difference,
        paired.subgraph_total_bought - paired.ledger_total_bought as total_bought_difference,
        {{ micro('coalesce(v1_fill_counts.buy_fee_units, 0)') }} as buy_fee_shares,
        {{ micro('coalesce(v1_fill_counts.sell_fee_units, 0)') }} as sell_fee_usdc,
        v2_era_positions.token_id is not null as has_v2_era_events,
        coalesce(v1_fill_counts.increases, 0) + coalesce(v1_operation_counts.increases, 0)
            as increases,
        coalesce(v1_fill_counts.decreases, 0) + coalesce(v1_operation_counts.decreases, 0)
            as decreases
    from paired
    left join tokens
        on paired.token_id = tokens.token_id
    left join v1_fill_counts
        on
            paired.wallet_address = v1_fill_counts.trader_address
            and paired.token_id = v1_fill_counts.token_id
    left join v1_operation_counts
        on
            paired.wallet_address = v1_operation_counts.trader_address
            and paired.token_id = v1_operation_counts.token_id
    left join v2_era_positions
        on
            paired.wallet_address = v2_era_positions.trader_address
            and paired.token_id = v2_era_positions.token_id

),

-- What the subgraph's truncations can move, in its 1e-6 units. Each buy truncates its price
-- and the new average by less than a unit, and a later buy only dilutes what earlier ones
-- lost: the average is at most (increases + 1) units low. Each decrease realizes
-- qty x (price - average) truncated: qty x (price and average errors) plus a unit, and all
-- its decreases together took total bought - shares from the subgraph's position. The
-- ledger's own final rounding adds a unit.
tolerated as (

    select
        measured.*,
        cast((measured.increases + 1) * 0.000001 as decimal(38, 6)) as avg_price_tolerance,
        cast(
            (measured.subgraph_total_bought - measured.subgraph_shares)
            * (measured.increases + 2) * 0.000001
            + (measured.decreases + 1) * 0.000001
            as decimal(38, 12)
        ) as realized_pnl_tolerance
    from measured

),

classified as (

    select
        tolerated.*,
        case
            when
                tolerated.shares_difference = 0
                and tolerated.avg_price_difference = 0
                and tolerated.realized_pnl_difference = 0
                and tolerated.total_bought_difference = 0
                then null
            when
                not tolerated.in_ledger or not tolerated.in_subgraph or tolerated.has_v2_era_events
                then 'missing_events'
            when tolerated.buy_fee_shares > 0 or tolerated.sell_fee_usdc > 0
                then case
                        when
                            tolerated.total_bought_difference = tolerated.buy_fee_shares
                            and tolerated.shares_difference between 0 and tolerated.buy_fee_shares
                            and (
                                tolerated.buy_fee_shares > 0
                                or abs(tolerated.avg_price_difference)
                                <= tolerated.avg_price_tolerance
                            )
                            and tolerated.realized_pnl_difference
                            between -2 * tolerated.buy_fee_shares - tolerated.realized_pnl_tolerance
                            and 2 * tolerated.buy_fee_shares
                            + tolerated.sell_fee_usdc
                            + tolerated.realized_pnl_tolerance
                            then 'fees'
                        else 'other'
                    end
            when
                tolerated.shares_difference = 0
                and tolerated.total_bought_difference = 0
                and abs(tolerated.avg_price_difference) <= tolerated.avg_price_tolerance
                and abs(tolerated.realized_pnl_difference) <= tolerated.realized_pnl_tolerance
                then 'rounding'
            else 'other'
        end as difference_class
    from tolerated

)

select
    wallet_address,
    token_id,
    condition_id,
    outcome_index,
    in_ledger,
    in_subgraph,
    ledger_shares,
    subgraph_shares,
    shares_difference,
    ledger_avg_price,
    subgraph_avg_price,
    avg_price_difference,
    ledger_realized_pnl,
    subgraph_realized_pnl,
    realized_pnl_difference,
    ledger_total_bought,
    subgraph_total_bought,
    total_bought_difference,
    buy_fee_shares,
    sell_fee_usdc,
    has_v2_era_events,
    avg_price_tolerance,
    realized_pnl_tolerance,
    coalesce(difference_class = 'rounding', true) as agrees,
    difference_class,
    -- the newest load this build compared: what the next refresh tells news by
    (
        select max(loads.extracted_at)
        from (
            select max(extracted_at) as extracted_at from {{ ref('trader_markets') }}
            union all
            select max(extracted_at) from {{ ref('stg_polymarket__user_positions') }}
            union all
            select max(extracted_at) from {{ ref('int_outcome_tokens_enumerated') }}
        ) as loads
    ) as extracted_at

from classified

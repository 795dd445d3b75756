-- One row: how far the ledger agrees with Polymarket's pnl subgraph, the figure the README,
-- the API and the reconciliation check publish. agreement_pct = 100 x the positions that
-- agree (identical or within the subgraph's rounding) / every compared position.

with

reconciliation as (

    select * from {{ ref('position_reconciliation') }}

),

counted as (

    select
        count(*) as positions,
        count(distinct wallet_address) as wallets,
        sum(case when agrees then 1 else 0 end) as agreeing,
        sum(case when difference_class is null then 1 else 0 end) as identical,
        sum(case when difference_class = 'rounding' then 1 else 0 end) as rounding,
        sum(case when difference_class = 'fees' then 1 else 0 end) as fees,
        sum(case when difference_class = 'missing_events' then 1 else 0 end) as missing_events,
        sum(case when difference_class = 'other' then 1 else 0 end) as other,
        max(abs(realized_pnl_difference)) as max_abs_realized_pnl_difference,
        max(abs(shares_difference)) as max_abs_shares_difference
    from reconciliation

)

select
    positions,
    wallets,
    agreeing,
    cast(
        case when positions > 0 then round(100.0 * agreeing / positions, 4) end
        as decimal(9, 4)
    ) as agreement_pct,
    cast(
        case when positions > 0 then round(100.0 * (positions - other) / positions, 4) end
        as decimal(9, 4)
    ) as explained_pct,
    identical,
    rounding,
    fees,
    missing_events,
    other,
    max_abs_realized_pnl_difference,
    max_abs_shares_difference
from counted

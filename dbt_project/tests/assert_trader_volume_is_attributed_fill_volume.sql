-- The traders' volumes and trade counts add up to those of the attributed fills.
with

traders as (

    select
        sum(volume) as volume,
        sum(trades) as trades
    from {{ ref('traders_v2') }}

),

fills as (

    select
        coalesce(sum(usdc), 0) as volume,
        count(*) as trades
    from {{ ref('int_fills_attributed') }}

)

select
    traders.volume as trader_volume,
    fills.volume as fill_volume,
    traders.trades as trader_trades,
    fills.trades as fill_trades
from traders
cross join fills
where traders.volume != fills.volume or traders.trades != fills.trades

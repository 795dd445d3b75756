-- A trader's realized, unrealized and total PnL are the sums over its positions, to the rounding.
with

positions as (

    select
        wallet_address,
        sum(realized_pnl) as realized_pnl,
        sum(unrealized_pnl) as unrealized_pnl,
        sum(total_pnl) as total_pnl,
        sum(volume) as volume
    from {{ ref('trader_markets') }}
    group by wallet_address

)

select traders.wallet_address
from {{ ref('traders_v2') }} as traders
inner join positions
    on traders.wallet_address = positions.wallet_address
where
    abs(traders.realized_pnl - positions.realized_pnl) > 0.0001 * (1 + abs(positions.realized_pnl))
    or abs(traders.total_pnl - positions.total_pnl) > 0.0001 * (1 + abs(positions.total_pnl))
    or traders.volume != positions.volume

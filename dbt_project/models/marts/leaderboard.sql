{{
    config(
        indexes=postgres_indexes([
            {'columns': ['time_window', 'pnl_rank']},
            {'columns': ['time_window', 'volume_rank']},
            {'columns': ['time_window', 'wallet_address'], 'unique': true},
        ]),
    )
}}

-- Per window (1d, 7d, 30d, all), the traders with at least min_trader_trades fills and
-- min_trader_volume USDC in the window, ranked with rank() (ties share a rank) by PnL and
-- separately by volume. Readers break ties by wallet address.

with

traders as (

    select * from {{ ref('traders_v2') }}

),

windowed as (

    select
        'all' as time_window,
        wallet_address,
        total_pnl as pnl,
        volume,
        trades,
        as_of
    from traders
    {%- for name, seconds in windows() %}
        union all
        select
            '{{ name }}' as time_window,
            wallet_address,
            pnl_{{ name }} as pnl,
            volume_{{ name }} as volume,
            trades_{{ name }} as trades,
            as_of
        from traders
    {%- endfor %}

),

eligible as (

    select * from windowed
    where
        trades >= {{ var('min_trader_trades') }}
        and volume >= {{ var('min_trader_volume') }}

)

select
    time_window,
    wallet_address,
    pnl,
    volume,
    trades,
    rank() over (partition by time_window order by pnl desc) as pnl_rank,
    rank() over (partition by time_window order by volume desc) as volume_rank,
    as_of

from eligible

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
-- separately by volume. Readers break ties by wallet address. Each row carries the window's
-- wins, losses and win rate (trader-markets closed in the window).

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
        wins,
        losses,
        win_rate,
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
            wins_{{ name }} as wins,
            losses_{{ name }} as losses,
            win_rate_{{ name }} as win_rate,
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
    wins,
    losses,
    win_rate,
    rank() over (partition by time_window order by pnl desc) as pnl_rank,
    rank() over (partition by time_window order by volume desc) as volume_rank,
    as_of

from eligible

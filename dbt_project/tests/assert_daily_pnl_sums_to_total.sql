-- A trader's last active day carries its lifetime PnL: the end-of-day state on the day of the
-- watermark equals the current one when the trader was active that day.
with

last_days as (

    select
        wallet_address,
        cumulative_pnl,
        row_number() over (partition by wallet_address order by day desc) as recency,
        day
    from {{ ref('trader_stats') }}

)

select last_days.wallet_address
from last_days
inner join {{ ref('traders_v2') }} as traders
    on last_days.wallet_address = traders.wallet_address
cross join {{ ref('data_watermark') }} as watermark
where
    last_days.recency = 1
    and last_days.day = {{ epoch_to_date('watermark.as_of_epoch') }}
    and abs(last_days.cumulative_pnl - traders.total_pnl) > 0.000002

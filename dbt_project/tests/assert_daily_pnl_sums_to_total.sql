-- A trader's last active day carries its lifetime PnL: the end-of-day state on the day of the
-- watermark equals the current one when the trader was active that day. No row lies past the
-- watermark's day, so the traders active that day are its rows (read by the table's day
-- index on PostgreSQL, not by ranking every trader's every day).
select stats.wallet_address
from {{ ref('trader_stats') }} as stats
inner join {{ ref('traders_v2') }} as traders
    on stats.wallet_address = traders.wallet_address
where
    stats.day = (
        select {{ epoch_to_date('watermark.as_of_epoch') }}
        from {{ ref('data_watermark') }} as watermark
    )
    and abs(stats.cumulative_pnl - traders.total_pnl) > 0.000002

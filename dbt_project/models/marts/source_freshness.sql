-- How fresh each source was when it was last read: the time of the newest block it served
-- (head_at) and when that read landed (read_at). lag_seconds = read_at - head_at says how far
-- behind the chain head the source was; the pages put it in words ("chain 12 s behind").
-- Backfill cursors (`<table>:<start>-<end>`) are ranges, not reads of the head: left out.

with

cursors as (

    select * from {{ source('polymarket', 'extraction_cursors') }}

),

reads as (

    select
        case
            when name in ('order_filled_events', 'market_data') then 'orderbook'
            when name in ('conditions', 'user_positions') then 'pnl'
            when name in ('splits', 'merges', 'redemptions') then 'activity'
            when name = 'chain' then 'chain'
            when name = 'gamma' then 'gamma'
        end as source,
        -- subgraph cursors keep their block's time as block_timestamp, the chain's as block_time
        coalesce(
            {{ json_int('state', 'block_timestamp') }}, {{ json_int('state', 'block_time') }}
        ) as head_epoch,
        updated_at as read_at
    from cursors

)

select
    source,
    {{ epoch_to_timestamptz('max(head_epoch)') }} as head_at,
    max(read_at) as read_at,
    -- whole seconds, truncated: a read 0.7 s after its head is 0 s behind
    cast(floor(extract(epoch from max(read_at))) as bigint) - max(head_epoch) as lag_seconds

from reads
where source is not null
group by source

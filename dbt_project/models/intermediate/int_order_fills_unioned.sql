{{ config(materialized='view') }}

-- Every exchange fill of both eras in one shape: V1 fills from the orderbook subgraph, V2 fills
-- from the chain. They never overlap (different exchange contracts) but trade the same CTF tokens
-- from the V2 deployment to the cutover, so one position and one token's marks can hold both.
--
-- event_sort_key orders events within one timestamp as DESIGN section 2 says: subgraph events
-- by id first ('0' || id), then chain events in chain order ('1' || block || log index, both
-- zero-padded so the text compares as the numbers do). Compare it with binary_text().

{%- set columns = [
    'fill_id', 'maker_address', 'token_id', 'side', 'filled_at_epoch', 'filled_at',
    'usdc_units', 'share_units', 'fee_units', 'usdc', 'shares', 'fee', 'price', 'price_e18',
    'extracted_at',
] %}

select
    {{ columns | join(',\n    ') }},
    1 as exchange_version,
    '0' || fill_id as event_sort_key
from {{ ref('stg_polymarket__order_filled_events') }}

union all

select
    {{ columns | join(',\n    ') }},
    2 as exchange_version,
    {{ chain_sort_key('block_number', 'log_index') }} as event_sort_key
from {{ ref('stg_polymarket__chain_order_filled') }}

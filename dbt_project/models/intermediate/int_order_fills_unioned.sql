{{
    config(
        materialized='incremental',
        incremental_strategy='append',
        on_schema_change='fail',
        indexes=postgres_indexes([
            {'columns': ['fill_id'], 'unique': true},
            {'columns': ['extracted_at']},
            {'columns': ['filled_at_epoch']},
            {'columns': ['token_id', 'filled_at_epoch']},
            {'columns': ['maker_address', 'token_id', 'filled_at_epoch']},
        ]),
    )
}}

-- Every exchange fill of both eras in one shape: V1 fills from the orderbook subgraph, V2 fills
-- from the chain. They never overlap (different exchange contracts) but trade the same CTF tokens
-- from the V2 deployment to the cutover, so one position and one token's marks can hold both.
--
-- event_sort_key orders events within one timestamp as DESIGN section 2 says: subgraph events
-- by id first ('0' || id), then chain events in chain order ('1' || block || log index, both
-- zero-padded so the text compares as the numbers do). Compare it with binary_text().
--
-- A table, not a view over the raw tables: laid out in time (time_order), so the readers that
-- need recent fills only (daily closes, window marks) skip the older history by a bound on
-- filled_at_epoch, which a view's cast of the raw timestamp would hide.
-- Incremental runs append the fills that landed after the newest one here (raw events are
-- immutable and writers serialized, as for int_fills_attributed).

{%- set loaded_after_stored -%}
    {%- if is_incremental() -%}
        where extracted_at > {{ stored_watermark(this) }}
    {%- endif -%}
{%- endset %}

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
{{ loaded_after_stored }}

union all

select
    {{ columns | join(',\n    ') }},
    2 as exchange_version,
    {{ chain_sort_key('block_number', 'log_index') }} as event_sort_key
from {{ ref('stg_polymarket__chain_order_filled') }}
{{ loaded_after_stored }}
{{ time_order('filled_at_epoch') }}

-- One row: the data watermark the marts were computed at. as_of is the newest extracted event
-- time (windows end there); extracted_at is when the newest raw row landed.

select
    {{ epoch_to_timestamptz('as_of_epoch') }} as as_of,
    as_of_epoch,
    extracted_at

from {{ ref('int_event_times_summarized') }}

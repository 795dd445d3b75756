-- Capped decreases keep every position's shares at or above zero.
select *
from {{ ref('int_position_events_folded') }}
where shares_units < 0 or quantity_applied_units < 0

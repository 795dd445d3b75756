{#-
  Exact arithmetic shared by both engines. Amounts travel as scaled integers
  (numeric(78,0) on PostgreSQL, HUGEINT on DuckDB): shares and USDC in micro units (x 1e6),
  prices x 1e18, money x 1e24. Divisions truncate toward zero on both engines, so every
  intermediate value is bit-identical across targets; DuckDB would otherwise turn a
  DECIMAL division into a DOUBLE.
-#}

{% macro int_type() -%}
    {{ return(adapter.dispatch('int_type', 'polyboard')()) }}
{%- endmacro %}
{% macro default__int_type() -%} numeric {%- endmacro %}
{% macro duckdb__int_type() -%} hugeint {%- endmacro %}

{% macro to_int(expr) -%}
    cast({{ expr }} as {{ int_type() }})
{%- endmacro %}

{# Integer division truncating toward zero. #}
{% macro idiv(numerator, denominator) -%}
    {{ return(adapter.dispatch('idiv', 'polyboard')(numerator, denominator)) }}
{%- endmacro %}
{% macro default__idiv(numerator, denominator) -%}
    div({{ numerator }}, {{ denominator }})
{%- endmacro %}
{% macro duckdb__idiv(numerator, denominator) -%}
    (({{ numerator }}) // ({{ denominator }}))
{%- endmacro %}

{# Integer division rounding half away from zero (the final rounding of money). #}
{% macro round_idiv(numerator, divisor) -%}
    {{ idiv('(' ~ numerator ~ ') + sign(' ~ numerator ~ ') * ' ~ idiv(divisor, 2), divisor) }}
{%- endmacro %}

{# A scaled integer as an exact decimal with `scale` fractional digits. #}
{% macro scaled_to_decimal(expr, scale) -%}
    {{ return(adapter.dispatch('scaled_to_decimal', 'polyboard')(expr, scale)) }}
{%- endmacro %}
{% macro default__scaled_to_decimal(expr, scale) -%}
    cast(cast({{ expr }} as numeric) * 0.{{ '0' * (scale - 1) }}1 as numeric(38, {{ scale }}))
{%- endmacro %}
{% macro duckdb__scaled_to_decimal(expr, scale) -%}
    cast(cast({{ expr }} as decimal(38, 0)) * 0.{{ '0' * (scale - 1) }}1 as decimal(38, {{ scale }}))
{%- endmacro %}

{# Money held x 1e24, rounded to the micro-USDC as a decimal(38,6). #}
{% macro money(expr_e24) -%}
    {{ scaled_to_decimal(round_idiv(expr_e24, '1000000000000000000'), 6) }}
{%- endmacro %}

{# A price held x 1e18 as a decimal(38,18). #}
{% macro price(expr_e18) -%}
    {{ scaled_to_decimal(expr_e18, 18) }}
{%- endmacro %}

{# Micro units (x 1e6) as a decimal(38,6). #}
{% macro micro(expr_units) -%}
    {{ scaled_to_decimal(expr_units, 6) }}
{%- endmacro %}

{% macro e18() -%} cast(1000000000000000000 as {{ int_type() }}) {%- endmacro %}

{# Text in code-point order on both engines (ids are compared, not displayed). #}
{% macro binary_text(expr) -%}
    {{ return(adapter.dispatch('binary_text', 'polyboard')(expr)) }}
{%- endmacro %}
{% macro default__binary_text(expr) -%} {{ expr }} collate "C" {%- endmacro %}
{% macro duckdb__binary_text(expr) -%} {{ expr }} {%- endmacro %}

{% macro epoch_to_timestamptz(epoch_expr) -%}
    {{ return(adapter.dispatch('epoch_to_timestamptz', 'polyboard')(epoch_expr)) }}
{%- endmacro %}
{% macro default__epoch_to_timestamptz(epoch_expr) -%}
    to_timestamp(cast({{ epoch_expr }} as bigint))
{%- endmacro %}
{% macro duckdb__epoch_to_timestamptz(epoch_expr) -%}
    to_timestamp(cast({{ epoch_expr }} as bigint))
{%- endmacro %}

{# 00:00:00 UTC of an epoch's day, as epoch seconds. #}
{% macro epoch_to_day_start(epoch_expr) -%}
    cast({{ idiv(epoch_expr, 86400) }} * 86400 as bigint)
{%- endmacro %}

{# UTC calendar day of an epoch, computed on integers so the session time zone never matters. #}
{% macro epoch_to_date(epoch_expr) -%}
    (date '1970-01-01' + cast({{ idiv(epoch_expr, 86400) }} as integer))
{%- endmacro %}

{% macro text_type() -%}
    {{ return(adapter.dispatch('text_type', 'polyboard')()) }}
{%- endmacro %}
{% macro default__text_type() -%} text {%- endmacro %}
{% macro duckdb__text_type() -%} varchar {%- endmacro %}

{# Epoch seconds of 00:00 UTC of a date (a date minus a date is whole days on both engines). #}
{% macro date_to_epoch(date_expr) -%}
    (cast(({{ date_expr }}) - date '1970-01-01' as bigint) * 86400)
{%- endmacro %}

{#- The sort key of a chain event: after every subgraph event of its timestamp ('0' || id),
    in (block, log index) order. Twelve and six digits hold any Polygon block and log index. -#}
{% macro chain_sort_key(block_expr, log_index_expr) -%}
    '1' || lpad(cast({{ block_expr }} as {{ text_type() }}), 12, '0')
    || lpad(cast({{ log_index_expr }} as {{ text_type() }}), 6, '0')
{%- endmacro %}

{#- A fill's time and amounts as every era's staging gives them, from filled_at_epoch and the
    usdc_units / share_units / fee_units of the maker's side. -#}
{% macro fill_measures() -%}
    {{ epoch_to_timestamptz('filled_at_epoch') }} as filled_at,
    usdc_units,
    share_units,
    fee_units,
    {{ micro('usdc_units') }} as usdc,
    {{ micro('share_units') }} as shares,
    {{ micro('fee_units') }} as fee,
    -- usdc / shares before fees, x 1e18, truncated: the exact value the marks use
    case
        when share_units > 0 then {{ idiv('usdc_units * ' ~ e18(), 'share_units') }}
    end as price_e18,
    case
        when share_units > 0 then {{ price(idiv('usdc_units * ' ~ e18(), 'share_units')) }}
    end as price
{%- endmacro %}

{#- An integer field of a JSON text column (null when absent). -#}
{% macro json_int(column, key) -%}
    {{ return(adapter.dispatch('json_int', 'polyboard')(column, key)) }}
{%- endmacro %}
{% macro default__json_int(column, key) -%}
    cast(cast({{ column }} as json) ->> '{{ key }}' as bigint)
{%- endmacro %}
{% macro duckdb__json_int(column, key) -%}
    cast(json_extract_string({{ column }}, '$.{{ key }}') as bigint)
{%- endmacro %}

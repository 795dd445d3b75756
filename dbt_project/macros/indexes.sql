{#- PostgreSQL indexes (dbt's `indexes` config) for what readers filter and sort by; none on
    DuckDB, whose zone maps serve these scans and where indexes would only slow the writes. -#}
{% macro postgres_indexes(indexes) -%}
    {%- if target.type == 'postgres' -%}
        {{ return(indexes) }}
    {%- else -%}
        {{ return([]) }}
    {%- endif -%}
{%- endmacro %}

{#- The recursive fold probes one event per position per step: PostgreSQL would otherwise
    rebuild a hash of the whole event table at every step. Local to the model's transaction. -#}
{% macro prefer_index_lookups() -%}
    {{ return(adapter.dispatch('prefer_index_lookups', 'polyboard')()) }}
{%- endmacro %}

{% macro default__prefer_index_lookups() -%}
    set local enable_hashjoin = off;
    set local enable_mergejoin = off
{%- endmacro %}

{% macro duckdb__prefer_index_lookups() -%}
    select 1
{%- endmacro %}

{#- post-hook: fresh planner statistics on PostgreSQL. A table dbt has just created or changed
    has none (autovacuum gets to it later, if ever before the next model reads it), and the
    planner then misjudges every join over it by orders of magnitude. DuckDB keeps its own. -#}
{% macro analyze_relation() -%}
    {%- if target.type == 'postgres' and model.config.materialized in ('table', 'incremental') -%}
        analyze {{ this }}
    {%- endif -%}
{%- endmacro %}

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
    planner then misjudges every join over it by orders of magnitude. An incremental run
    analyzes when autovacuum would (its changes since the last analyze, this transaction's
    included, exceed autovacuum_analyze_scale_factor of the table): ANALYZE samples pages
    across the whole table, 3 s a run for the 5M-fill ledger, and a refresh appending a few
    recent rows leaves the statistics as they were (out-of-range bounds on an indexed column
    are read off the index). DuckDB keeps its own. -#}
{% macro analyze_relation() -%}
    {%- if target.type != 'postgres' or model.config.materialized not in ('table', 'incremental') -%}
    {%- elif model.config.materialized == 'table' or not is_incremental() -%}
        analyze {{ this }}
    {%- else -%}
        do $analyze$
        begin
            if (
                select
                    class.reltuples < 0
                    or coalesce(stats.n_mod_since_analyze, 0)
                    + pg_stat_get_xact_tuples_inserted(class.oid)
                    + pg_stat_get_xact_tuples_updated(class.oid)
                    + pg_stat_get_xact_tuples_deleted(class.oid)
                    > current_setting('autovacuum_analyze_scale_factor')::float8 * class.reltuples
                from pg_class as class
                left join pg_stat_user_tables as stats
                    on class.oid = stats.relid
                where class.oid = '"{{ this.schema }}"."{{ this.identifier }}"'::regclass
            ) then
                analyze {{ this }};
            end if;
        end
        $analyze$
    {%- endif -%}
{%- endmacro %}

{#- dbt-duckdb's delete+insert on a composite key deletes `using` the new rows themselves: a
    target row joins every new row of its key, so replacing a position of n events costs n x n.
    Here the delete joins the distinct keys, so each row is matched once; otherwise the same
    statements as dbt-duckdb's. -#}
{% macro duckdb__get_delete_insert_merge_sql(
    target, source, unique_key, dest_columns, incremental_predicates
) -%}
    {%- set dest_cols_csv = get_quoted_csv(dest_columns | map(attribute="name")) -%}
    {%- set keys = [unique_key] if unique_key is string else (unique_key or []) -%}
    {%- if keys %}
        delete from {{ target }} as dbt_incremental_target
        using (
            select distinct {{ keys | join(', ') }}
            from {{ source }}
        ) as dbt_incremental_keys
        where
            {% for key in keys -%}
                dbt_incremental_keys.{{ key }} = dbt_incremental_target.{{ key }}
                {{- " and" if not loop.last }}
            {% endfor -%}
            {%- for predicate in incremental_predicates or [] %}
                and {{ predicate }}
            {%- endfor %};
    {%- endif %}

    insert into {{ target }} ({{ dest_cols_csv }})
    (
        select {{ dest_cols_csv }}
        from {{ source }}
    )
{%- endmacro %}

{#- The relation `model_name` was last built into, or none before its first build: what the
    model's scope (an ephemeral int_*_scope model) compares with to tell what changed since.
    Looked up by name, not ref(): the model refs its scope, and dbt's graph has no cycles. -#}
{% macro stored_relation(model_name) %}
    {%- if not execute -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set node = graph.nodes['model.' ~ project_name ~ '.' ~ model_name] -%}
    {{ return(adapter.get_relation(
        database=node.database, schema=node.schema, identifier=node.alias
    )) }}
{% endmacro %}

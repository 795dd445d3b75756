{#-
    Data tests in a refresh check what the refresh changed, not the whole history again.

    Every `dbt build` records, as it starts, the newest load of each raw source it reads
    and, when it ends with every data test run and passing, the watermark (max extracted_at)
    of each incremental model: what a build has seen and checked. A later `dbt build` that is
    not a full refresh tests, of the raw sources, the staging views over them and the
    incremental models, only the rows stamped after what the last such build recorded:
      - unique and unique_combination: the keys of those rows, counted over the whole
        relation (a new row repeating a stored key fails);
      - every other generic test: those rows (a relationships test still looks them up in
        the whole parent).
    Rows written by a build whose tests failed are tested again until one passes. On
    PostgreSQL a unique test whose key a unique index of the model enforces (and not_null
    tests cover) reads the rows only when that index is gone: the database refuses a repeated
    key on every write, and re-reading the keys a refresh wrote grows with the table. Tables
    rebuilt on every run and the singular tests are tested whole, and so is everything in a
    full refresh, a first build, `dbt test`, or with `--vars '{scope_tests_to_changes: false}'`.
-#}

{% macro build_scopes_relation() %}
    {{ return(api.Relation.create(
        database=target.database,
        schema=generate_schema_name('intermediate', none),
        identifier='dbt_build_scopes',
    )) }}
{% endmacro %}

{#- on-run-start: record this invocation's changed_since, when its tests are scoped -#}
{#- on-run-start: the newest load of each raw source, as this build starts to read them -#}
{% macro record_build_start() %}
    {%- if not execute or flags.WHICH != 'build' -%}
        {{ return('') }}
    {%- endif -%}
    {%- set loaded = [] -%}
    {%- for source in graph.sources.values() -%}
        {%- set relation = adapter.get_relation(
            source.database, source.schema, source.identifier
        ) -%}
        {%- if relation is not none -%}
            {%- do loaded.append((source.identifier, relation,
                source.loaded_at_field or source.config.loaded_at_field)) -%}
        {%- endif -%}
    {%- endfor -%}
    {%- set scopes = build_scopes_relation() -%}
    {%- do adapter.create_schema(scopes) -%}
    {%- call statement('record_build_start') -%}
        create table if not exists {{ scopes }} (
            invocation_id varchar not null,
            scope varchar not null,
            changed_since timestamp with time zone,
            recorded_at timestamp with time zone not null
        );
        delete from {{ scopes }} where recorded_at < current_timestamp - interval '30 days';
        {%- for name, relation, column in loaded %}
        insert into {{ scopes }}
        select '{{ invocation_id }}', 'source:{{ name }}', max({{ column }}), current_timestamp
        from {{ relation }};
        {%- endfor %}
    {%- endcall -%}
    {%- do adapter.commit() -%}
    {#- created by SQL, unknown to dbt's relation cache until told -#}
    {%- do adapter.cache_added(scopes.incorporate(type='table')) -%}
    {{ return('') }}
{% endmacro %}

{#- on-run-end: when every data test ran and passed, the incremental models' watermarks -#}
{% macro record_build_end(results) %}
    {%- if not execute or flags.WHICH != 'build' -%}
        {{ return('') }}
    {%- endif -%}
    {%- set passed = [] -%}
    {#- a warning found rows too: they stay in scope until a build passes them -#}
    {%- for result in results if result.status == 'pass' -%}
        {%- do passed.append(result.node.unique_id) -%}
    {%- endfor -%}
    {%- for node in graph.nodes.values() if node.resource_type == 'test' -%}
        {%- if node.unique_id not in passed -%}
            {{ return('') }}
        {%- endif -%}
    {%- endfor -%}
    {%- set scopes = build_scopes_relation() -%}
    {%- call statement('record_build_end') -%}
        {%- for node in graph.nodes.values()
            if node.resource_type == 'model' and node.config.materialized == 'incremental' %}
        insert into {{ scopes }}
        select '{{ invocation_id }}', 'model:{{ node.alias }}', max(extracted_at), current_timestamp
        from {{ adapter.get_relation(node.database, node.schema, node.alias) }};
        {%- endfor %}
        insert into {{ scopes }}
        values ('{{ invocation_id }}', 'checked', null, current_timestamp);
    {%- endcall -%}
    {%- do adapter.commit() -%}
    {{ return('') }}
{% endmacro %}

{#- Which recorded scope bounds a tested relation's new rows: (load-stamp column, scope), or
    none for a relation tested whole. A staging view takes its source's. -#}
{% macro changed_rows_scope(relation) %}
    {%- for node in graph.nodes.values()
        if node.resource_type == 'model'
        and node.schema == relation.schema and node.alias == relation.identifier -%}
        {%- if node.config.materialized == 'incremental' -%}
            {{ return(('extracted_at', 'model:' ~ node.alias)) }}
        {%- elif node.config.materialized == 'view' and node.depends_on.nodes | length == 1
            and node.depends_on.nodes[0] in graph.sources -%}
            {{ return((
                'extracted_at', 'source:' ~ graph.sources[node.depends_on.nodes[0]].identifier
            )) }}
        {%- endif -%}
    {%- endfor -%}
    {%- for source in graph.sources.values()
        if source.schema == relation.schema and source.identifier == relation.identifier -%}
        {{ return((
            source.loaded_at_field or source.config.loaded_at_field, 'source:' ~ source.identifier
        )) }}
    {%- endfor -%}
    {{ return(none) }}
{% endmacro %}

{#- What the last build that checked everything recorded for `scope`, as a SQL literal; none
    when this build tests everything -#}
{% macro build_scope_since(scope) %}
    {%- if flags.WHICH != 'build' or flags.FULL_REFRESH
        or not var('scope_tests_to_changes', true) -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set scopes = build_scopes_relation() -%}
    {%- if adapter.get_relation(scopes.database, scopes.schema, scopes.identifier) is none -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set found = run_query(
        "select cast(changed_since as varchar) from " ~ scopes
        ~ " where scope = '" ~ scope ~ "' and changed_since is not null"
        ~ " and invocation_id = ("
        ~ " select invocation_id from " ~ scopes ~ " where scope = 'checked'"
        ~ " and invocation_id <> '" ~ invocation_id ~ "'"
        ~ " order by recorded_at desc limit 1)"
    ) -%}
    {%- if found.rows | length == 0 -%}
        {{ return(none) }}
    {%- endif -%}
    {{ return("cast('" ~ found.rows[0][0] ~ "' as timestamp with time zone)") }}
{% endmacro %}

{#- dbt's hook for the relation a generic test reads: scoped as described above, and for a
    unique test that a unique index enforces, read only if that index is gone -#}
{% macro get_where_subquery(relation) -%}
    {%- set kwargs = model.test_metadata.kwargs -%}
    {%- set keys = kwargs.get('columns') or [kwargs.get('column_name')] -%}
    {%- set checked = scoped_test_relation(relation, keys) -%}
    {%- if model.test_metadata.name in ('unique', 'unique_combination')
        and execute and unique_index_enforces(relation, keys) -%}
        {%- set guarded -%}
            (
                select * from {{ checked }}
                where not exists ({{ enforcing_unique_index(relation, keys) }})
            ) dbt_subquery
        {%- endset -%}
        {{ return(guarded) }}
    {%- endif -%}
    {{ return(checked) }}
{%- endmacro %}

{#- `keys`: a unique test's columns -#}
{% macro scoped_test_relation(relation, keys) -%}
    {%- set where = config.get('where', '') -%}
    {%- set scope = changed_rows_scope(relation) if execute else none -%}
    {%- set since = build_scope_since(scope[1]) if scope else none -%}
    {%- if since is none -%}
        {{ return(default__get_where_subquery(relation)) }}
    {%- endif -%}
    {%- set changed = scope[0] ~ ' > ' ~ since -%}
    {%- if model.test_metadata.name in ('unique', 'unique_combination') -%}
        {%- if key_indexed(relation, keys) -%}
        {#- each changed key's rows looked up by the model's index (rows_matching): PostgreSQL
            otherwise hashes the changed keys and scans the whole table for them -#}
        {%- set key_pairs = [] -%}
        {%- for key in keys -%}
            {%- do key_pairs.append((key, key)) -%}
        {%- endfor -%}
        {%- set scoped -%}
            (
                with changed_keys as (
                    select distinct {{ keys | join(', ') }} from {{ relation }} where {{ changed }}
                )
                select * from (
                    {{ rows_matching(relation, 'changed_keys', key_pairs) }}
                ) as rows_of_keys
                {%- if where %} where ({{ where }}){% endif %}
            ) dbt_subquery
        {%- endset -%}
        {%- else -%}
        {%- set scoped -%}
            (
                select * from {{ relation }}
                where ({{ keys | join(', ') }}) in (
                    select {{ keys | join(', ') }} from {{ relation }} where {{ changed }}
                )
                {%- if where %} and ({{ where }}){% endif %}
            ) dbt_subquery
        {%- endset -%}
        {%- endif -%}
    {%- else -%}
        {%- set scoped -%}
            (
                select * from {{ relation }}
                where {{ changed }}{% if where %} and ({{ where }}){% endif %}
            ) dbt_subquery
        {%- endset -%}
    {%- endif -%}
    {{ return(scoped) }}
{%- endmacro %}

{#- Whether PostgreSQL can look a tested relation's rows up by `keys`: a model with an index
    (its `indexes` config) whose leading column is one of them. -#}
{% macro key_indexed(relation, keys) %}
    {%- set node = postgres_model_node(relation) -%}
    {%- for index in (node.config.get('indexes') if node else none) or []
        if index.columns[0] in keys -%}
        {{ return(true) }}
    {%- endfor -%}
    {{ return(false) }}
{% endmacro %}

{#- The model a tested relation is, when it is one on PostgreSQL (where its `indexes` config
    builds indexes); none otherwise -#}
{% macro postgres_model_node(relation) %}
    {%- if target.type == 'postgres' -%}
        {%- for node in graph.nodes.values()
            if node.resource_type == 'model'
            and node.schema == relation.schema and node.alias == relation.identifier -%}
            {{ return(node) }}
        {%- endfor -%}
    {%- endif -%}
    {{ return(none) }}
{% endmacro %}

{#- Whether a unique index on PostgreSQL can stand for a unique test of `keys`: the model's
    `indexes` config has a unique one over some of them, and a not_null test covers each key
    (the index lets rows with a null key repeat; the unique test would count them). The
    database then refuses a repeated key on every write, full build or refresh, and the test
    reads the rows only if the index is gone (enforcing_unique_index). -#}
{% macro unique_index_enforces(relation, keys) %}
    {%- set node = postgres_model_node(relation) -%}
    {%- if node is none -%}
        {{ return(false) }}
    {%- endif -%}
    {%- set not_null = [] -%}
    {%- for test in graph.nodes.values()
        if test.resource_type == 'test' and test.attached_node == node.unique_id
        and (test.test_metadata or {}).get('name') == 'not_null' -%}
        {%- do not_null.append(test.test_metadata.kwargs.get('column_name')) -%}
    {%- endfor -%}
    {%- for key in keys if key not in not_null -%}
        {{ return(false) }}
    {%- endfor -%}
    {%- for index in node.config.get('indexes') or []
        if index.unique and index.columns | reject('in', keys) | list | length == 0 -%}
        {{ return(true) }}
    {%- endfor -%}
    {{ return(false) }}
{% endmacro %}

{#- A valid unique index of `relation` over some of `keys`, from the catalog: uncorrelated, so
    PostgreSQL evaluates it once and skips reading the rows it guards when it finds one -#}
{% macro enforcing_unique_index(relation, keys) -%}
    select 1
    from pg_catalog.pg_index as enforcing
    where
        enforcing.indrelid = to_regclass('{{ relation.include(database=false) }}')
        and enforcing.indisunique
        and enforcing.indisvalid
        and enforcing.indpred is null
        and enforcing.indexprs is null
        and array(
            select indexed.attname::text
            from pg_catalog.pg_attribute as indexed
            where
                indexed.attrelid = enforcing.indrelid
                and indexed.attnum = any(enforcing.indkey)
        ) <@ array[{% for key in keys %}'{{ key }}'{{ ', ' if not loop.last }}{% endfor %}]::text[]
{%- endmacro %}

{#- delete+insert, as dbt's, except that the delete joins the distinct keys of the new rows.
    dbt-duckdb's deletes `using` the new rows themselves: a target row joins every new row of
    its key, so replacing a position of n events costs n x n. On PostgreSQL the keys and the
    new rows go in key order, the order of the unique index each model has on its key: the
    delete's lookups and the inserts walk that index's pages once, in order, instead of
    fetching a page per row, which once a long history's indexes outgrow memory is most of a
    refresh's writes (the delete of the 165,000 positions a refresh of a 5M-fill history
    rewrites in trader_markets: 379,000 page reads in the keys' hash order, 83,000 in key
    order). -#}
{% macro duckdb__get_delete_insert_merge_sql(
    target, source, unique_key, dest_columns, incremental_predicates
) -%}
    {{ delete_insert_by_keys(target, source, unique_key, dest_columns, incremental_predicates) }}
{%- endmacro %}

{% macro postgres__get_delete_insert_merge_sql(
    target, source, unique_key, dest_columns, incremental_predicates
) -%}
    {{ delete_insert_by_keys(
        target, source, unique_key, dest_columns, incremental_predicates, in_key_order=true
    ) }}
{%- endmacro %}

{% macro delete_insert_by_keys(
    target, source, unique_key, dest_columns, incremental_predicates, in_key_order=false
) -%}
    {%- set dest_cols_csv = get_quoted_csv(dest_columns | map(attribute="name")) -%}
    {%- set keys = [unique_key] if unique_key is string else (unique_key or []) -%}
    {%- set key_order = ('order by ' ~ keys | join(', ')) if in_key_order and keys else '' -%}
    {%- if keys %}
        delete from {{ target }} as dbt_incremental_target
        using (
            select distinct {{ keys | join(', ') }}
            from {{ source }}
            {{ key_order }}
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
        {{ key_order }}
    )
{%- endmacro %}

{#- A recomputed row holds the same values as its stored one in `columns` (nulls equal): a
    model that writes only the rows that differ keeps the others, stamp included. -#}
{% macro same_values(recomputed, stored, columns) -%}
    (
        {%- for column in columns %}
            {{ 'and ' if not loop.first }}{{ recomputed }}.{{ column }}
            is not distinct from {{ stored }}.{{ column }}
        {%- endfor %}
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

{#- `select <expression> from` a model's table, as a value read when the model that asks runs;
    none before that table is first built (or when parsing): `dbt compile` and `dbt docs
    generate` render every model, built or not. -#}
{% macro built_scalar(model_name, expression) %}
    {%- set relation = stored_relation(model_name) -%}
    {%- if relation is none -%}
        {{ return(none) }}
    {%- endif -%}
    {{ return(query_scalar('select ' ~ expression ~ ' from ' ~ relation)) }}
{% endmacro %}

{#- The rows of `relation` that match a row of `outer` (a relation or CTE) on `keys`, pairs
    of (relation's column, outer's column). PostgreSQL looks them up row by row, through the
    relation's index on those columns, where a join with a set it cannot estimate (a scope's
    CTE) hashes or sorts the whole relation; DuckDB joins (it has no such index, and hashes
    either way). For the few rows a refresh rewrites beside a long history. -#}
{% macro rows_matching(relation, outer, keys) %}
    select matched.*
    from {{ outer }}
    {%- if target.type == 'postgres' %}
        cross join lateral (
            select * from {{ relation }} as candidates
            where
                {%- for column, outer_column in keys %}
                    {{ 'and ' if not loop.first -}}
                    candidates.{{ column }} = {{ outer }}.{{ outer_column }}
                {%- endfor %}
            -- a fence: PostgreSQL would otherwise turn the lookup back into a join
            offset 0
        ) as matched
    {%- else %}
        inner join {{ relation }} as matched
            on
                {%- for column, outer_column in keys %}
                    {{ 'and ' if not loop.first -}}
                    matched.{{ column }} = {{ outer }}.{{ outer_column }}
                {%- endfor %}
    {%- endif %}
{% endmacro %}

{#- `order by` the columns on PostgreSQL, for a materialized CTE whose rows are then looked up
    one by one in an index on those columns: in key order, consecutive lookups walk the index
    page by page, where in any other order each one reads pages of its own from anywhere in
    it. 489,000 lookups of rewritten positions in the position summaries take 4.7 s in hash
    order and 1.7 s in key order at 5M fills, 3.4 s and 1.9 s at 1M: in key order their cost
    follows the rows looked up, not the table's size. The order only spares page reads, so
    it is taken byte-wise ("C": the keys are hex and decimal text, in the same order either
    way), sparing the sort the database collation's comparisons. Nothing on DuckDB, which
    joins. -#}
{% macro lookup_order(columns) -%}
    {%- if target.type == 'postgres' -%}
        order by
        {%- for column in columns %} {{ column }} collate "C"{{ ',' if not loop.last }}{% endfor %}
    {%- endif -%}
{%- endmacro %}

{#- The rows of `relation` of each position of `positions` (rows_matching on the trader,
    `trader_column` in the relation and `positions_trader` in `positions`, and token_id). -#}
{% macro rows_of_positions(relation, positions, trader_column, positions_trader) %}
    {{ rows_matching(
        relation, positions, [(trader_column, positions_trader), ('token_id', 'token_id')]
    ) }}
{% endmacro %}

{#- Two CTEs of a refresh's rewritten positions (`positions`: trader_address, token_id and
    instant_name 'now', in key order): their 'now' rows of int_position_equity_windowed
    (rewritten_equity) and their summaries (rewritten_summaries), looked up by key. -#}
{% macro now_rows_of_positions(positions) %}
    rewritten_equity as (

        {{ rows_matching(ref('int_position_equity_windowed'), positions, [
            ('trader_address', 'trader_address'),
            ('token_id', 'token_id'),
            ('instant_name', 'instant_name'),
        ]) }}

    ),

    rewritten_summaries as (

        {{ rows_of_positions(
            ref('int_position_summaries'), positions, 'trader_address', 'trader_address'
        ) }}

    ),
{% endmacro %}

{#- Each condition's newest fill (of those that had landed by `landed_by`, when given), read per
    token: PostgreSQL takes a token's off the end of the fills' (token_id, filled_at_epoch)
    index, where a join reads every fill of the token (a market's whole history). Over
    `condition_tokens`, a relation or CTE with condition_id and token_id. -#}
{% macro last_fills_by_condition(condition_tokens, landed_by=none) %}
    select
        tokens.condition_id,
        max(token_fills.last_fill_epoch) as last_fill_epoch
    from {{ condition_tokens }} as tokens
    cross join lateral (
        select max(fills.filled_at_epoch) as last_fill_epoch
        from {{ ref('int_order_fills_unioned') }} as fills
        where
            fills.token_id = tokens.token_id
            {%- if landed_by is not none %} and fills.extracted_at <= {{ landed_by }}{% endif %}
    ) as token_fills
    group by tokens.condition_id
{% endmacro %}

{#- The newest load among a relation's rows (max extracted_at; the epoch when it has none,
    does not exist yet, or has no extracted_at column, as a table an earlier release built:
    its scope still compiles in the full refresh that rebuilds it), as a timestamp literal
    read when the model runs: what an incremental model tells the rows loaded since its last
    build by. A literal, not a subquery: PostgreSQL plans a filter on a literal from its
    statistics and finds the few rows loaded since through the extracted_at index, where
    against a subquery it assumes a third of the table and scans it whole. The text form
    keeps the microseconds and the offset exactly on both engines. -#}
{% macro stored_watermark(relation) %}
    {%- set epoch = epoch_to_timestamptz(0) -%}
    {%- if not execute or relation is none -%}
        {{ return(epoch) }}
    {%- endif -%}
    {%- set columns = adapter.get_columns_in_relation(relation) | map(attribute='name')
        | map('lower') | list -%}
    {%- if 'extracted_at' not in columns -%}
        {{ return(epoch) }}
    {%- endif -%}
    {%- set newest = query_scalar(
        'select cast(max(extracted_at) as ' ~ text_type() ~ ') from ' ~ relation
    ) -%}
    {%- if newest is none -%}
        {{ return(epoch) }}
    {%- endif -%}
    {{ return("cast('" ~ newest ~ "' as timestamptz)") }}
{% endmacro %}

{#- The one value a query returns (none for null), read when the model runs (none at parse
    time). -#}
{% macro query_scalar(sql) %}
    {%- if not execute -%}
        {{ return(none) }}
    {%- endif -%}
    {{ return(run_query(sql).columns[0].values()[0]) }}
{% endmacro %}

{#- The as_of (epoch) of the newest build that wrote rows to int_position_equity_windowed (its
    rows with the newest stamp); none before any. Every position's stored rows hold at that
    build's instants: a build rewrites each position whose rows moved. -#}
{% macro stored_equity_as_of(relation) %}
    {%- if relation is none -%}
        {{ return(none) }}
    {%- endif -%}
    {{ return(query_scalar(
        "select max(as_of_epoch) from " ~ relation
        ~ " where extracted_at = (select max(extracted_at) from " ~ relation ~ ")"
    )) }}
{% endmacro %}

{#- A predicate: `column` lies between an instant's place at as_of `before` and at as_of
    `after` (now and each window start; either order), i.e. a window start moved past it. False
    when the two are equal; true when either is unknown (none). -#}
{% macro moved_past(column, before, after) %}
    {%- if before is none or after is none -%}
        true
    {%- else -%}
        {%- set low, high = [before, after] | min, [before, after] | max -%}
        ({{ column }} > {{ low }} and {{ column }} <= {{ high }}
        {%- for name, seconds in windows() %}
            or {{ column }} > {{ low - seconds }} and {{ column }} <= {{ high - seconds }}
        {%- endfor %})
    {%- endif -%}
{% endmacro %}

{#- The markets (conditions; a token without one is a market of its own) with a fill loaded
    after `since` (the stored_watermark of a model's stored rows: a token's last price, a
    condition's last fill) or whose tokens were loaded since (their condition and payouts). -#}
{% macro markets_filled_or_enumerated_since(since) %}
    select coalesce(tokens.condition_id, fills.token_id) as market_id
    from {{ ref('int_order_fills_unioned') }} as fills
    left join {{ ref('int_outcome_tokens_enumerated') }} as tokens
        on fills.token_id = tokens.token_id
    where fills.extracted_at > {{ since }}
    union
    select condition_id
    from {{ ref('int_outcome_tokens_enumerated') }}
    where extracted_at > {{ since }}
{% endmacro %}

{#- The markets with a row loaded since in what their tokens' marks and their closing read:
    those above, and redemptions of both eras (a condition's first one) and chain
    resolutions. A position's own events come with its summary's stamp. -#}
{% macro markets_loaded_since(since) %}
    {{ markets_filled_or_enumerated_since(since) }}
    union
    select condition_id
    from {{ ref('stg_polymarket__redemptions') }}
    where extracted_at > {{ since }}
    union
    select condition_id
    from {{ ref('stg_polymarket__chain_position_operations') }}
    where extracted_at > {{ since }} and condition_id is not null
    union
    select condition_id
    from {{ ref('stg_polymarket__chain_condition_resolutions') }}
    where extracted_at > {{ since }}
{% endmacro %}

{#- The markets whose tokens' marks may have moved since: a fill or a re-load of their tokens
    (markets_filled_or_enumerated_since), or a condition int_conditions_resolved rewrote
    since (its resolution or resolved_at moved: that model keeps the stamp of an unchanged
    row). Narrower than markets_loaded_since: one more redemption of a resolved market moves
    the redeemer's positions only, which come with their summaries' stamps. -#}
{% macro markets_remarked_since(since) %}
    {{ markets_filled_or_enumerated_since(since) }}
    union
    select condition_id
    from {{ ref('int_conditions_resolved') }}
    where extracted_at > {{ since }}
{% endmacro %}

{#- The newest load anything a position's equity reads has seen: the stamp of the rows a
    model scoped by markets_loaded_since writes. -#}
{% macro newest_position_load() %}
    (
        select greatest(
            coalesce(max(watermark.extracted_at), max(conditions.extracted_at)),
            coalesce(max(conditions.extracted_at), max(watermark.extracted_at))
        )
        from {{ ref('int_event_times_summarized') }} as watermark
        cross join (
            select max(extracted_at) as extracted_at
            from {{ ref('int_outcome_tokens_enumerated') }}
        ) as conditions
    )
{% endmacro %}

{#- pre-hook of int_trader_markets_summarized: a refresh replaces the trader-markets it
    rewrites by key, and a token's market changes key when its condition lands (a market of
    its own until then) or goes (a chain reorganisation): the stored rows under the old key
    go here. -#}
{% macro drop_remapped_trader_markets() %}
    {%- if is_incremental() -%}
        delete from {{ this }}
        where
            (condition_id is null and market_id in (
                select tokens.token_id
                from {{ ref('int_outcome_tokens_enumerated') }} as tokens
                where tokens.condition_id is not null
            ))
            or (condition_id is not null and condition_id not in ({{ enumerated_conditions() }}))
    {%- else -%}
        select 1
    {%- endif -%}
{% endmacro %}

{#- A full build of an event table writes its rows in time order, and refreshes append newer
    ones, so the table stays laid out in time. A refresh reads the recent history of the
    positions and tokens that moved: DuckDB, which has no index, finds it by a scalar bound on
    the event time, which skips the row groups (zone maps) wholly before the bound; PostgreSQL
    through its indexes, whose rows then lie in the table's last pages, where in load order
    each row of a recent position sits on a page of its own somewhere in the whole history
    (once the history outgrows memory, a read from disk per row). -#}
{% macro time_order(column) -%}
    {%- if not is_incremental() -%}
        order by {{ column }}
    {%- endif -%}
{%- endmacro %}

{#- The conditions whose tokens are enumerated now: a stored row of any other is gone. -#}
{% macro enumerated_conditions() %}
    select tokens.condition_id
    from {{ ref('int_outcome_tokens_enumerated') }} as tokens
    where tokens.condition_id is not null
{% endmacro %}

{#- pre-hook of int_conditions_resolved: a refresh rewrites the conditions with a row loaded
    since, and a condition whose preparation goes (a chain reorganisation) has none left to
    load: its stored row goes here. -#}
{% macro drop_unenumerated_conditions() %}
    {%- if is_incremental() -%}
        delete from {{ this }}
        where condition_id not in ({{ enumerated_conditions() }})
    {%- else -%}
        select 1
    {%- endif -%}
{% endmacro %}

{#- pre-hook of int_token_prices_daily: a token's closes end at its condition's resolution day;
    the stored days past it go when a condition rewritten since (a resolution loaded, or moved
    earlier) resolved before them. -#}
{% macro drop_closes_past_resolution() %}
    {%- if is_incremental() -%}
        delete from {{ this }} as stored
        where exists (
            select 1
            from {{ ref('int_outcome_tokens_enumerated') }} as tokens
            inner join {{ ref('int_conditions_resolved') }} as conditions
                on tokens.condition_id = conditions.condition_id
            where
                tokens.token_id = stored.token_id
                and conditions.is_resolved
                and conditions.extracted_at > {{ stored_watermark(this) }}
                and stored.day_start_epoch
                > {{ epoch_to_day_start('conditions.resolved_at_epoch') }}
        )
    {%- else -%}
        select 1
    {%- endif -%}
{% endmacro %}

{#- The positions (trader, token) of trader-markets: a market is its condition's tokens, or the
    token itself while its condition is unknown. `trader_markets` names a relation or CTE with
    trader_address and market_id. -#}
{% macro positions_of_markets(trader_markets) %}
    select
        {{ trader_markets }}.trader_address,
        coalesce(tokens.token_id, {{ trader_markets }}.market_id) as token_id
    from {{ trader_markets }}
    left join {{ ref('int_outcome_tokens_enumerated') }} as tokens
        on {{ trader_markets }}.market_id = tokens.condition_id
{% endmacro %}

{#- For each trader of `traders` (trader_address, from_day_start_epoch), the day of its stored
    row `which` that day ('first on or after', 'last before'), as day_start_epoch; no row
    when it has none. PostgreSQL takes it off the (wallet, day) index, one entry per
    trader, where a join reads every stored day of the traders (their whole history). -#}
{% macro stored_day_next_to(stored, traders, which) %}
    {%- set bound = epoch_to_date(traders ~ '.from_day_start_epoch') %}
    {%- set condition, order = {
        'first on or after': (bound ~ ' <= stored.day', 'asc'),
        'last before': (bound ~ ' > stored.day', 'desc'),
    }[which] %}
    {%- if target.type == 'postgres' %}
    select
        {{ traders }}.trader_address,
        {{ date_to_epoch('next_day.day') }} as day_start_epoch
    from {{ traders }}
    cross join lateral (
        select stored.day
        from {{ stored }} as stored
        where stored.wallet_address = {{ traders }}.trader_address and {{ condition }}
        order by stored.day {{ order }}
        limit 1
    ) as next_day
    {%- else %}
    select
        {{ traders }}.trader_address,
        {{ date_to_epoch(('min' if order == 'asc' else 'max') ~ '(stored.day)') }}
            as day_start_epoch
    from {{ traders }}
    inner join {{ stored }} as stored
        on {{ traders }}.trader_address = stored.wallet_address and {{ condition }}
    group by {{ traders }}.trader_address
    {%- endif %}
{% endmacro %}

{#- post-hook of int_position_equity_windowed: a frozen position has its 'now' row only. A
    refresh writes the 'now' row of a position that froze (is_frozen turned true: a row with
    the newest stamp) and keeps the stored rows it does not write: the frozen position's
    window-start rows go here, looked up by the key index (after prefer_index_lookups: a hash
    join would read every stored row). -#}
{% macro drop_frozen_instants() %}
    {%- if is_incremental() -%}
        delete from {{ this }} as windowed
        using (
            select
                trader_address,
                token_id
            from {{ this }}
            where
                extracted_at >= {{ stored_watermark(this) }}
                and instant_name = 'now'
                and is_frozen
        ) as frozen
        where
            windowed.trader_address = frozen.trader_address
            and windowed.token_id = frozen.token_id
            and windowed.instant_name <> 'now'
    {%- else -%}
        select 1
    {%- endif -%}
{% endmacro %}

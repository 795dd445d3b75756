{# The excluded addresses as a SQL list literal; the var may be a list or a comma-separated string. #}
{% macro excluded_addresses_sql() -%}
    {{ return(address_list_sql(var('excluded_addresses', []))) }}
{%- endmacro %}

{% macro adapter_internal_addresses_sql() -%}
    {{ return(address_list_sql(var('adapter_internal_addresses', []))) }}
{%- endmacro %}

{# A list of addresses (or one comma-separated string) as a SQL tuple of lower-case text. #}
{% macro address_list_sql(value) -%}
    {%- if value is string -%}
        {%- set value = value.split(',') -%}
    {%- endif -%}
    {%- set cleaned = [] -%}
    {%- for address in value -%}
        {%- if address | trim -%}
            {%- do cleaned.append(address | trim | lower) -%}
        {%- endif -%}
    {%- endfor -%}
    {%- if cleaned -%}
        ({% for address in cleaned %}'{{ address | replace("'", "''") }}'{% if not loop.last %}, {% endif %}{% endfor %})
    {%- else -%}
        ('')
    {%- endif -%}
{%- endmacro %}

{# The leaderboard windows: name and length in seconds ('all' has none). #}
{% macro windows() -%}
    {{ return([('1d', 86400), ('7d', 604800), ('30d', 2592000)]) }}
{%- endmacro %}

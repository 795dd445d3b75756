{#- Models land in exactly the schema they name (staging, intermediate, marts), not
    <target schema>_<custom schema>, so every target has the same layout. -#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- if custom_schema_name is none -%}
        {{ target.schema | trim }}
    {%- else -%}
        {{ custom_schema_name | trim }}
    {%- endif -%}
{%- endmacro %}

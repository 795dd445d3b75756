{#
  Polymarket's leaderboard categories and the Gamma tag slug that marks each, in the order a
  market with several category tags is given one (an event tagged politics and economy is
  politics; economy and finance is economics).
#}
{% macro leaderboard_categories() -%}
    {{ return([
        ('politics', 'politics'),
        ('sports', 'sports'),
        ('crypto', 'crypto'),
        ('economics', 'economy'),
        ('finance', 'finance'),
        ('tech', 'tech'),
        ('culture', 'pop-culture'),
        ('weather', 'weather'),
        ('mentions', 'mentions'),
    ]) }}
{%- endmacro %}

{% macro category_of_tag_slug(slug) -%}
    case {{ slug }}
    {%- for category, tag_slug in leaderboard_categories() %}
        when '{{ tag_slug }}' then '{{ category }}'
    {%- endfor %}
    end
{%- endmacro %}

{% macro category_rank_of_tag_slug(slug) -%}
    case {{ slug }}
    {%- for category, tag_slug in leaderboard_categories() %}
        when '{{ tag_slug }}' then {{ loop.index }}
    {%- endfor %}
    end
{%- endmacro %}

{# Aggregates over rows of int_trader_markets_summarized (alias `closed`) joined to the
   watermark: wins and losses over all time and over each window, counting the trader-markets
   closed in (as_of - W, as_of] (DESIGN section 2, "Per window W"). #}
{% macro outcome_counts(closed='closed', watermark='watermark') -%}
    sum(case when {{ closed }}.outcome = 'win' then 1 else 0 end) as wins,
    sum(case when {{ closed }}.outcome = 'loss' then 1 else 0 end) as losses
    {%- for name, seconds in windows() -%}
        {%- for outcome, column in [('win', 'wins'), ('loss', 'losses')] %},
    sum(
        case
            when
                {{ closed }}.outcome = '{{ outcome }}'
                and {{ closed }}.closed_at_epoch > {{ watermark }}.as_of_epoch - {{ seconds }}
                then 1
            else 0
        end
    ) as {{ column }}_{{ name }}
        {%- endfor -%}
    {%- endfor -%}
{%- endmacro %}

{# 100 x wins / (wins + losses) as a decimal(38,6), null when there are none. #}
{% macro win_rate(wins, losses) -%}
    case
        when {{ wins }} + {{ losses }} > 0
            then {{ micro(round_idiv(
                to_int(wins) ~ ' * 100000000', wins ~ ' + ' ~ losses
            )) }}
    end
{%- endmacro %}

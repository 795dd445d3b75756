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

{# Aggregates over fills (alias `fills`) joined to the watermark: trades_W and volume_W, the
   fills and their USDC in (as_of - W, as_of] for each window. #}
{% macro window_fill_sums(fills='fills', watermark='watermark') -%}
    {%- for name, seconds in windows() %}
    count(
        case when {{ fills }}.filled_at_epoch > {{ watermark }}.as_of_epoch - {{ seconds }} then 1 end
    ) as trades_{{ name }},
    coalesce(sum(
        case
            when {{ fills }}.filled_at_epoch > {{ watermark }}.as_of_epoch - {{ seconds }}
                then {{ fills }}.usdc
        end
    ), 0) as volume_{{ name }}{{ ',' if not loop.last }}
    {%- endfor %}
{%- endmacro %}

{# Aggregates over int_position_equity_windowed rows: start_equity_W_e24, the equity at the
   start of each window (pnl_W = equity now - equity at as_of - W, DESIGN section 2); a frozen
   position's only row ('now') holds its equity at every instant. #}
{% macro window_start_equities(equity='equity') -%}
    {%- for name, seconds in windows() %}
    sum(
        case
            when {{ equity }}.instant_name = '{{ name }}' or {{ equity }}.is_frozen
                then {{ equity }}.equity_e24
            else 0
        end
    ) as start_equity_{{ name }}_e24{{ ',' if not loop.last }}
    {%- endfor %}
{%- endmacro %}

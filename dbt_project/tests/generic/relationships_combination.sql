{#- Every combination of `columns` in the model exists in `to` (a composite foreign key). -#}
{% test relationships_combination(model, to, columns) %}

select child.*
-- the model may be a subquery (a `where` config, a refresh's changed rows)
from (select * from {{ model }}) as child
left join {{ to }} as parent
    on
    {%- for column in columns %}
        child.{{ column }} = parent.{{ column }}{% if not loop.last %} and{% endif %}
    {%- endfor %}
where parent.{{ columns[0] }} is null

{% endtest %}

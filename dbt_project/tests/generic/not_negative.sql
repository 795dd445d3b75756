{#- No value of the column is below zero (a null passes). A generic test, so a refresh checks
    the rows it wrote only (macros/test_scope.sql). -#}
{% test not_negative(model, column_name) %}

select {{ column_name }}
from {{ model }}
where {{ column_name }} < 0

{% endtest %}

{#- Whether a successful after-sale refunds its whole SKU order line (docs/sources.md "after_sale"):
    a return or refund (types 0, 1, 2) of every unit of the line. A return or refund of k of n units
    (aftersale_num < the line's item_num) is partial, like price protection (type 6); exchanges (3) and
    resends (7) refund nothing. A line whose item_num is unknown (not landed) counts as fully refunded. -#}
{% macro is_full_refund(aftersale_type, aftersale_num, item_num) -%}
    ({{ aftersale_type }} in (0, 1, 2)
     and ({{ item_num }} is null or {{ aftersale_num }} is null or {{ aftersale_num }} >= {{ item_num }}))
{%- endmacro %}

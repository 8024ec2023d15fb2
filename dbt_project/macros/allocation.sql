{#- Split an integer amount (fen) over rows by weight, exact to the fen: every row gets
    floor(amount x weight / total weight), and the row ranked first by ``order_by`` (the largest
    share: order by the weight descending, then a key for ties) also gets what the floors leave
    (amount - their sum), so the shares always add up to the amount. Rows are grouped by
    ``partition_by`` (a list of columns): each group shares the amount on its rows (the same amount
    on every row of a group, e.g. a day's ad spend repeated on each of its products).
    - A group whose total weight is not above 0 (no weights, all 0 or null) keeps the whole amount
      on each row: give such a group one row (e.g. a left join that found nothing: product_id null).
    - Negative amounts floor downwards (-100 over three equal weights: -34 each), the first row
      takes the (positive) rest: -32, -34, -34.
    floor() runs on DOUBLE (DuckDB divides decimals in floating point): exact while amount x weight
    stays below 2^53 (9e15); beyond, a share can be off by one fen, never the total.
    Returns a query over ``relation`` (a CTE name): its columns plus allocation_total_weight,
    allocation_rank, allocation_floor_fen and allocated_fen (BIGINT-valued). Used by
    int_pnl_components__product_daily (ad spend by GMV share, freight by units);
    unit tests: models/intermediate/_intermediate__unit_tests.yml (allocation_*). -#}
{% macro allocate_fen_by_weight(relation, amount, weight, partition_by, order_by) -%}
    {%- set partition = partition_by | join(', ') -%}
    select
        with_floors.*,
        allocation_floor_fen + case when allocation_rank = 1
                                    then {{ amount }} - sum(allocation_floor_fen) over (partition by {{ partition }})
                                    else 0 end                                           as allocated_fen
    from (
        select
            with_weights.*,
            case when allocation_total_weight > 0
                 then cast(floor(cast({{ amount }} as decimal(38, 6)) * {{ weight }} / allocation_total_weight)
                           as {{ dbt.type_bigint() }})
                 else {{ amount }} end                                                   as allocation_floor_fen
        from (
            select
                {{ relation }}.*,
                sum({{ weight }}) over (partition by {{ partition }})                    as allocation_total_weight,
                row_number() over (partition by {{ partition }} order by {{ order_by }}) as allocation_rank
            from {{ relation }}
        ) as with_weights
    ) as with_floors
{%- endmacro %}

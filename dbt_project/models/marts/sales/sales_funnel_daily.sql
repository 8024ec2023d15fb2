{{
    config(
        materialized=keyed_incremental_materialization(),
        incremental_strategy=keyed_incremental_strategy(),
        unique_key=day_incremental_key('stat_date', ['shop_id', 'stat_date', 'product_id', 'channel']),
        on_schema_change='fail'
    )
}}
-- The 罗盘 traffic funnel per shop x product x channel x day (Asia/Shanghai), with every step rate
-- (later count / earlier count, DOUBLE fraction, null when the earlier count is 0):
--   ctr = clicks / exposures (点击率), add_to_cart_rate = add_to_carts / clicks,
--   order_rate = orders / add_to_carts, pay_rate = pays / orders, exposure_to_pay_rate = pays / exposures
-- Cross-check: paid_lines = paid SKU order lines of that product x channel x pay day (our order
-- data, channel by the contract precedence); pays_minus_paid_lines should be 0. A product x
-- channel x day with paid lines but no funnel row still appears (funnel counts 0, has_funnel_row false).
-- Incremental by day (macros/incremental.sql): a run rebuilds every day from incremental_cutoff() on,
-- the older pay days of the order lines whose sale figures changed since (sales_changed_dt) and the older days of re-landed funnel rows.
{%- set cutoff = incremental_cutoff('stat_date') %}
{%- set touched_days -%}
    select pay_date from {{ ref('int_order_lines__enriched') }} where sales_changed_dt >= {{ cutoff }}
    union all
    select stat_date from {{ ref('stg_backoffice__traffic_funnel') }} where source_dt >= {{ cutoff }}
{%- endset %}
{%- set touched = incremental_touched_days(touched_days, cutoff) %}
with funnel as (

    select * from {{ ref('stg_backoffice__traffic_funnel') }}
    where {{ incremental_days_filter('stat_date', cutoff, touched) }}

),

paid as (

    select
        shop_id,
        product_id,
        channel,
        pay_date,
        count(*)                                              as paid_lines,
        sum(pay_fen)                                          as gmv_fen
    from {{ ref('int_order_lines__enriched') }}
    where is_paid
      and {{ incremental_days_filter('pay_date', cutoff, touched) }}
    group by shop_id, product_id, channel, pay_date

),

joined as (

    select
        coalesce(funnel.shop_id, paid.shop_id)                as shop_id,
        coalesce(funnel.stat_date, paid.pay_date)             as stat_date,
        coalesce(funnel.product_id, paid.product_id)          as product_id,
        coalesce(funnel.channel, paid.channel)                as channel,
        coalesce(funnel.exposures, 0)                         as exposures,
        coalesce(funnel.clicks, 0)                            as clicks,
        coalesce(funnel.add_to_carts, 0)                      as add_to_carts,
        coalesce(funnel.orders, 0)                            as orders,
        coalesce(funnel.pays, 0)                              as pays,
        coalesce(paid.paid_lines, 0)                          as paid_lines,
        coalesce(paid.gmv_fen, 0)                             as gmv_fen,
        funnel.shop_id is not null                            as has_funnel_row
    from funnel
    full outer join paid
        on funnel.shop_id = paid.shop_id
        and funnel.product_id = paid.product_id
        and funnel.channel = paid.channel
        and funnel.stat_date = paid.pay_date

),

named as (

    select
        joined.*,
        products.product_name
    from joined
    left join {{ ref('dim_products') }} as products
        on joined.product_id = products.product_id

)

select
    cast(shop_id as {{ dbt.type_string() }})                                    as shop_id,
    cast(stat_date as date)                                                     as stat_date,
    cast(product_id as {{ dbt.type_string() }})                                 as product_id,
    cast(product_name as {{ dbt.type_string() }})                               as product_name,
    cast(channel as {{ dbt.type_string() }})                                    as channel,
    cast(exposures as {{ dbt.type_bigint() }})                                  as exposures,
    cast(clicks as {{ dbt.type_bigint() }})                                     as clicks,
    cast(add_to_carts as {{ dbt.type_bigint() }})                               as add_to_carts,
    cast(orders as {{ dbt.type_bigint() }})                                     as orders,
    cast(pays as {{ dbt.type_bigint() }})                                       as pays,
    cast({{ safe_ratio('clicks', 'exposures') }} as {{ type_double() }})       as ctr,
    cast({{ safe_ratio('add_to_carts', 'clicks') }} as {{ type_double() }})    as add_to_cart_rate,
    cast({{ safe_ratio('orders', 'add_to_carts') }} as {{ type_double() }})    as order_rate,
    cast({{ safe_ratio('pays', 'orders') }} as {{ type_double() }})            as pay_rate,
    cast({{ safe_ratio('pays', 'exposures') }} as {{ type_double() }})         as exposure_to_pay_rate,
    cast(paid_lines as {{ dbt.type_bigint() }})                                 as paid_lines,
    {{ fen_to_yuan('gmv_fen') }}                                                as paid_gmv_yuan,
    cast(pays - paid_lines as {{ dbt.type_bigint() }})                          as pays_minus_paid_lines,
    has_funnel_row                                                              as has_funnel_row
from named

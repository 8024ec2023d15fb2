{#- The P&L measures, defined once for every grain (shop × day, shop × product × day).
    Input: a relation with the *_fen components of int_pnl_components__product_daily.
      net_revenue         = GMV + platform/creator-funded subsidies (paid back in settlement) - refunds
      contribution_margin = net_revenue - platform fees - commissions - 招商服务费 - ad spend
                            - freight - COGS (net of returns) -#}
{% macro pnl_measures() -%}
    {%- set margin = 'gmv_fen + subsidy_fen - refund_fen - platform_fee_fen - commission_fen - colonel_fee_fen'
                     ~ ' - ad_spend_fen - freight_fen - cogs_sold_fen + cogs_returned_fen' -%}
        {{ fen_to_yuan('gmv_fen') }}                                        as gmv_yuan,
        {{ fen_to_yuan('subsidy_fen') }}                                    as subsidy_yuan,
        {{ fen_to_yuan('refund_fen') }}                                     as refund_yuan,
        {{ fen_to_yuan('gmv_fen + subsidy_fen - refund_fen') }}             as net_revenue_yuan,
        {{ fen_to_yuan('platform_fee_fen') }}                               as platform_fee_yuan,
        {{ fen_to_yuan('commission_fen') }}                                 as commission_yuan,
        {{ fen_to_yuan('colonel_fee_fen') }}                                as colonel_fee_yuan,
        {{ fen_to_yuan('ad_spend_fen') }}                                   as ad_spend_yuan,
        {{ fen_to_yuan('freight_fen') }}                                    as freight_yuan,
        {{ fen_to_yuan('cogs_sold_fen - cogs_returned_fen') }}              as cogs_yuan,
        {{ fen_to_yuan(margin) }}                                           as contribution_margin_yuan,
        cast({{ margin }} as {{ dbt.type_bigint() }})                       as contribution_margin_fen
{%- endmacro %}

{#- The business days whose P&L components a change since ``cutoff`` touches (one DATE column; the
    incremental P&L models rebuild them, with every day from the cutoff on: macros/incremental.sql):
    the pay days of order lines whose sale figures (sales_changed_dt), after-sales or settlement
    changed (their sales, expected fees and COGS; refunds before / after settlement), the refund days of their successful
    after-sales and of after-sales staged since (refunds, returned COGS), the stat days of re-landed
    Qianchuan rows, the ship days of freight invoices re-landed or whose waybill's shipments or lines
    changed, and the pay and refund days of lines whose SKU got a cost row in force on their pay day. -#}
{% macro pnl_touched_days_sql(cutoff) -%}
    {%- set lines = ref('int_order_lines__enriched') -%}
    {%- set changed_lines = 'select sku_order_id from ' ~ lines ~ ' where sales_changed_dt >= ' ~ cutoff -%}
    {%- set cost_rows = ref('stg_merchant__product_cost') -%}
    select pay_date from {{ lines }}
    where is_paid and (sales_changed_dt >= {{ cutoff }} or sku_order_id in (
        select sku_order_id from {{ ref('stg_doudian__after_sale') }} where source_dt >= {{ cutoff }}))
    union all
    select lines.pay_date from {{ lines }} as lines
    where lines.is_paid and lines.sku_order_id in (
        select sku_order_id from {{ ref('stg_backoffice__settlement_bill') }} where source_dt >= {{ cutoff }})
    union all
    select refund_date from {{ ref('stg_doudian__after_sale') }}
    where is_refund_success and (source_dt >= {{ cutoff }} or sku_order_id in ({{ changed_lines }}))
    union all
    select stat_date from {{ ref('stg_doudian__ad_report') }} where source_dt >= {{ cutoff }}
    union all
    select ship_date from {{ ref('stg_carrier__freight_invoice') }}
    where source_dt >= {{ cutoff }}
       or tracking_no in (select tracking_no from {{ ref('stg_wms__shipment') }}
                          where source_dt >= {{ cutoff }} or sku_order_id in ({{ changed_lines }}))
       or original_tracking_no in (select tracking_no from {{ ref('stg_wms__shipment') }}
                                   where source_dt >= {{ cutoff }} or sku_order_id in ({{ changed_lines }}))
    union all
    select lines.pay_date from {{ lines }} as lines
    inner join {{ cost_rows }} as costs
        on lines.sku_id = costs.sku_id and lines.pay_date >= costs.effective_date
    where lines.is_paid and costs.source_dt >= {{ cutoff }}
    union all
    select after_sales.refund_date from {{ ref('stg_doudian__after_sale') }} as after_sales
    inner join {{ lines }} as lines on after_sales.sku_order_id = lines.sku_order_id
    inner join {{ cost_rows }} as costs
        on lines.sku_id = costs.sku_id and lines.pay_date >= costs.effective_date
    where after_sales.is_refund_success and costs.source_dt >= {{ cutoff }}
{%- endmacro %}

{#- The 3PL shipment lines that pass ``shipment_filter`` (a condition on stg_wms__shipment's columns) with
    their shop (the order line's, else the order's) and product: the freight allocation's inputs
    (int_pnl_components__product_daily). Each reader passes its own filter, so that it reaches the scan of
    a year of shipments before the joins. -#}
{% macro pnl_shipments_with_shop(shipment_filter) -%}
    select
        shipments.tracking_no,
        shipments.warehouse_id,
        shipments.sku_order_id,
        shipments.quantity,
        coalesce(lines.shop_id, shop_orders.shop_id)                                       as shop_id,
        lines.product_id
    from (select * from {{ ref('stg_wms__shipment') }} where {{ shipment_filter }}) as shipments
    left join {{ ref('int_order_lines__enriched') }} as lines
        on shipments.sku_order_id = lines.sku_order_id
    left join {{ ref('stg_doudian__shop_order') }} as shop_orders
        on shipments.shop_order_id = shop_orders.shop_order_id
{%- endmacro %}

{#- Incremental by day on DuckDB (macros/incremental.sql, days touched: pnl_touched_days_sql()); a table
    on Spark (keyed_incremental_materialization()): there a view is planned again inside each mart that
    reads it, and this plan (eight inputs, allocations with window functions) feeds both fin_pnl marts. -#}
{{
    config(
        materialized=keyed_incremental_materialization(),
        incremental_strategy=keyed_incremental_strategy(),
        unique_key=day_incremental_key('date_day', ['shop_id', 'product_id', 'date_day']),
        on_schema_change='fail'
    )
}}
{%- set cutoff = incremental_cutoff('date_day') %}
{%- set touched = incremental_touched_days(pnl_touched_days_sql(cutoff), cutoff) %}
{#- Which 3PL shipments each freight step reads (pnl_shipments_with_shop()). A daily run reads the rebuilt
    days' waybills, and the whole lake only for the warehouses of unattributed freight (or, for freight of no
    known warehouse, every shop's units); a full build reads every shipment: the same rows, and a plan
    without subqueries between the steps (Spark inlines each CTE where it is read: the daily run's filters
    made its plan run out of Java heap). -#}
{%- if is_incremental() %}
{%- set shipments_billed = 'tracking_no in (select tracking_no from invoice_waybills)' %}
{%- set shipments_of_unattributed_warehouses = 'warehouse_id in (select warehouse_id from unattributed_waybills)' %}
{%- set shipments_if_unattributed_anywhere = '1 in (select 1 from unattributed_invoices where not by_warehouse)' %}
{%- else %}
{%- set shipments_billed = 'true' %}
{%- set shipments_of_unattributed_warehouses = 'true' %}
{%- set shipments_if_unattributed_anywhere = 'true' %}
{%- endif %}
-- Contribution-margin components per shop x product x business day, in fen, each dated by its
-- own event (accrual): sales, subsidies and the platform's fees by the pay day (fees are the
-- expected fees of the lines paid that day, int_order_lines__expected_settlement); refunds by the
-- refund day; COGS = unit cost in force on the pay day x units sold, less the same unit cost x
-- units returned (types 0 and 2) on the return day; ad spend (Qianchuan stat_cost) by stat day,
-- allocated to the shop's products by their GMV share that day (no GMV that day: product_id null);
-- freight (carrier invoices) by ship (billing) day, split over the waybill's shipped lines by units;
-- a return waybill (拒收: no 3PL outbound of its own) over the lines of its original waybill
-- (original_tracking_no); a waybill found in neither over the shops by their units shipped from the
-- invoice's warehouse (product_id null: the shop-level unallocated freight), so every invoiced fen
-- reaches a shop's P&L. Allocations are exact to the fen
-- (allocate_fen_by_weight(), macros/allocation.sql: the largest share takes the remainder).
-- Grain: shop_id x product_id (nullable) x date_day.
with lines as (

    select * from {{ ref('int_order_lines__expected_settlement') }}
    where {{ incremental_days_filter('pay_date', cutoff, touched) }}

),

costed_sold as (

    -- the lines paid on a rebuilt day (two filters, not one with an OR: each reaches the COGS view's scan)
    select * from {{ ref('int_order_lines__costed') }}
    where {{ incremental_days_filter('pay_date', cutoff, touched) }}

),

costed_returned as (

    -- the lines returned on a rebuilt day
    select * from {{ ref('int_order_lines__costed') }}
    {%- if is_incremental() %}
    where sku_order_id in (select sku_order_id from {{ ref('stg_doudian__after_sale') }}
                           where is_refund_success and {{ incremental_days_filter('refund_date', cutoff, touched) }})
    {%- endif %}

),

enriched as (

    select sku_order_id, shop_id, product_id, item_num, promo_platform_fen, promo_talent_fen
    from {{ ref('int_order_lines__enriched') }}

),

sold as (

    select
        lines.shop_id,
        lines.product_id,
        lines.pay_date                                                as date_day,
        sum(lines.pay_fen)                                            as gmv_fen,
        sum(lines.promo_platform_fen + lines.promo_talent_fen)        as subsidy_fen,
        sum(lines.expected_platform_fee_fen)                          as platform_fee_fen,
        sum(lines.expected_commission_fen)                            as commission_fen,
        sum(lines.expected_colonel_fee_fen)                           as colonel_fee_fen,
        sum(coalesce(costed_sold.unit_cost_fen, 0) * costed_sold.item_num) as cogs_sold_fen
    from lines
    left join costed_sold
        on lines.sku_order_id = costed_sold.sku_order_id
    group by lines.shop_id, lines.product_id, lines.pay_date

),

refunded as (

    select
        after_sales.shop_id,
        enriched.product_id,
        after_sales.refund_date                                       as date_day,
        sum(after_sales.refund_fen)                                   as refund_fen
    from {{ ref('stg_doudian__after_sale') }} as after_sales
    left join enriched
        on after_sales.sku_order_id = enriched.sku_order_id
    where after_sales.is_refund_success
      and after_sales.refund_date <= {{ as_of_date() }}
      and {{ incremental_days_filter('after_sales.refund_date', cutoff, touched) }}
    group by after_sales.shop_id, enriched.product_id, after_sales.refund_date

),

returned as (

    select
        shop_id,
        product_id,
        last_return_date                                              as date_day,
        sum(coalesce(unit_cost_fen, 0) * returned_units)              as cogs_returned_fen
    from costed_returned
    where returned_units > 0 and last_return_date <= {{ as_of_date() }}
      and {{ incremental_days_filter('last_return_date', cutoff, touched) }}
    group by shop_id, product_id, last_return_date

),

ad_spend as (

    select shop_id, stat_date as date_day, sum(stat_cost_fen) as ad_spend_fen
    from {{ ref('stg_doudian__ad_report') }}
    where stat_date <= {{ as_of_date() }}
      and {{ incremental_days_filter('stat_date', cutoff, touched) }}
    group by shop_id, stat_date

),

ad_shares as (

    select
        ad_spend.shop_id,
        sold.product_id,
        ad_spend.date_day,
        ad_spend.ad_spend_fen,
        sold.gmv_fen
    from ad_spend
    left join sold
        on ad_spend.shop_id = sold.shop_id and ad_spend.date_day = sold.date_day and sold.gmv_fen > 0

),

ad_allocated as (

    select shop_id, product_id, date_day, allocated_fen as ad_spend_fen
    from ({{ allocate_fen_by_weight('ad_shares', 'ad_spend_fen', 'gmv_fen', ['shop_id', 'date_day'],
                                    'gmv_fen desc, product_id') }}) as allocation

),

billed_freight as (

    select tracking_no, warehouse_id, ship_date, freight_fen, original_tracking_no
    from {{ ref('stg_carrier__freight_invoice') }}
    where ship_date <= {{ as_of_date() }}
      and {{ incremental_days_filter('ship_date', cutoff, touched) }}

),

{% if is_incremental() -%}
invoice_waybills as (

    -- the waybills whose 3PL shipments may carry the rebuilt days' freight: their own, or the outbound one
    -- a return waybill comes back on
    select tracking_no from billed_freight
    union
    select original_tracking_no as tracking_no from billed_freight
    where original_tracking_no is not null

),

{% endif -%}
shipped_lines as (

    {{ pnl_shipments_with_shop(shipments_billed) }}

),

shipped_waybills as (

    select distinct tracking_no from shipped_lines

),

invoices as (

    select
        billed_freight.tracking_no,
        billed_freight.warehouse_id,
        billed_freight.ship_date,
        billed_freight.freight_fen,
        -- the waybill whose lines carry the freight: its own, else the outbound one it returns
        case when shipped_waybills.tracking_no is not null then billed_freight.tracking_no
             else billed_freight.original_tracking_no end                                 as shipment_tracking_no
    from billed_freight
    left join shipped_waybills
        on billed_freight.tracking_no = shipped_waybills.tracking_no

),

attributed as (

    select
        invoices.tracking_no,
        invoices.ship_date                                                                 as date_day,
        invoices.freight_fen,
        shipped_lines.shop_id,
        shipped_lines.product_id,
        shipped_lines.sku_order_id,
        shipped_lines.quantity,
        coalesce(shipped_lines.quantity, 0)                                                as units
    from invoices
    inner join shipped_lines
        on invoices.shipment_tracking_no = shipped_lines.tracking_no
    -- a shipped line of an order not in the lake has no shop: the waybill's other lines carry its share,
    -- and a waybill with no line of a known shop goes with the unattributed ones (by warehouse)
    where shipped_lines.shop_id is not null

),

unattributed_waybills as (

    -- no 3PL shipment of a known shop for the waybill nor its original
    select tracking_no, ship_date, freight_fen, warehouse_id
    from invoices
    where tracking_no not in (select tracking_no from attributed)

),

warehouse_shops as (

    -- the units each shop shipped (the whole lake) from the warehouses of unattributed freight
    select shipments.warehouse_id, shop_id, sum(shipments.quantity) as units
    from ({{ pnl_shipments_with_shop(shipments_of_unattributed_warehouses) }}) as shipments
    where shop_id is not null
    group by shipments.warehouse_id, shop_id

),

known_warehouses as (

    select distinct warehouse_id from warehouse_shops

),

unattributed_invoices as (

    -- by_warehouse: the invoice's warehouse shipped for a known shop in the lake
    select
        unattributed_waybills.*,
        known_warehouses.warehouse_id is not null                                          as by_warehouse
    from unattributed_waybills
    left join known_warehouses
        on unattributed_waybills.warehouse_id = known_warehouses.warehouse_id

),

all_shops as (

    -- every shop's units shipped (any warehouse): for freight of a warehouse with no shipment in the
    -- lake; read only when there is such freight
    select shop_id, sum(quantity) as units
    from ({{ pnl_shipments_with_shop(shipments_if_unattributed_anywhere) }}) as shipments
    where shop_id is not null
    group by shop_id

),

unattributed as (

    -- over the shops by their units shipped from the invoice's warehouse; a warehouse with no shipment
    -- in the lake (e.g. a one-day run billing a waybill shipped before the lake starts): over every
    -- shop's units shipped. Null shop only when the lake holds no shipment at all.
    select
        unattributed_invoices.tracking_no,
        unattributed_invoices.ship_date                                                    as date_day,
        unattributed_invoices.freight_fen,
        warehouse_shops.shop_id,
        cast(null as {{ dbt.type_string() }})                                              as product_id,
        warehouse_shops.shop_id                                                            as sku_order_id,
        warehouse_shops.units                                                              as quantity,
        warehouse_shops.units                                                              as units
    from unattributed_invoices
    inner join warehouse_shops
        on unattributed_invoices.warehouse_id = warehouse_shops.warehouse_id
    where unattributed_invoices.by_warehouse
    union all
    select
        unattributed_invoices.tracking_no,
        unattributed_invoices.ship_date                                                    as date_day,
        unattributed_invoices.freight_fen,
        all_shops.shop_id,
        cast(null as {{ dbt.type_string() }})                                              as product_id,
        all_shops.shop_id                                                                  as sku_order_id,
        all_shops.units                                                                    as quantity,
        all_shops.units                                                                    as units
    from unattributed_invoices
    left join all_shops
        on 1 = 1
    where not unattributed_invoices.by_warehouse

),

freight_lines as (

    select * from attributed
    union all
    select * from unattributed

),

freight_allocated as (

    select shop_id, product_id, date_day, sum(allocated_fen) as freight_fen
    from ({{ allocate_fen_by_weight('freight_lines', 'freight_fen', 'units', ['tracking_no'],
                                    'quantity desc, sku_order_id') }}) as allocation
    group by shop_id, product_id, date_day

),

keys as (

    select shop_id, product_id, date_day from sold
    union
    select shop_id, product_id, date_day from refunded
    union
    select shop_id, product_id, date_day from returned
    union
    select shop_id, product_id, date_day from ad_allocated
    union
    select shop_id, product_id, date_day from freight_allocated

),

ad_by_key as (

    select shop_id, product_id, date_day, sum(ad_spend_fen) as ad_spend_fen
    from ad_allocated
    group by shop_id, product_id, date_day

),

final as (

    select
        keys.shop_id,
        keys.product_id,
        keys.date_day,
        coalesce(sold.gmv_fen, 0)                    as gmv_fen,
        coalesce(sold.subsidy_fen, 0)                as subsidy_fen,
        coalesce(refunded.refund_fen, 0)             as refund_fen,
        coalesce(sold.platform_fee_fen, 0)           as platform_fee_fen,
        coalesce(sold.commission_fen, 0)             as commission_fen,
        coalesce(sold.colonel_fee_fen, 0)            as colonel_fee_fen,
        coalesce(ad_by_key.ad_spend_fen, 0)          as ad_spend_fen,
        coalesce(freight_allocated.freight_fen, 0)   as freight_fen,
        coalesce(sold.cogs_sold_fen, 0)              as cogs_sold_fen,
        coalesce(returned.cogs_returned_fen, 0)      as cogs_returned_fen
    from keys
    left join sold
        on keys.shop_id = sold.shop_id and keys.date_day = sold.date_day
        and {{ null_safe_equal('keys.product_id', 'sold.product_id') }}
    left join refunded
        on keys.shop_id = refunded.shop_id and keys.date_day = refunded.date_day
        and {{ null_safe_equal('keys.product_id', 'refunded.product_id') }}
    left join returned
        on keys.shop_id = returned.shop_id and keys.date_day = returned.date_day
        and {{ null_safe_equal('keys.product_id', 'returned.product_id') }}
    left join ad_by_key
        on keys.shop_id = ad_by_key.shop_id and keys.date_day = ad_by_key.date_day
        and {{ null_safe_equal('keys.product_id', 'ad_by_key.product_id') }}
    left join freight_allocated
        on keys.shop_id = freight_allocated.shop_id and keys.date_day = freight_allocated.date_day
        and {{ null_safe_equal('keys.product_id', 'freight_allocated.product_id') }}

)

select * from final

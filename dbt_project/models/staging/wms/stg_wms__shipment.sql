{{
    config(
        materialized=keyed_incremental_materialization(),
        incremental_strategy=keyed_incremental_strategy(),
        unique_key=['outbound_id', 'sku_order_id'],
        on_schema_change='fail',
        pre_hook="{{ delete_incremental_window('source_dt', incremental_cutoff('source_dt')) }}"
    )
}}
-- 发货明细: one row per shipped SKU order line (outbound_id x sku_order_id), latest file wins.
-- Instants were parsed as Asia/Shanghai at ingestion (timestamptz); dates are Asia/Shanghai days.
-- Incremental (macros/incremental.sql lake_window_source): a run reads only the lake partitions of its
-- window (dt >= incremental_cutoff()) and replaces the rows whose newest partition is in it.
with source as (

    select * from {{ lake_window_source('wms', 'shipment', dbt.concat(['cast(outbound_id as ' ~ dbt.type_string() ~ ')', "'|'", 'cast(sku_order_id as ' ~ dbt.type_string() ~ ')']), dbt.concat(['outbound_id', "'|'", 'sku_order_id'])) }}

),

latest as (

    {{ latest_version('source', 'outbound_id, sku_order_id', 'dt desc, _source_ref desc') }}

),

renamed as (

    select
        cast(outbound_id as {{ dbt.type_string() }}) as outbound_id,
        cast(sku_order_id as {{ dbt.type_string() }}) as sku_order_id,
        cast(shop_order_id as {{ dbt.type_string() }}) as shop_order_id,
        cast(warehouse_id as {{ dbt.type_string() }}) as warehouse_id,
        cast(warehouse_code as {{ dbt.type_string() }}) as warehouse_code,
        cast(sku_id as {{ dbt.type_string() }}) as sku_id,
        cast(quantity as {{ dbt.type_bigint() }}) as quantity,
        cast(carrier as {{ dbt.type_string() }}) as carrier,
        cast(tracking_no as {{ dbt.type_string() }}) as tracking_no,
        ship_time as ship_at,
        {{ business_date('ship_time') }} as ship_date,
        delivered_time as delivered_at,
        {{ business_date('delivered_time') }} as delivered_date,
        promised_delivery_time as promised_delivery_at,
        cast(dt as date) as source_dt,
        cast(_source_ref as {{ dbt.type_string() }}) as source_ref
    from latest

)

select * from renamed

{{
    config(
        materialized=keyed_incremental_materialization(),
        incremental_strategy=keyed_incremental_strategy(),
        unique_key='tracking_no',
        on_schema_change='fail',
        pre_hook="{{ delete_incremental_window('source_dt', incremental_cutoff('source_dt')) }}"
    )
}}
-- 运费账单: one row per waybill (latest file wins); billed weight in grams, freight in fen.
-- `carrier` is the carrier code from the file name, `carrier_name` the 快递公司 column.
-- Incremental (macros/incremental.sql lake_window_source): one row per waybill grows with history (a
-- year of a big shop: 10 M), and the P&L, its touched days and its tests read it on every run; a run
-- reads only the lake partitions of its window and replaces the rows whose newest partition is in it.
with source as (

    select * from {{ lake_window_source('carrier', 'freight_invoice', 'cast(tracking_no as ' ~ dbt.type_string() ~ ')', 'tracking_no') }}

),

latest as (

    {{ latest_version('source', 'tracking_no', 'dt desc, _source_ref desc') }}

),

renamed as (

    select
        cast(tracking_no as {{ dbt.type_string() }}) as tracking_no,
        cast(carrier as {{ dbt.type_string() }}) as carrier,
        cast(carrier_name as {{ dbt.type_string() }}) as carrier_name,
        cast(ship_date as date) as ship_date,
        cast(warehouse_id as {{ dbt.type_string() }}) as warehouse_id,
        cast(billed_weight_g as {{ dbt.type_bigint() }}) as billed_weight_g,
        cast(freight_fen as {{ dbt.type_bigint() }}) as freight_fen,
        cast(dest_province as {{ dbt.type_string() }}) as dest_province,
        cast(nullif(cast(original_tracking_no as {{ dbt.type_string() }}), '') as {{ dbt.type_string() }}) as original_tracking_no,
        cast(dt as date) as source_dt,
        cast(_source_ref as {{ dbt.type_string() }}) as source_ref
    from latest

)

select * from renamed

{{
    config(
        materialized=keyed_incremental_materialization(),
        incremental_strategy=keyed_incremental_strategy(),
        unique_key='sku_order_id',
        on_schema_change='fail',
        pre_hook="{{ delete_incremental_window('source_dt', incremental_cutoff('source_dt')) }}"
    )
}}
-- 精选联盟 orders, latest version per SKU order. Rates in basis points; commissions in fen
-- (real_comission is 0 until settled).
-- Incremental (macros/incremental.sql lake_window_source): a run reads only the lake partitions of its
-- window (dt >= incremental_cutoff()) and replaces the rows whose newest partition is in it.
with source as (

    select * from {{ lake_window_source('doudian', 'alliance_order', 'order_id', 'sku_order_id') }}

),

latest as (

    {{ latest_version('source', 'order_id', 'update_time desc, dt desc') }}

),

renamed as (

    select
        cast(order_id as {{ dbt.type_string() }})                                         as sku_order_id,
        cast(shop_id as {{ dbt.type_string() }})                                          as shop_id,
        cast(product_id as {{ dbt.type_string() }})                                       as product_id,
        cast(nullif(cast(author_id as {{ dbt.type_string() }}), '') as {{ dbt.type_string() }})                as author_id,
        cast(author_account as {{ dbt.type_string() }})                                   as author_account,
        cast(short_id as {{ dbt.type_string() }})                                         as author_short_id,
        cast(total_pay_amount as {{ dbt.type_bigint() }})                                 as total_pay_fen,
        cast(commission_rate_bp as integer)                          as commission_rate_bp,
        cast(colonel_service_rate_bp as integer)                     as colonel_service_rate_bp,
        cast(estimated_comission as {{ dbt.type_bigint() }})                              as estimated_commission_fen,
        cast(real_comission as {{ dbt.type_bigint() }})                                   as real_commission_fen,
        cast(order_status as {{ dbt.type_string() }})                as alliance_order_status,
        cast(alliance_biz_type as integer)                           as alliance_biz_type,
        {{ unix_to_timestamptz('create_time') }}                     as created_at,
        {{ unix_to_timestamptz('update_time') }}                     as updated_at,
        {{ unix_to_timestamptz('settle_time') }}                     as settled_at,
        cast(dt as date)                                             as source_dt,
        _source_ref                                                  as source_ref
    from latest

)

select * from renamed

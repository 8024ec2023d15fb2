{{
    config(
        materialized=keyed_incremental_materialization(),
        incremental_strategy=keyed_incremental_strategy(),
        unique_key='aftersale_id',
        on_schema_change='fail',
        pre_hook="{{ delete_incremental_window('source_dt', incremental_cutoff('source_dt')) }}"
    )
}}
-- After-sales, latest version per after-sale. A refund counts (is_refund_success) when
-- aftersale_status = 12 and refund_status = 3; it is dated by refund_time (Asia/Shanghai).
-- order_info (may carry buyer data) and free-text labels are not staged.
-- Incremental (macros/incremental.sql lake_window_source): a run reads only the lake partitions of its
-- window (dt >= incremental_cutoff()) and replaces the rows whose newest partition is in it.
with source as (

    select * from {{ lake_window_source('doudian', 'after_sale', 'aftersale_id', 'aftersale_id') }}

),

latest as (

    {{ latest_version('source', 'aftersale_id', 'update_time desc, dt desc') }}

),

renamed as (

    select
        cast(aftersale_id as {{ dbt.type_string() }})                                     as aftersale_id,
        cast(related_id as {{ dbt.type_string() }})                                       as sku_order_id,
        cast(shop_order_id as {{ dbt.type_string() }})                                    as shop_order_id,
        cast(shop_id as {{ dbt.type_string() }})                                          as shop_id,
        cast(aftersale_type as integer)                              as aftersale_type,
        cast(aftersale_status as integer)                            as aftersale_status,
        cast(refund_status as integer)                               as refund_status,
        cast(refund_type as integer)                                 as refund_type,
        (aftersale_status = 12 and refund_status = 3)                as is_refund_success,
        {{ unix_to_timestamptz('apply_time') }}                      as applied_at,
        {{ unix_to_timestamptz('create_time') }}                     as created_at,
        {{ unix_to_timestamptz('update_time') }}                     as updated_at,
        {{ unix_to_timestamptz('status_deadline') }}                 as status_deadline_at,
        {{ unix_to_timestamptz('refund_time') }}                     as refunded_at,
        {{ business_date(unix_to_timestamptz('refund_time')) }}      as refund_date,
        cast(refund_amount as {{ dbt.type_bigint() }})                                    as refund_fen,
        cast(refund_post_amount as {{ dbt.type_bigint() }})                               as refund_post_fen,
        cast(refund_tax_amount as {{ dbt.type_bigint() }})                                as refund_tax_fen,
        cast(return_promotion_amount as {{ dbt.type_bigint() }})                          as return_promo_fen,
        cast(aftersale_num as {{ dbt.type_bigint() }})                                    as aftersale_num,
        cast(nullif(cast(return_logistics_code as {{ dbt.type_string() }}), '') as {{ dbt.type_string() }})    as return_tracking_no,
        cast(nullif(cast(return_logistics_company_name as {{ dbt.type_string() }}), '') as {{ dbt.type_string() }}) as return_carrier_name,
        cast(got_pkg as integer)                                     as got_pkg,
        cast(arbitrate_status as integer)                            as arbitrate_status,
        cast(dt as date)                                             as source_dt,
        _source_ref                                                  as source_ref
    from latest

)

select * from renamed

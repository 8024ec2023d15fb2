{{
    config(
        materialized=keyed_incremental_materialization(),
        incremental_strategy=keyed_incremental_strategy(),
        unique_key='sku_order_id',
        on_schema_change='fail',
        pre_hook="{{ delete_incremental_window('source_dt', incremental_cutoff('source_dt')) }}"
    )
}}
-- SKU order lines, latest version per line (dt = the parent order's update day).
-- Times: unix seconds -> timestamptz (0 = not happened -> null); dates are Asia/Shanghai.
-- '' ids (room, video, author) become null. warehouse_id comes from inventory_list[0].
-- Incremental (macros/incremental.sql lake_window_source): a run reads only the lake partitions of its
-- window (dt >= incremental_cutoff()) and replaces the rows whose newest partition is in it.
with source as (

    select * from {{ lake_window_source('doudian', 'sku_order', 'order_id', 'sku_order_id') }}

),

latest as (

    {{ latest_version('source', 'order_id', 'update_time desc, dt desc') }}

),

renamed as (

    select
        cast(order_id as {{ dbt.type_string() }})                                         as sku_order_id,
        cast(parent_order_id as {{ dbt.type_string() }})                                  as shop_order_id,
        cast(shop_id as {{ dbt.type_string() }})                                          as shop_id,
        cast(product_id as {{ dbt.type_string() }})                                       as product_id,
        product_name,
        cast(sku_id as {{ dbt.type_string() }})                                           as sku_id,
        cast(nullif(cast(out_sku_id as {{ dbt.type_string() }}), '') as {{ dbt.type_string() }})               as out_sku_id,
        cast(code as {{ dbt.type_string() }})                                             as sku_code,
        cast(item_num as {{ dbt.type_bigint() }})                                         as item_num,
        cast(origin_amount as {{ dbt.type_bigint() }})                                    as origin_fen,
        cast(sum_amount as {{ dbt.type_bigint() }})                                       as sum_fen,
        cast(pay_amount as {{ dbt.type_bigint() }})                                       as pay_fen,
        cast(post_amount as {{ dbt.type_bigint() }})                                      as post_fen,
        cast(promotion_amount as {{ dbt.type_bigint() }})                                 as promo_fen,
        cast(promotion_shop_amount as {{ dbt.type_bigint() }})                            as promo_shop_fen,
        cast(promotion_platform_amount as {{ dbt.type_bigint() }})                        as promo_platform_fen,
        cast(promotion_talent_amount as {{ dbt.type_bigint() }})                          as promo_talent_fen,
        cast(first_cid as {{ dbt.type_string() }})                                        as first_cid,
        cast(second_cid as {{ dbt.type_string() }})                                       as second_cid,
        cast(order_status as integer)                                as order_status,
        {{ unix_to_timestamptz('create_time') }}                     as created_at,
        {{ unix_to_timestamptz('pay_time') }}                        as pay_at,
        {{ business_date(unix_to_timestamptz('pay_time')) }}         as pay_date,
        {{ unix_to_timestamptz('finish_time') }}                     as finish_at,
        {{ unix_to_timestamptz('update_time') }}                     as updated_at,
        {{ unix_to_timestamptz('ship_time') }}                       as ship_at,
        {{ unix_to_timestamptz('exp_ship_time') }}                   as exp_ship_at,
        {{ unix_to_timestamptz('logistics_receipt_time') }}          as receipt_at,
        {{ unix_to_timestamptz('confirm_receipt_time') }}            as confirm_receipt_at,
        {{ business_date(unix_to_timestamptz('confirm_receipt_time')) }} as confirm_receipt_date,
        cast(nullif(cast(author_id as {{ dbt.type_string() }}), '') as {{ dbt.type_string() }})                as author_id,
        cast(nullif(cast(author_name as {{ dbt.type_string() }}), '') as {{ dbt.type_string() }})              as author_name,
        cast(nullif(cast(room_id_str as {{ dbt.type_string() }}), '') as {{ dbt.type_string() }})              as room_id,
        cast(nullif(cast(video_id as {{ dbt.type_string() }}), '') as {{ dbt.type_string() }})                 as video_id,
        cast(nullif(cast(content_id as {{ dbt.type_string() }}), '') as {{ dbt.type_string() }})               as content_id,
        cast(theme_type as integer)                                  as theme_type,
        cast(c_biz as integer)                                       as c_biz,
        cast(ad_env_type as {{ dbt.type_string() }})                                      as ad_env_type,
        cast(send_pay as integer)                                    as send_pay,
        cast(trade_type as integer)                                  as trade_type,
        {{ json_text('inventory_list', '$[0].warehouse_id') }}       as warehouse_id,
        cast(dt as date)                                             as source_dt,
        _source_ref                                                  as source_ref
    from latest

)

select * from renamed

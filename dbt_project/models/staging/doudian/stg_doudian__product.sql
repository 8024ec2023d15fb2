-- Products: the latest daily snapshot row per product (dt = snapshot day).
with source as (

    select * from {{ source('doudian', 'product') }}

),

latest as (

    {{ latest_version('source', 'product_id', 'dt desc, update_time desc') }}

),

renamed as (

    select
        cast(product_id as {{ dbt.type_string() }})                                       as product_id,
        cast(shop_id as {{ dbt.type_string() }})                                          as shop_id,
        name                                                         as product_name,
        cast(status as integer)                                      as product_status,
        cast(check_status as integer)                                as check_status,
        cast(market_price as {{ dbt.type_bigint() }})                                     as market_price_fen,
        cast(discount_price as {{ dbt.type_bigint() }})                                   as discount_price_fen,
        cast(first_cid as {{ dbt.type_string() }})                                        as first_cid,
        cast(second_cid as {{ dbt.type_string() }})                                       as second_cid,
        first_cid_cname                                              as first_cid_name,
        second_cid_cname                                             as second_cid_name,
        {{ unix_to_timestamptz('create_time') }}                     as created_at,
        {{ unix_to_timestamptz('update_time') }}                     as updated_at,
        cast(nullif(cast(outer_product_id as {{ dbt.type_string() }}), '') as {{ dbt.type_string() }})         as outer_product_id,
        cast(cos_ratio as {{ dbt.type_bigint() }})                   as cos_ratio_bp,
        cast(dt as date)                                             as snapshot_date
    from latest

)

select * from renamed

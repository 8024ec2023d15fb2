-- 商品流量: the 罗盘 funnel per shop x product x channel x day, latest file wins.
with source as (

    select * from {{ source('backoffice', 'traffic_funnel') }}

),

latest as (

    {{ latest_version('source', 'shop_id, stat_date, product_id, channel', 'dt desc, _source_ref desc') }}

),

renamed as (

    select
        cast(shop_id as {{ dbt.type_string() }}) as shop_id,
        cast(stat_date as date) as stat_date,
        cast(product_id as {{ dbt.type_string() }}) as product_id,
        cast(channel as {{ dbt.type_string() }}) as channel,
        cast(exposures as {{ dbt.type_bigint() }}) as exposures,
        cast(clicks as {{ dbt.type_bigint() }}) as clicks,
        cast(add_to_carts as {{ dbt.type_bigint() }}) as add_to_carts,
        cast(orders as {{ dbt.type_bigint() }}) as orders,
        cast(pays as {{ dbt.type_bigint() }}) as pays,
        cast(dt as date) as source_dt,
        cast(_source_ref as {{ dbt.type_string() }}) as source_ref
    from latest

)

select * from renamed

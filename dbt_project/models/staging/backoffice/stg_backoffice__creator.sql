-- 达人 (creators) per shop: the latest file's row per shop x author.
with source as (

    select * from {{ source('backoffice', 'creator') }}

),

latest as (

    {{ latest_version('source', 'shop_id, author_id', 'dt desc') }}

),

renamed as (

    select
        cast(shop_id as {{ dbt.type_string() }})                                          as shop_id,
        cast(author_id as {{ dbt.type_string() }})                                        as author_id,
        author_name,
        cast(followers as {{ dbt.type_bigint() }})                                        as followers,
        cast(tier as {{ dbt.type_string() }})                                             as tier,
        cast(commission_rate_bp as integer)                          as commission_rate_bp,
        cast(since_date as date)                                     as since_date,
        cast(dt as date)                                             as source_dt
    from latest

)

select * from renamed

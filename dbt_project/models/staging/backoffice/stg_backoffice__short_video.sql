-- 短视频数据: daily stats per video (video_id x stat_date), latest file wins.
with source as (

    select * from {{ source('backoffice', 'short_video') }}

),

latest as (

    {{ latest_version('source', 'video_id, stat_date', 'dt desc, _source_ref desc') }}

),

renamed as (

    select
        cast(video_id as {{ dbt.type_string() }}) as video_id,
        cast(stat_date as date) as stat_date,
        cast(shop_id as {{ dbt.type_string() }}) as shop_id,
        cast(nullif(cast(author_id as {{ dbt.type_string() }}), '') as {{ dbt.type_string() }}) as author_id,
        publish_time as publish_at,
        cast(plays as {{ dbt.type_bigint() }}) as plays,
        cast(completed_plays as {{ dbt.type_bigint() }}) as completed_plays,
        cast(likes as {{ dbt.type_bigint() }}) as likes,
        cast(comments as {{ dbt.type_bigint() }}) as comments,
        cast(shares as {{ dbt.type_bigint() }}) as shares,
        cast(dt as date) as source_dt,
        cast(_source_ref as {{ dbt.type_string() }}) as source_ref
    from latest

)

select * from renamed

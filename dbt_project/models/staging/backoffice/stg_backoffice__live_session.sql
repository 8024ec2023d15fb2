-- 直播场次: one row per live session (room), latest file wins. GMV is not taken from this file
-- (the marts compute it from order lines).
with source as (

    select * from {{ source('backoffice', 'live_session') }}

),

latest as (

    {{ latest_version('source', 'room_id', 'dt desc, _source_ref desc') }}

),

renamed as (

    select
        cast(room_id as {{ dbt.type_string() }}) as room_id,
        cast(shop_id as {{ dbt.type_string() }}) as shop_id,
        cast(anchor_id as {{ dbt.type_string() }}) as anchor_id,
        cast(anchor_name as {{ dbt.type_string() }}) as anchor_name,
        start_time as start_at,
        end_time as end_at,
        {{ business_date('start_time') }} as live_date,
        cast(watch_pv as {{ dbt.type_bigint() }}) as watch_pv,
        cast(viewers as {{ dbt.type_bigint() }}) as viewers,
        cast(avg_watch_seconds as {{ dbt.type_bigint() }}) as avg_watch_seconds,
        cast(new_followers as {{ dbt.type_bigint() }}) as new_followers,
        cast(comments as {{ dbt.type_bigint() }}) as comments,
        cast(dt as date) as source_dt,
        cast(_source_ref as {{ dbt.type_string() }}) as source_ref
    from latest

)

select * from renamed

-- 仓库列表: one row per warehouse (the latest file wins).
with source as (

    select * from {{ source('wms', 'warehouse') }}

),

latest as (

    {{ latest_version('source', 'warehouse_id', 'dt desc, _source_ref desc') }}

),

renamed as (

    select
        cast(warehouse_id as {{ dbt.type_string() }}) as warehouse_id,
        cast(warehouse_name as {{ dbt.type_string() }}) as warehouse_name,
        cast(province as {{ dbt.type_string() }}) as province,
        cast(city as {{ dbt.type_string() }}) as city,
        cast(warehouse_type as integer) as warehouse_type,
        cast(lead_time_days as integer) as lead_time_days,
        cast(dt as date) as source_dt,
        cast(_source_ref as {{ dbt.type_string() }}) as source_ref
    from latest

)

select * from renamed

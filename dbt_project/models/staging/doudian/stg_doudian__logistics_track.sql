-- Tracking route nodes per waybill (track_no x node_seq), latest landing wins.
with source as (

    select * from {{ source('doudian', 'logistics_track') }}

),

latest as (

    {{ latest_version('source', 'track_no, node_seq', 'dt desc, _source_ref desc') }}

),

renamed as (

    select
        cast(track_no as {{ dbt.type_string() }}) as tracking_no,
        cast(node_seq as integer) as node_seq,
        cast(express as {{ dbt.type_string() }}) as carrier,
        cast(content as {{ dbt.type_string() }}) as content,
        {{ unix_to_timestamptz(adapter.quote('timestamp')) }} as node_at,
        cast(state as {{ dbt.type_string() }}) as state,
        cast(state_description as {{ dbt.type_string() }}) as state_description,
        cast(site_name as {{ dbt.type_string() }}) as site_name,
        {{ unix_to_timestamptz('ship_time') }} as ship_at,
        cast(dt as date) as source_dt,
        cast(_source_ref as {{ dbt.type_string() }}) as source_ref
    from latest

)

select * from renamed

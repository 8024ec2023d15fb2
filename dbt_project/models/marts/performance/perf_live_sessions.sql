{{
    config(
        materialized=keyed_incremental_materialization(),
        incremental_strategy=keyed_incremental_strategy(),
        unique_key='room_id',
        on_schema_change='fail'
    )
}}
-- One row per live session (直播场次), by anchor. Audience figures come from the 罗盘 export;
-- GMV comes from the paid SKU order lines carrying the session's room id (whatever their channel,
-- paid at any time), never from the file.
--   gpm_yuan (千次观看成交金额, as 罗盘): GMV / watch_pv (观看人次) x 1000, rounded to the fen
--   conversion_rate: distinct paying buyers / viewers (观看人数), DOUBLE fraction
--   total_watch_hours: viewers x avg_watch_seconds / 3600
-- Incremental by room (macros/incremental.sql): a run replaces the sessions re-landed on or after
-- incremental_cutoff() and the sessions of rooms with an order line whose sale figures changed since.
{%- set cutoff = incremental_cutoff('live_date') %}
{%- set touched_rooms -%}
    select room_id from {{ ref('stg_backoffice__live_session') }} where source_dt >= {{ cutoff }}
    union
    select room_id from {{ ref('int_order_lines__enriched') }} where room_id is not null and sales_changed_dt >= {{ cutoff }}
{%- endset %}
with sessions as (

    select * from {{ ref('stg_backoffice__live_session') }}
    {%- if is_incremental() %}
    where room_id in ({{ touched_rooms }})
    {%- endif %}

),

room_sales as (

    select
        room_id,
        sum(pay_fen)                                          as gmv_fen,
        count(*)                                              as paid_lines,
        sum(item_num)                                         as items_sold,
        count(distinct shop_order_id)                         as paid_orders,
        count(distinct buyer_key)                             as buyers
    from {{ ref('int_order_lines__enriched') }}
    where is_paid and room_id is not null
    {%- if is_incremental() %}
      and room_id in ({{ touched_rooms }})
    {%- endif %}
    group by room_id

)

select
    cast(sessions.room_id as {{ dbt.type_string() }})                           as room_id,
    cast(sessions.shop_id as {{ dbt.type_string() }})                           as shop_id,
    cast(sessions.anchor_id as {{ dbt.type_string() }})                         as anchor_id,
    cast(sessions.anchor_name as {{ dbt.type_string() }})                       as anchor_name,
    cast(sessions.live_date as date)                                            as live_date,
    sessions.start_at                                                           as start_at,
    sessions.end_at                                                             as end_at,
    cast({{ dbt.datediff('sessions.start_at', 'sessions.end_at', 'second') }} as {{ type_double() }}) / 60 as duration_minutes,
    cast(sessions.viewers as {{ dbt.type_bigint() }})                           as viewers,
    cast(sessions.watch_pv as {{ dbt.type_bigint() }})                          as watch_pv,
    cast(sessions.avg_watch_seconds as {{ dbt.type_bigint() }})                 as avg_watch_seconds,
    cast(sessions.viewers * sessions.avg_watch_seconds as {{ type_double() }}) / 3600 as total_watch_hours,
    cast(sessions.new_followers as {{ dbt.type_bigint() }})                     as new_followers,
    cast(sessions.comments as {{ dbt.type_bigint() }})                          as comments,
    cast(coalesce(room_sales.paid_lines, 0) as {{ dbt.type_bigint() }})         as paid_lines,
    cast(coalesce(room_sales.paid_orders, 0) as {{ dbt.type_bigint() }})        as paid_orders,
    cast(coalesce(room_sales.items_sold, 0) as {{ dbt.type_bigint() }})         as items_sold,
    cast(coalesce(room_sales.buyers, 0) as {{ dbt.type_bigint() }})             as buyers,
    {{ fen_to_yuan('coalesce(room_sales.gmv_fen, 0)') }}                        as gmv_yuan,
    {{ fen_to_yuan(divide_round_half_up('coalesce(room_sales.gmv_fen, 0) * 1000', 'nullif(sessions.watch_pv, 0)')) }} as gpm_yuan,
    cast({{ safe_ratio('coalesce(room_sales.buyers, 0)', 'sessions.viewers') }} as {{ type_double() }}) as conversion_rate
from sessions
left join room_sales
    on sessions.room_id = room_sales.room_id

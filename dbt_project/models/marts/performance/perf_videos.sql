{{
    config(
        materialized=keyed_incremental_materialization(),
        incremental_strategy=keyed_incremental_strategy(),
        unique_key=day_incremental_key('stat_date', ['video_id', 'stat_date']),
        on_schema_change='fail'
    )
}}
-- Short videos per video x day (短视频数据 stats) with the GMV of paid SKU order lines carrying the
-- video id, paid that day (Asia/Shanghai), whatever their channel. A day with GMV but no stats row
-- still appears (plays 0). Rates are DOUBLE fractions (0-1):
--   completion_rate (完播率, as 罗盘) = completed_plays / plays
--   engagement_rate = (likes + comments + shares) / plays
--   gpm_yuan = GMV / plays x 1000, rounded to the fen
-- Incremental by day (macros/incremental.sql): every day from incremental_cutoff() on, the older days of
-- re-landed video stats and the older pay days of video lines whose sale figures changed since.
{%- set cutoff = incremental_cutoff('stat_date') %}
{%- set touched_days -%}
    select stat_date from {{ ref('stg_backoffice__short_video') }} where source_dt >= {{ cutoff }}
    union all
    select pay_date from {{ ref('int_order_lines__enriched') }} where video_id is not null and sales_changed_dt >= {{ cutoff }}
{%- endset %}
{%- set touched = incremental_touched_days(touched_days, cutoff) %}
with stats as (

    select * from {{ ref('stg_backoffice__short_video') }}
    where {{ incremental_days_filter('stat_date', cutoff, touched) }}

),

video_sales as (

    select
        video_id,
        pay_date,
        max(shop_id)                                          as shop_id,
        sum(pay_fen)                                          as gmv_fen,
        count(*)                                              as paid_lines,
        count(distinct shop_order_id)                         as paid_orders
    from {{ ref('int_order_lines__enriched') }}
    where is_paid and video_id is not null
      and {{ incremental_days_filter('pay_date', cutoff, touched) }}
    group by video_id, pay_date

),

joined as (

    select
        coalesce(stats.video_id, video_sales.video_id)        as video_id,
        coalesce(stats.stat_date, video_sales.pay_date)       as stat_date,
        coalesce(stats.shop_id, video_sales.shop_id)          as shop_id,
        stats.author_id,
        stats.publish_at,
        coalesce(stats.plays, 0)                              as plays,
        coalesce(stats.completed_plays, 0)                    as completed_plays,
        coalesce(stats.likes, 0)                              as likes,
        coalesce(stats.comments, 0)                           as comments,
        coalesce(stats.shares, 0)                             as shares,
        coalesce(video_sales.gmv_fen, 0)                      as gmv_fen,
        coalesce(video_sales.paid_lines, 0)                   as paid_lines,
        coalesce(video_sales.paid_orders, 0)                  as paid_orders,
        stats.video_id is not null                            as has_stats
    from stats
    full outer join video_sales
        on stats.video_id = video_sales.video_id
        and stats.stat_date = video_sales.pay_date

)

select
    cast(video_id as {{ dbt.type_string() }})                                   as video_id,
    cast(stat_date as date)                                                     as stat_date,
    cast(shop_id as {{ dbt.type_string() }})                                    as shop_id,
    cast(author_id as {{ dbt.type_string() }})                                  as author_id,
    publish_at                                                                  as publish_at,
    cast(plays as {{ dbt.type_bigint() }})                                      as plays,
    cast(completed_plays as {{ dbt.type_bigint() }})                            as completed_plays,
    cast(likes as {{ dbt.type_bigint() }})                                      as likes,
    cast(comments as {{ dbt.type_bigint() }})                                   as comments,
    cast(shares as {{ dbt.type_bigint() }})                                     as shares,
    cast({{ safe_ratio('completed_plays', 'plays') }} as {{ type_double() }})  as completion_rate,
    cast({{ safe_ratio('likes + comments + shares', 'plays') }} as {{ type_double() }}) as engagement_rate,
    cast(paid_lines as {{ dbt.type_bigint() }})                                 as paid_lines,
    cast(paid_orders as {{ dbt.type_bigint() }})                                as paid_orders,
    {{ fen_to_yuan('gmv_fen') }}                                                as gmv_yuan,
    {{ fen_to_yuan(divide_round_half_up('gmv_fen * 1000', 'nullif(plays, 0)')) }} as gpm_yuan,
    has_stats                                                                   as has_stats
from joined

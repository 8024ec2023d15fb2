-- Qianchuan daily report per advertiser x stat_date x marketing_goal; money landed in fen
-- (the extractor converted the API's yuan exactly).
with source as (

    select * from {{ source('doudian', 'ad_report') }}

),

latest as (

    {{ latest_version('source', 'advertiser_id, stat_date, marketing_goal', 'dt desc, _source_ref desc') }}

),

renamed as (

    select
        cast(advertiser_id as {{ dbt.type_string() }}) as advertiser_id,
        cast(shop_id as {{ dbt.type_string() }}) as shop_id,
        cast(stat_date as date) as stat_date,
        cast(marketing_goal as {{ dbt.type_string() }}) as marketing_goal,
        cast(stat_cost as {{ dbt.type_bigint() }}) as stat_cost_fen,
        cast(show_cnt as {{ dbt.type_bigint() }}) as show_cnt,
        cast(click_cnt as {{ dbt.type_bigint() }}) as click_cnt,
        cast(pay_order_count as {{ dbt.type_bigint() }}) as pay_order_count,
        cast(pay_order_amount as {{ dbt.type_bigint() }}) as pay_order_amount_fen,
        cast(create_order_amount as {{ dbt.type_bigint() }}) as create_order_amount_fen,
        cast(dy_follow as {{ dbt.type_bigint() }}) as dy_follow,
        cast(total_play as {{ dbt.type_bigint() }}) as total_play,
        cast(play_over_rate as {{ type_double() }}) as play_over_rate,
        cast(dt as date) as source_dt,
        cast(_source_ref as {{ dbt.type_string() }}) as source_ref
    from latest

)

select * from renamed

-- Listed price per SKU as validity ranges, from the daily sku.list snapshots in the lake:
-- consecutive snapshot days with the same price collapse into one range. Limits: a price that
-- changed and changed back between two snapshots is invisible; a range starts on the first
-- snapshot day that shows the price (not the instant it changed); days without a snapshot are
-- covered by the previous range. The price a line actually paid is origin_fen / item_num on the
-- line itself (fct_order_lines.unit_price_yuan). Grain: sku_id x valid_from.
with snapshots as (

    select sku_id, product_id, price_fen, snapshot_date
    from {{ ref('stg_doudian__sku_daily') }}

),

flagged as (

    select
        snapshots.*,
        case
            when lag(price_fen) over (partition by sku_id order by snapshot_date) = price_fen then 0
            else 1
        end as is_change
    from snapshots

),

numbered as (

    select
        flagged.*,
        sum(is_change) over (partition by sku_id order by snapshot_date rows between unbounded preceding and current row) as price_version
    from flagged

),

ranges as (

    select
        sku_id,
        min(product_id)    as product_id,
        price_version,
        min(price_fen)     as price_fen,
        min(snapshot_date) as valid_from,
        max(snapshot_date) as last_seen_date
    from numbered
    group by sku_id, price_version

),

final as (

    select
        sku_id,
        product_id,
        price_fen,
        price_version,
        valid_from,
        cast({{ dbt.dateadd('day', -1, 'lead(valid_from) over (partition by sku_id order by valid_from)') }} as date) as valid_to,
        last_seen_date
    from ranges

)

select * from final

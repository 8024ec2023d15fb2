-- Price and cost history per SKU as validity ranges (SCD type 2 by date): a new row starts
-- whenever the listed price (daily sku.list snapshots) or the unit cost (商品成本表 effective
-- dates) changes. valid_to is null for the current row. Limits of the price history: see
-- int_sku_prices__historized (daily snapshots miss intra-day changes and changes reverted
-- between snapshots; before the first snapshot no price is known). The dbt snapshot
-- snapshots.snap_sku_prices additionally records the price as each run saw it.
with prices as (

    select * from {{ ref('int_sku_prices__historized') }}

),

costs as (

    select * from {{ ref('int_sku_costs__historized') }}

),

change_days as (

    select sku_id, valid_from from prices
    union
    select sku_id, valid_from from costs

),

ranged as (

    select
        sku_id,
        valid_from,
        cast({{ dbt.dateadd('day', -1, 'lead(valid_from) over (partition by sku_id order by valid_from)') }} as date) as valid_to
    from change_days

),

final as (

    select
        ranged.sku_id,
        ranged.valid_from,
        ranged.valid_to,
        ranged.valid_to is null                              as is_current,
        {{ fen_to_yuan('prices.price_fen') }}                as price_yuan,
        {{ fen_to_yuan('costs.unit_cost_fen') }}             as unit_cost_yuan
    from ranged
    left join prices
        on ranged.sku_id = prices.sku_id
        and ranged.valid_from >= prices.valid_from
        and (prices.valid_to is null or ranged.valid_from <= prices.valid_to)
    left join costs
        on ranged.sku_id = costs.sku_id
        and ranged.valid_from >= costs.valid_from
        and (costs.valid_to is null or ranged.valid_from <= costs.valid_to)

)

select * from final

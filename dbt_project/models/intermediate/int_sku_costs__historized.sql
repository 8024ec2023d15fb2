-- Unit cost per SKU as validity ranges from the merchant's cost sheets (商品成本表):
-- a cost applies from its effective_date until the day before the SKU's next effective_date.
-- Grain: sku_id x valid_from.
with costs as (

    select * from {{ ref('stg_merchant__product_cost') }}

),

ranged as (

    select
        sku_id,
        product_id,
        unit_cost_fen,
        effective_date                                                       as valid_from,
        lead(effective_date) over (partition by sku_id order by effective_date) as next_valid_from,
        row_number() over (partition by sku_id order by effective_date)     as cost_version
    from costs

),

final as (

    select
        sku_id,
        product_id,
        unit_cost_fen,
        valid_from,
        cast({{ dbt.dateadd('day', -1, 'next_valid_from') }} as date)       as valid_to,
        cost_version,
        next_valid_from is null                                              as is_current
    from ranged

)

select * from final

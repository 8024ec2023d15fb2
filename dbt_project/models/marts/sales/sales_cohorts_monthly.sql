-- Shop x monthly cohort (month of the buyers' first paid order): cohort size, repeat buyers and
-- the 30/90-day repurchase rates over the buyers whose window has elapsed by the as-of day
-- (sales_customers.has_*d_elapsed). Rates are shares in [0, 1], DECIMAL(9,4).
with customers as (

    select * from {{ ref('sales_customers') }}

),

final as (

    select
        shop_id,
        cohort_month,
        cast(count(*) as {{ dbt.type_bigint() }})                                                  as cohort_buyers,
        cast(sum(case when is_repeat_buyer then 1 else 0 end) as {{ dbt.type_bigint() }})          as repeat_buyers,
        cast(sum(gmv_yuan) as decimal(18, 2))                                                      as cohort_gmv_yuan,
        cast(sum(case when has_30d_elapsed then 1 else 0 end) as {{ dbt.type_bigint() }})          as buyers_30d_elapsed,
        cast(sum(case when has_30d_elapsed and repurchased_within_30d then 1 else 0 end) as {{ dbt.type_bigint() }})
                                                                                                   as repurchased_30d,
        cast(case when sum(case when has_30d_elapsed then 1 else 0 end) > 0
                  then 1.0 * sum(case when has_30d_elapsed and repurchased_within_30d then 1 else 0 end)
                       / sum(case when has_30d_elapsed then 1 else 0 end)
             end as decimal(9, 4))                                                                 as repurchase_rate_30d,
        cast(sum(case when has_90d_elapsed then 1 else 0 end) as {{ dbt.type_bigint() }})          as buyers_90d_elapsed,
        cast(sum(case when has_90d_elapsed and repurchased_within_90d then 1 else 0 end) as {{ dbt.type_bigint() }})
                                                                                                   as repurchased_90d,
        cast(case when sum(case when has_90d_elapsed then 1 else 0 end) > 0
                  then 1.0 * sum(case when has_90d_elapsed and repurchased_within_90d then 1 else 0 end)
                       / sum(case when has_90d_elapsed then 1 else 0 end)
             end as decimal(9, 4))                                                                 as repurchase_rate_90d
    from customers
    group by shop_id, cohort_month

)

select * from final

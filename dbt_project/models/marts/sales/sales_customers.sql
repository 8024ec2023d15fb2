{{
    config(
        materialized=keyed_incremental_materialization(),
        incremental_strategy=keyed_incremental_strategy(),
        unique_key=['shop_id', 'buyer_key'],
        on_schema_change='fail',
        pre_hook="{{ delete_incremental_rows('(shop_id, buyer_key) in ('
                                            ~ touched_buyers_sql(incremental_cutoff('first_pay_date'),
                                                                 stale_buyers(['shop_id', 'buyer_key'], 'paid_orders', 'select shop_id, buyer_key, changed_dt from ' ~ ref('fct_orders') ~ ' where buyer_key is not null', incremental_cutoff('first_pay_date'))) ~ ')') }}"
    )
}}
-- depends_on: {{ ref('int_order_lines__enriched') }}
-- One row per shop x buyer (buyer_key): first and last paid order, monthly cohort, order count,
-- GMV, and whether the buyer paid again within 30 / 90 days of their first order (repurchase).
-- is_repeat_buyer: more than one paid order. repurchased_within_*d: true once a second order
-- falls in the window, false when the window elapsed without one, null while it is too early to
-- tell. Cohort rates use only buyers with has_*d_elapsed (else early repurchasers bias them up).
-- Incremental by buyer (macros/incremental.sql): a run rebuilds the buyers with an order line that
-- changed on or after incremental_cutoff() (the pre_hook deletes them first: a buyer whose orders
-- are gone goes), the buyers whose stored row no longer matches fct_orders (stale_buyers(): an
-- order re-landed away) and the buyers whose 30/90-day window elapsed since the last run (as_of_date).
-- changed_dt: the newest changed_dt of the buyer's orders.
{%- set cutoff = incremental_cutoff('first_pay_date') %}
{%- set stale = stale_buyers(['shop_id', 'buyer_key'], 'paid_orders',
                             'select shop_id, buyer_key, changed_dt from ' ~ ref('fct_orders') ~ ' where buyer_key is not null', cutoff) %}
with orders as (

    select * from {{ ref('fct_orders') }}
    where buyer_key is not null
    {%- if is_incremental() %}
      and ((shop_id, buyer_key) in ({{ touched_buyers_sql(cutoff, stale) }})
           or (shop_id, buyer_key) in (
               select shop_id, buyer_key from {{ this }}
               where (not has_30d_elapsed and cast({{ dbt.dateadd('day', 30, 'first_pay_date') }} as date) <= {{ as_of_date() }})
                  or (not has_90d_elapsed and cast({{ dbt.dateadd('day', 90, 'first_pay_date') }} as date) <= {{ as_of_date() }})))
    {%- endif %}

),

firsts as (

    select
        shop_id,
        buyer_key,
        min(pay_date)                                                     as first_pay_date,
        max(pay_date)                                                     as last_pay_date,
        count(*)                                                          as paid_orders,
        sum(gmv_yuan)                                                     as gmv_yuan,
        sum(refund_yuan)                                                  as refund_yuan,
        min(case when buyer_order_seq = 2 then pay_date end)              as second_pay_date,
        max(changed_dt)                                                   as changed_dt
    from orders
    group by shop_id, buyer_key

),

final as (

    select
        shop_id,
        buyer_key,
        first_pay_date,
        cast({{ dbt.date_trunc('month', 'first_pay_date') }} as date)     as cohort_month,
        last_pay_date,
        second_pay_date,
        cast(paid_orders as {{ dbt.type_bigint() }})                      as paid_orders,
        cast(gmv_yuan as decimal(18, 2))                                  as gmv_yuan,
        cast(refund_yuan as decimal(18, 2))                               as refund_yuan,
        paid_orders > 1                                                   as is_repeat_buyer,
        cast({{ dbt.dateadd('day', 30, 'first_pay_date') }} as date) <= {{ as_of_date() }} as has_30d_elapsed,
        cast({{ dbt.dateadd('day', 90, 'first_pay_date') }} as date) <= {{ as_of_date() }} as has_90d_elapsed,
        case
            when second_pay_date is not null
                 and second_pay_date <= cast({{ dbt.dateadd('day', 30, 'first_pay_date') }} as date) then true
            when cast({{ dbt.dateadd('day', 30, 'first_pay_date') }} as date) <= {{ as_of_date() }} then false
        end                                                               as repurchased_within_30d,
        case
            when second_pay_date is not null
                 and second_pay_date <= cast({{ dbt.dateadd('day', 90, 'first_pay_date') }} as date) then true
            when cast({{ dbt.dateadd('day', 90, 'first_pay_date') }} as date) <= {{ as_of_date() }} then false
        end                                                               as repurchased_within_90d,
        changed_dt
    from firsts

)

select * from final

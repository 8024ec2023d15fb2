{{
    config(
        materialized=keyed_incremental_materialization(),
        incremental_strategy=keyed_incremental_strategy(),
        unique_key='request_no',
        on_schema_change='fail',
        pre_hook="{{ delete_incremental_window('source_dt', incremental_cutoff('source_dt')) }}"
    )
}}
-- 结算账单 rows, one per request_no (a re-delivered file keeps the latest file day's row).
-- trade_type 0 = settled (已结算), 1 = reversal after a refund (结算后退款, settle_fen = -refund).
-- Incremental (macros/incremental.sql lake_window_source): a run reads only the lake partitions of its
-- window (dt >= incremental_cutoff()) and replaces the rows whose newest partition is in it.
with source as (

    select * from {{ lake_window_source('backoffice', 'settlement_bill', 'request_no', 'request_no') }}

),

latest as (

    {{ latest_version('source', 'request_no', 'dt desc, settle_time desc') }}

),

renamed as (

    select
        cast(request_no as {{ dbt.type_string() }})                                       as request_no,
        cast(shop_id as {{ dbt.type_string() }})                                          as shop_id,
        cast(shop_order_id as {{ dbt.type_string() }})                                    as shop_order_id,
        cast(order_id as {{ dbt.type_string() }})                                         as sku_order_id,
        cast(product_id as {{ dbt.type_string() }})                                       as product_id,
        cast(trade_type as integer)                                  as trade_type,
        settle_time                                                  as settle_at,
        {{ business_date('settle_time') }}                           as settle_date,
        cast(settle_amount as {{ dbt.type_bigint() }})                                    as settle_fen,
        cast(total_income as {{ dbt.type_bigint() }})                                     as total_income_fen,
        cast(real_pay_amount as {{ dbt.type_bigint() }})                                  as real_pay_fen,
        cast(refund_before_settle as {{ dbt.type_bigint() }})                             as refund_before_settle_fen,
        cast(platform_coupon as {{ dbt.type_bigint() }})                                  as platform_coupon_fen,
        cast(author_coupon as {{ dbt.type_bigint() }})                                    as author_coupon_fen,
        cast(zt_pay_promotion as {{ dbt.type_bigint() }})                                 as zt_pay_promotion_fen,
        cast(zr_pay_promotion as {{ dbt.type_bigint() }})                                 as zr_pay_promotion_fen,
        cast(platform_service_fee as {{ dbt.type_bigint() }})                             as platform_service_fee_fen,
        cast(commission as {{ dbt.type_bigint() }})                                       as commission_fen,
        cast(good_learn_channel_fee as {{ dbt.type_bigint() }})                           as channel_share_fee_fen,
        cast(colonel_service_fee as {{ dbt.type_bigint() }})                              as colonel_service_fee_fen,
        cast(channel_promotion_fee as {{ dbt.type_bigint() }})                            as channel_promotion_fee_fen,
        cast(other_sharing_amount as {{ dbt.type_bigint() }})                             as other_sharing_fen,
        other_sharing_desc,
        cast(total_outcome as {{ dbt.type_bigint() }})                                    as total_outcome_fen,
        remark,
        cast(dt as date)                                             as source_dt,
        _source_ref                                                  as source_ref
    from latest

)

select * from renamed

{{
    config(
        materialized=keyed_incremental_materialization(),
        incremental_strategy=keyed_incremental_strategy(),
        unique_key='account_trade_no',
        on_schema_change='fail',
        pre_hook="{{ delete_incremental_window('source_dt', incremental_cutoff('source_dt')) }}"
    )
}}
-- 动账明细, one row per 动帐流水号 (account_trade_no). The same record delivered twice (same
-- account_trade_no, in one file or on two days) counts once; copies_seen says how often it came.
-- signed_fen: + for 入账 (fund_flow 0), - for 出账 (fund_flow 1). Every copy of a record has its bill
-- time, so it lands in the same partition (dt = bill day): the window holds every copy of its records.
-- Incremental (macros/incremental.sql lake_window_source): a run reads only the lake partitions of its
-- window (dt >= incremental_cutoff()) and replaces the rows whose newest partition is in it.
with source as (

    select * from {{ lake_window_source('backoffice', 'fund_flow', 'account_trade_no', 'account_trade_no') }}

),

counted as (

    select
        source.*,
        count(*) over (partition by account_trade_no) as copies_seen
    from source

),

latest as (

    {{ latest_version('counted', 'account_trade_no', 'dt desc, bill_time desc') }}

),

renamed as (

    select
        cast(account_trade_no as {{ dbt.type_string() }})                                 as account_trade_no,
        cast(shop_id as {{ dbt.type_string() }})                                          as shop_id,
        bill_time                                                    as bill_at,
        {{ business_date('bill_time') }}                             as bill_date,
        cast(fund_flow as integer)                                   as fund_flow,
        case cast(fund_flow as integer) when 0 then 'in' when 1 then 'out' end as direction,
        cast(account_amount as {{ dbt.type_bigint() }})                                   as account_fen,
        case cast(fund_flow as integer) when 1 then -1 else 1 end
            * cast(account_amount as {{ dbt.type_bigint() }})                             as signed_fen,
        account_type,
        account_bill_desc,
        cast(account_bill_desc_tag as integer)                       as account_bill_desc_tag,
        cast(nullif(cast(order_id as {{ dbt.type_string() }}), '') as {{ dbt.type_string() }})                 as sku_order_id,
        cast(nullif(cast(shop_order_id as {{ dbt.type_string() }}), '') as {{ dbt.type_string() }})            as shop_order_id,
        cast(pay_amount as {{ dbt.type_bigint() }})                                       as pay_fen,
        cast(post_amount as {{ dbt.type_bigint() }})                                      as post_fen,
        cast(promotion_amount as {{ dbt.type_bigint() }})                                 as promotion_fen,
        cast(refund_amount as {{ dbt.type_bigint() }})                                    as refund_fen,
        cast(platform_service_fee as {{ dbt.type_bigint() }})                             as platform_service_fee_fen,
        cast(commission as {{ dbt.type_bigint() }})                                       as commission_fen,
        cast(colonel_service_fee as {{ dbt.type_bigint() }})                              as colonel_service_fee_fen,
        cast(channel_fee as {{ dbt.type_bigint() }})                                      as channel_fee_fen,
        remark,
        cast(copies_seen as {{ dbt.type_bigint() }})                                      as copies_seen,
        cast(dt as date)                                             as source_dt,
        _source_ref                                                  as source_ref
    from latest

)

select * from renamed

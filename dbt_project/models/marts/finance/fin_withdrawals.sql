{{
    config(
        materialized=keyed_incremental_materialization(),
        incremental_strategy=keyed_incremental_strategy(),
        unique_key='account_trade_no',
        on_schema_change='fail',
        pre_hook="{{ delete_incremental_window('bill_date', incremental_cutoff('bill_date')) }}"
    )
}}
-- Withdrawals (提现, 计费类型 11) from the shop account: one row per movement, no order ids.
-- Incremental (macros/incremental.sql): a run replaces the bill days from incremental_cutoff() on (a
-- movement lands in the partition of its bill day, so these are the days fin_fund_flow replaced).
with fund_flows as (

    select * from {{ ref('fin_fund_flow') }}
    where account_bill_desc_tag = 11
    {%- if is_incremental() %}
      and bill_date >= {{ incremental_cutoff('bill_date') }}
    {%- endif %}

),

final as (

    select
        account_trade_no,
        shop_id,
        bill_at,
        bill_date,
        account_type,
        account_fen                          as withdrawal_fen,
        account_yuan                         as withdrawal_yuan
    from fund_flows

)

select * from final

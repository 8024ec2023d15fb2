-- Withdrawals (提现, 计费类型 11) from the shop account: one row per movement, no order ids.
with fund_flows as (

    select * from {{ ref('fin_fund_flow') }}
    where account_bill_desc_tag = 11

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

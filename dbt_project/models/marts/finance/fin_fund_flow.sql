-- One row per account movement (动账明细), de-duplicated by account_trade_no: the same record
-- delivered twice counts once (copies_seen > 1 shows it came more than once). signed amounts:
-- + credit (入账), - debit (出账).
with fund_flows as (

    select * from {{ ref('stg_backoffice__fund_flow') }}

),

final as (

    select
        account_trade_no,
        shop_id,
        bill_at,
        bill_date,
        direction,
        account_type,
        account_bill_desc,
        account_bill_desc_tag,
        case account_bill_desc_tag
            when 3 then 'order_settlement'
            when 2 then 'refund_after_settlement'
            when 11 then 'withdrawal'
            when 20 then 'shipping_insurance'
            else 'other'
        end                                                       as movement_kind,
        sku_order_id,
        shop_order_id,
        account_fen,
        signed_fen,
        {{ fen_to_yuan('account_fen') }}                          as account_yuan,
        {{ fen_to_yuan('signed_fen') }}                           as signed_yuan,
        {{ fen_to_yuan('platform_service_fee_fen') }}             as platform_service_fee_yuan,
        {{ fen_to_yuan('commission_fen') }}                       as commission_yuan,
        {{ fen_to_yuan('colonel_service_fee_fen') }}              as colonel_service_fee_yuan,
        copies_seen,
        source_dt
    from fund_flows

)

select * from final

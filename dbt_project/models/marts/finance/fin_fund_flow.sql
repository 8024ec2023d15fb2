{{
    config(
        materialized=keyed_incremental_materialization(),
        incremental_strategy=keyed_incremental_strategy(),
        unique_key='account_trade_no',
        on_schema_change='fail',
        pre_hook="{{ delete_incremental_window('source_dt', incremental_cutoff('source_dt')) }}"
    )
}}
-- One row per account movement (动账明细), de-duplicated by account_trade_no: the same record
-- delivered twice counts once (copies_seen > 1 shows it came more than once). signed amounts:
-- + credit (入账), - debit (出账). 调账 (adjustments, tag 30) refer to an earlier order and never
-- touch the settlement bill; 平台赔付 (tag 31: the platform compensating the shop, e.g. for a fast
-- refund whose goods never came back) is a credit of its own kind, dated by its bill day; 保证金
-- movements (tags 40 top-up, 41 penalty deduction 违规扣款, 42 refund) are on the deposit account
-- (is_deposit_account) except the refund's credit back to the shop account.
-- Incremental (macros/incremental.sql): the rows from partitions on or after incremental_cutoff() are
-- deleted (pre_hook) and come back from staging, with the rows the delete removes and the window
-- does not bring back (lost_keys()), by account_trade_no.
{%- set cutoff = incremental_cutoff('source_dt') %}
with fund_flows as (

    select * from {{ ref('stg_backoffice__fund_flow') }}
    {%- if is_incremental() %}
    {%- set lost = lost_keys('account_trade_no', 'source_dt', cutoff,
                             'select account_trade_no from ' ~ ref('stg_backoffice__fund_flow') ~ ' where source_dt >= ' ~ cutoff) %}
    where source_dt >= {{ cutoff }}
    {%- if lost %}
       or account_trade_no in ({{ lost | join(', ') }})
    {%- endif %}
    {%- endif %}

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
            when 30 then 'adjustment'
            when 31 then 'platform_compensation'
            when 40 then 'deposit_topup'
            when 41 then 'deposit_deduction'
            when 42 then 'deposit_refund'
            else 'other'
        end                                                       as movement_kind,
        coalesce(account_type = '保证金账户', false)              as is_deposit_account,
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

{{
    config(
        materialized=keyed_incremental_materialization(),
        incremental_strategy=keyed_incremental_strategy(),
        unique_key='request_no',
        on_schema_change='fail',
        pre_hook="{{ delete_incremental_window('source_dt', incremental_cutoff('source_dt')) }}"
    )
}}
-- One row per settlement bill row (结算账单, request_no): settled (trade_type 0) or reversed
-- after a refund (trade_type 1). Exact fen figures plus yuan. Incremental: the rows from lake
-- partitions (file days) on or after incremental_cutoff() are deleted (pre_hook) and come back
-- from the lake, so a re-dropped file with fewer rows loses exactly its removed rows; rows whose
-- order line changed in that window (a line can land after its bill) and rows no longer in the
-- table (lost_keys(): a bill whose newest file day moved back) are replaced by request_no.
with settlement_bills as (

    select bills.* from {{ ref('stg_backoffice__settlement_bill') }} as bills
    {% if is_incremental() %}
    {%- set cutoff = incremental_cutoff('source_dt') %}
    {%- set lost = lost_keys('request_no', 'source_dt', cutoff,
                             'select request_no from ' ~ ref('stg_backoffice__settlement_bill') ~ ' where source_dt >= ' ~ cutoff) %}
    where bills.source_dt >= {{ cutoff }}
       -- and bills whose order line (re)landed since: their line columns change
       or bills.sku_order_id in (
           select sku_order_id from {{ ref('int_order_lines__enriched') }}
           where changed_dt >= {{ cutoff }}
       )
    {%- if lost %}
       or bills.request_no in ({{ lost | join(', ') }})
    {%- endif %}
    {% endif %}

),

order_lines as (

    select sku_order_id, pay_date, channel, sku_id
    from {{ ref('int_order_lines__enriched') }}

),

final as (

    select
        settlement_bills.request_no,
        settlement_bills.shop_id,
        settlement_bills.shop_order_id,
        settlement_bills.sku_order_id,
        settlement_bills.product_id,
        products.product_name,
        order_lines.sku_id,
        order_lines.channel,
        order_lines.pay_date,
        settlement_bills.trade_type,
        case settlement_bills.trade_type when 0 then 'settled' when 1 then 'reversed' end as trade_type_name,
        settlement_bills.settle_at,
        settlement_bills.settle_date,
        settlement_bills.settle_fen,
        settlement_bills.total_income_fen,
        settlement_bills.real_pay_fen,
        settlement_bills.refund_before_settle_fen,
        settlement_bills.platform_coupon_fen,
        settlement_bills.author_coupon_fen,
        settlement_bills.zt_pay_promotion_fen + settlement_bills.zr_pay_promotion_fen        as pay_promotion_fen,
        settlement_bills.platform_service_fee_fen,
        settlement_bills.commission_fen,
        settlement_bills.channel_share_fee_fen,
        settlement_bills.colonel_service_fee_fen,
        settlement_bills.channel_promotion_fee_fen,
        settlement_bills.other_sharing_fen,
        settlement_bills.total_outcome_fen,
        {{ fen_to_yuan('settlement_bills.settle_fen') }}                                     as settle_yuan,
        {{ fen_to_yuan('settlement_bills.total_income_fen') }}                               as total_income_yuan,
        {{ fen_to_yuan('settlement_bills.total_outcome_fen') }}                              as total_outcome_yuan,
        order_lines.sku_order_id is not null                                                 as is_matched_to_line,
        settlement_bills.source_dt
    from settlement_bills
    left join order_lines
        on settlement_bills.sku_order_id = order_lines.sku_order_id
    left join {{ ref('dim_products') }} as products
        on settlement_bills.product_id = products.product_id

)

select * from final

{{
    config(
        materialized=keyed_incremental_materialization(),
        incremental_strategy=keyed_incremental_strategy(),
        unique_key='aftersale_id',
        on_schema_change='fail',
        pre_hook="{{ delete_incremental_rows('aftersale_id not in (select aftersale_id from ' ~ ref('stg_doudian__after_sale') ~ ' where is_refund_success)') }}"
    )
}}
-- depends_on: {{ ref('stg_backoffice__settlement_bill') }}, {{ ref('int_order_lines__enriched') }}
-- One row per successful refund (after-sale status 12, refund status 3), dated by the refund's
-- success time (refund_date, Asia/Shanghai): the finance view of refunds. pay_date lets the
-- cohort view attribute refunds back to the order's pay day. A refund of k of n units is partial
-- (is_full_refund false, aftersale_num = k). insurance_claim_yuan: the 运费险 payout of a return's
-- freight (refund_post_amount), paid to the buyer by the insurer: not in refund_yuan, not the shop's money.
-- Incremental by key (macros/incremental.sql): a run replaces the refunds staged from a partition on
-- or after incremental_cutoff() and those whose order line or settlement changed since; the pre_hook
-- deletes refunds that are no longer successful after-sales in staging.
{%- set cutoff = incremental_cutoff('refund_date') %}
with refunds as (

    select * from {{ ref('stg_doudian__after_sale') }}
    where is_refund_success
    {%- if is_incremental() %}
      and (source_dt >= {{ cutoff }}
           or sku_order_id in (select sku_order_id from {{ ref('int_order_lines__enriched') }} where changed_dt >= {{ cutoff }})
           or sku_order_id in (select sku_order_id from {{ ref('stg_backoffice__settlement_bill') }} where source_dt >= {{ cutoff }}))
    {%- endif %}

),

order_lines as (

    select * from {{ ref('int_order_lines__enriched') }}

),

settlements as (

    select sku_order_id, first_settle_at
    from {{ ref('int_settlements__matched_to_lines') }}

),

final as (

    select
        refunds.aftersale_id,
        refunds.sku_order_id,
        refunds.shop_order_id,
        refunds.shop_id,
        order_lines.product_id,
        order_lines.sku_id,
        order_lines.channel,
        order_lines.author_id,
        cast(refunds.aftersale_type as integer)                         as aftersale_type,
        {{ is_full_refund('refunds.aftersale_type', 'refunds.aftersale_num', 'order_lines.item_num') }} as is_full_refund,
        refunds.refunded_at,
        refunds.refund_date,
        order_lines.pay_date,
        {{ fen_to_yuan('refunds.refund_fen') }}                          as refund_yuan,
        cast(refunds.aftersale_num as {{ dbt.type_bigint() }})          as aftersale_num,
        {{ fen_to_yuan('coalesce(refunds.refund_post_fen, 0)') }}        as insurance_claim_yuan,
        coalesce(settlements.first_settle_at < refunds.refunded_at, false) as is_after_settlement
    from refunds
    left join order_lines
        on refunds.sku_order_id = order_lines.sku_order_id
    left join settlements
        on refunds.sku_order_id = settlements.sku_order_id

)

select * from final

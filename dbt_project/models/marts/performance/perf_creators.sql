{{
    config(
        materialized=keyed_incremental_materialization(),
        incremental_strategy=keyed_incremental_strategy(),
        unique_key=day_incremental_key('pay_date', ['shop_id', 'author_id', 'pay_date']),
        on_schema_change='fail',
        pre_hook="{{ update_incremental_attributes(
            'select shop_id, author_id, cast(tier as ' ~ dbt.type_string() ~ ') as tier, cast(followers as '
            ~ dbt.type_bigint() ~ ') as followers, cast(commission_rate_bp as integer) as commission_rate_bp from '
            ~ ref('stg_backoffice__creator'), ['shop_id', 'author_id'],
            {'tier': 'latest_attrs.tier', 'followers': 'latest_attrs.followers',
             'contract_commission_rate_bp': 'latest_attrs.commission_rate_bp'}) }}"
    )
}}
-- depends_on: {{ ref('stg_doudian__after_sale') }}
-- Creators (达人) per shop x creator x pay date (Asia/Shanghai), cohort view: refunds are those of the
-- day's lines, whenever they succeeded (as of the run). Creator-attributed lines = paid SKU order
-- lines with an author_id (精选联盟 lines and lines from a creator's live room / video).
--   commission: our estimate per line, fee_of(base, commission_rate_bp of the alliance order),
--     rounded half up like settlement; estimated_commission on the paid amount, net_commission on
--     the amount left after successful refunds (what the merchant finally pays)
--   roi (达人 ROI, docs/metrics.md): net GMV / net commission. Creator-funded discounts
--     (promotion_talent_amount) are paid by the creator and come back in settlement, so the
--     merchant bears none: the denominator is the commission alone. Null when no commission.
--   refund_rate: refunded amount / GMV (DOUBLE fraction)
-- Incremental by day (macros/incremental.sql): every pay day from incremental_cutoff() on and the older
-- pay days of creator lines whose sale figures or refunds changed since; the pre_hook sets the creator
-- attributes of the latest 达人合作 file (tier, followers, rate) on the days kept.
{%- set cutoff = incremental_cutoff('pay_date') %}
{%- set touched = incremental_touched_days('select pay_date from ' ~ ref('int_order_lines__enriched')
                                          ~ ' where author_id is not null and (sales_changed_dt >= ' ~ cutoff
                                          ~ ' or sku_order_id in (select sku_order_id from ' ~ ref('stg_doudian__after_sale')
                                          ~ ' where source_dt >= ' ~ cutoff ~ '))', cutoff) %}
with lines as (

    select * from {{ ref('int_order_lines__enriched') }}
    where is_paid and author_id is not null
      and {{ incremental_days_filter('pay_date', cutoff, touched) }}

),

refunds as (

    select sku_order_id, sum(refund_fen) as refund_fen
    from {{ ref('stg_doudian__after_sale') }}
    where is_refund_success
    group by sku_order_id

),

creators as (

    select * from {{ ref('stg_backoffice__creator') }}

),

line_facts as (

    select
        lines.shop_id,
        lines.author_id,
        lines.pay_date,
        lines.shop_order_id,
        lines.channel,
        lines.pay_fen,
        lines.promo_talent_fen,
        coalesce(refunds.refund_fen, 0)                                           as refund_fen,
        {{ fee_of('lines.pay_fen', 'lines.commission_rate_bp') }}                 as estimated_commission_fen,
        {{ fee_of('greatest(lines.pay_fen - coalesce(refunds.refund_fen, 0), 0)', 'lines.commission_rate_bp') }} as net_commission_fen
    from lines
    left join refunds
        on lines.sku_order_id = refunds.sku_order_id

),

daily as (

    select
        shop_id,
        author_id,
        pay_date,
        count(*)                                                                  as paid_lines,
        count(distinct shop_order_id)                                             as paid_orders,
        sum(case when channel = 'alliance' then 1 else 0 end)                     as alliance_lines,
        sum(pay_fen)                                                              as gmv_fen,
        sum(refund_fen)                                                           as refund_fen,
        sum(pay_fen) - sum(refund_fen)                                            as net_gmv_fen,
        sum(promo_talent_fen)                                                     as creator_discount_fen,
        sum(estimated_commission_fen)                                             as estimated_commission_fen,
        sum(net_commission_fen)                                                   as net_commission_fen
    from line_facts
    group by shop_id, author_id, pay_date

)

select
    cast(daily.shop_id as {{ dbt.type_string() }})                              as shop_id,
    cast(daily.author_id as {{ dbt.type_string() }})                            as author_id,
    cast(daily.pay_date as date)                                                as pay_date,
    cast(creators.tier as {{ dbt.type_string() }})                              as tier,
    cast(creators.followers as {{ dbt.type_bigint() }})                         as followers,
    cast(creators.commission_rate_bp as integer)                                as contract_commission_rate_bp,
    cast(daily.paid_lines as {{ dbt.type_bigint() }})                           as paid_lines,
    cast(daily.paid_orders as {{ dbt.type_bigint() }})                          as paid_orders,
    cast(daily.alliance_lines as {{ dbt.type_bigint() }})                       as alliance_lines,
    {{ fen_to_yuan('daily.gmv_fen') }}                                          as gmv_yuan,
    {{ fen_to_yuan('daily.refund_fen') }}                                       as refund_yuan,
    {{ fen_to_yuan('daily.net_gmv_fen') }}                                      as net_gmv_yuan,
    cast({{ safe_ratio('daily.refund_fen', 'daily.gmv_fen') }} as {{ type_double() }}) as refund_rate,
    {{ fen_to_yuan('daily.creator_discount_fen') }}                             as creator_discount_yuan,
    {{ fen_to_yuan('daily.estimated_commission_fen') }}                         as estimated_commission_yuan,
    {{ fen_to_yuan('daily.net_commission_fen') }}                               as net_commission_yuan,
    cast({{ safe_ratio('daily.net_gmv_fen', 'daily.net_commission_fen') }} as {{ type_double() }}) as roi
from daily
left join creators
    on daily.shop_id = creators.shop_id
    and daily.author_id = creators.author_id

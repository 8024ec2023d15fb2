{{
    config(
        materialized=keyed_incremental_materialization(),
        incremental_strategy=keyed_incremental_strategy(),
        unique_key=day_incremental_key('settle_date', ['shop_id', 'settle_date']),
        on_schema_change='fail'
    )
}}
-- Shop x settlement day: what the platform settled and what it kept, from the settlement bills
-- (dated by settle_date, Asia/Shanghai). Reversals (结算后退款) are counted apart.
-- Incremental by day (macros/incremental.sql): a run rebuilds every settle day from
-- incremental_cutoff() on and the older settle days of bill rows landed since.
{%- set cutoff = incremental_cutoff('settle_date') %}
{%- set touched = incremental_touched_days(
        'select settle_date from ' ~ ref('fin_settlement_lines') ~ ' where source_dt >= ' ~ cutoff, cutoff) %}
with settlement_lines as (

    select * from {{ ref('fin_settlement_lines') }}
    where {{ incremental_days_filter('settle_date', cutoff, touched) }}

),

final as (

    select
        shop_id,
        settle_date,
        cast(sum(case when trade_type = 0 then 1 else 0 end) as {{ dbt.type_bigint() }}) as settled_lines,
        cast(sum(case when trade_type = 1 then 1 else 0 end) as {{ dbt.type_bigint() }}) as reversed_lines,
        {{ fen_to_yuan('sum(real_pay_fen)') }}                         as real_pay_yuan,
        {{ fen_to_yuan('sum(refund_before_settle_fen)') }}             as refund_before_settle_yuan,
        {{ fen_to_yuan('sum(platform_coupon_fen + author_coupon_fen + pay_promotion_fen)') }} as subsidies_yuan,
        {{ fen_to_yuan('sum(total_income_fen)') }}                     as total_income_yuan,
        {{ fen_to_yuan('sum(platform_service_fee_fen)') }}             as platform_service_fee_yuan,
        {{ fen_to_yuan('sum(commission_fen)') }}                       as commission_yuan,
        {{ fen_to_yuan('sum(colonel_service_fee_fen)') }}              as colonel_service_fee_yuan,
        {{ fen_to_yuan('sum(channel_share_fee_fen + channel_promotion_fee_fen)') }} as channel_fee_yuan,
        {{ fen_to_yuan('sum(other_sharing_fen)') }}                    as other_sharing_yuan,
        {{ fen_to_yuan('sum(total_outcome_fen)') }}                    as total_outcome_yuan,
        {{ fen_to_yuan('sum(case when trade_type = 1 then settle_fen else 0 end)') }} as reversal_yuan,
        {{ fen_to_yuan('sum(settle_fen)') }}                           as net_settlement_yuan,
        cast(sum(settle_fen) as {{ dbt.type_bigint() }})               as net_settlement_fen
    from settlement_lines
    group by shop_id, settle_date

)

select * from final

{{
    config(
        materialized=keyed_incremental_materialization(),
        incremental_strategy=keyed_incremental_strategy(),
        unique_key='sku_order_id',
        on_schema_change='fail',
        pre_hook=[
            "{{ delete_incremental_rows('sku_order_id in (select sku_order_id from ' ~ ref('int_order_lines__enriched')
                                        ~ ' where changed_dt >= ' ~ incremental_cutoff('pay_date') ~ ') or sku_order_id not in'
                                        ~ ' (select sku_order_id from ' ~ ref('int_order_lines__enriched') ~ ' where is_paid)') }}",
            "{{ update_incremental_column('as_of_date', as_of_date()) }}"
        ]
    )
}}
-- depends_on: {{ ref('int_order_lines__enriched') }}, {{ ref('stg_backoffice__settlement_bill') }}, {{ ref('int_platform_fee_rates__scored') }}
-- Per paid SKU order line, as of the run's business day (var as_of_date, default the latest pay
-- date): what was paid, refunded, expected to settle and settled, each fee expected vs settled,
-- the difference in fen, and a status with a reason: exactly the contract's rules
-- (docs/sources.md "Reconciliation rules"), first match wins:
--   refunded                              fully refunded before any settlement, no settlement rows
--   discrepancy / duplicate_settlement    more than one 已结算 (trade_type 0) row
--   discrepancy / refund_not_reversed     a refund succeeded after settlement, no reversal row
--   discrepancy / fee_mismatch            |Σ settle_amount - expected_net_fen| > settle_tolerance_fen (rounding)
--   settled                               settlement rows exist and match
--   discrepancy / missing_settlement      no settlement and overdue (due + grace < as_of)
--   pending                               otherwise
-- Incremental by line (macros/incremental.sql): a run rebuilds the lines that changed on or after
-- incremental_cutoff() (the pre_hook deletes them first, and the lines no longer paid or gone from the
-- lake), the lines whose settlement rows changed or went since, the pending lines (a pending
-- line becomes overdue as the horizon moves) and the lines whose fee rate or expected net moved (a billed
-- fee rate derived anew); the pre_hook sets as_of_date on the rows it keeps.
-- (Finding the lines gone takes two anti-joins on the line key over the whole table: key columns
-- only, small next to rebuilding the statuses.)
{%- set cutoff = incremental_cutoff('pay_date') %}
{#- The first due day whose billed rate this run may have moved: a due day scored again in the window
    changes the validity of the billed day before it (its valid_to) and everything after; the earliest
    such day over the categories. Asked once, at compile time (a DATE literal: it filters the scans). -#}
{%- set rate_moved_from -%}
    {%- if is_incremental() -%}
    {{ query_date('select min(coalesce(previous_billed, first_changed)) from ('
                  ~ 'select changed.first_cid, changed.first_changed, max(previous.rate_date) as previous_billed from ('
                  ~ 'select first_cid, min(rate_date) as first_changed from ' ~ ref('int_platform_fee_rates__scored')
                  ~ ' where changed_dt >= ' ~ cutoff ~ ' group by first_cid) as changed left join '
                  ~ ref('int_platform_fee_rates__scored') ~ ' as previous on previous.first_cid = changed.first_cid'
                  ~ ' and previous.billed_rate_bp is not null and previous.rate_date < changed.first_changed'
                  ~ ' group by changed.first_cid, changed.first_changed) as moved', default='9999-12-31') }}
    {%- else -%}
    cast(null as date)
    {%- endif -%}
{%- endset %}
{%- set rate_moved_confirmed_from = 'cast(' ~ dbt.dateadd('day', -1 * var('settle_delay_days') | int, rate_moved_from) ~ ' as date)' %}
with expected as (

    select * from {{ ref('int_order_lines__expected_settlement') }}
    {%- if is_incremental() %}
    where sku_order_id in (select sku_order_id from {{ ref('int_order_lines__enriched') }} where changed_dt >= {{ cutoff }})
       or sku_order_id in (select sku_order_id from {{ ref('int_settlements__matched_to_lines') }} where changed_dt >= {{ cutoff }})
       or sku_order_id in (select sku_order_id from {{ ref('stg_backoffice__settlement_bill') }} where source_dt >= {{ cutoff }})
       or sku_order_id in (select sku_order_id from {{ this }} where status = 'pending')
       -- lines whose fee rate or expected net moved without a change of their own: the billed rate in
       -- force on their due day was derived anew from other lines' bills (int_platform_fee_rates__billed);
       -- only due days from rate_moved_from on can have moved, and the lines not confirmed (no due day:
       -- the rate in force on the run's day)
       or sku_order_id in (select stored.sku_order_id from {{ this }} as stored
                           inner join {{ ref('int_order_lines__expected_settlement') }} as current_expected
                               on stored.sku_order_id = current_expected.sku_order_id
                           -- on the confirm day (due day - settle_delay_days): a column of the lines,
                           -- so the filter reaches their scan (the due day is computed in the view)
                           where (stored.confirm_receipt_date >= {{ rate_moved_confirmed_from }}
                                  or stored.confirm_receipt_date is null)
                             and (current_expected.confirm_receipt_date >= {{ rate_moved_confirmed_from }}
                                  or current_expected.confirm_receipt_date is null)
                             and (stored.expected_net_fen <> current_expected.expected_net_fen
                                  or stored.platform_fee_rate_bp <> current_expected.platform_fee_rate_bp))
       -- lines whose every bill row went (a re-dropped file with fewer rows)
       or sku_order_id in (select sku_order_id from {{ this }} where settlement_rows > 0 and sku_order_id not in (
           select sku_order_id from {{ ref('int_settlements__matched_to_lines') }}))
    {%- endif %}

),

settlements as (

    select * from {{ ref('int_settlements__matched_to_lines') }}

),

joined as (

    select
        expected.*,
        coalesce(settlements.settlement_rows, 0)              as settlement_rows,
        coalesce(settlements.settle_rows, 0)                  as settle_rows,
        coalesce(settlements.reversal_rows, 0)                as reversal_rows,
        coalesce(settlements.settled_fen, 0)                  as settled_fen,
        coalesce(settlements.reversal_fen, 0)                 as reversal_fen,
        settlements.first_settle_date,
        coalesce(settlements.platform_service_fee_fen, 0)     as settled_platform_fee_fen,
        coalesce(settlements.commission_fen, 0)               as settled_commission_fen,
        coalesce(settlements.colonel_service_fee_fen, 0)      as settled_colonel_fee_fen
    from expected
    left join settlements
        on expected.sku_order_id = settlements.sku_order_id

),

classified as (

    select
        joined.*,
        case
            when is_fully_refunded_before_settlement and settlement_rows = 0 then 'refunded'
            when settle_rows > 1 then 'discrepancy'
            when refund_after_fen > 0 and reversal_rows = 0 then 'discrepancy'
            when settlement_rows > 0 and abs(settled_fen - expected_net_fen) > {{ var('settle_tolerance_fen') }} then 'discrepancy'
            when settlement_rows > 0 then 'settled'
            when is_settlement_overdue then 'discrepancy'
            else 'pending'
        end as status,
        case
            when is_fully_refunded_before_settlement and settlement_rows = 0 then null
            when settle_rows > 1 then 'duplicate_settlement'
            when refund_after_fen > 0 and reversal_rows = 0 then 'refund_not_reversed'
            when settlement_rows > 0 and abs(settled_fen - expected_net_fen) > {{ var('settle_tolerance_fen') }} then 'fee_mismatch'
            when settlement_rows > 0 then null
            when is_settlement_overdue then 'missing_settlement'
        end as reason
    from joined

),

final as (

    select
        sku_order_id,
        shop_order_id,
        shop_id,
        product_id,
        sku_id,
        channel,
        pay_date,
        confirm_receipt_date,
        settle_due_date,
        first_settle_date,
        {{ as_of_date() }}                                         as as_of_date,
        status,
        reason,
        cast(pay_fen as {{ dbt.type_bigint() }})                    as pay_fen,
        cast(refund_fen as {{ dbt.type_bigint() }})                 as refund_fen,
        cast(refund_before_fen as {{ dbt.type_bigint() }})          as refund_before_settle_fen,
        cast(refund_after_fen as {{ dbt.type_bigint() }})           as refund_after_settle_fen,
        cast(promo_platform_fen as {{ dbt.type_bigint() }})         as promo_platform_fen,
        cast(promo_talent_fen as {{ dbt.type_bigint() }})           as promo_talent_fen,
        platform_fee_rate_bp,
        commission_rate_bp,
        colonel_service_rate_bp,
        cast(expected_platform_fee_fen as {{ dbt.type_bigint() }})  as expected_platform_fee_fen,
        cast(expected_commission_fen as {{ dbt.type_bigint() }})    as expected_commission_fen,
        cast(expected_colonel_fee_fen as {{ dbt.type_bigint() }})   as expected_colonel_fee_fen,
        cast(settled_platform_fee_fen as {{ dbt.type_bigint() }})   as settled_platform_fee_fen,
        cast(settled_commission_fen as {{ dbt.type_bigint() }})     as settled_commission_fen,
        cast(settled_colonel_fee_fen as {{ dbt.type_bigint() }})    as settled_colonel_fee_fen,
        cast(expected_settle_fen as {{ dbt.type_bigint() }})        as expected_settle_fen,
        cast(expected_net_fen as {{ dbt.type_bigint() }})           as expected_net_fen,
        cast(settled_fen as {{ dbt.type_bigint() }})                as settled_fen,
        cast(case when status in ('pending', 'refunded') then 0 else settled_fen - expected_net_fen end
             as {{ dbt.type_bigint() }})                            as difference_fen,
        cast(settlement_rows as {{ dbt.type_bigint() }})            as settlement_rows,
        cast(settle_rows as {{ dbt.type_bigint() }})                as settle_rows,
        cast(reversal_rows as {{ dbt.type_bigint() }})              as reversal_rows,
        {{ fen_to_yuan('pay_fen') }}                                as pay_yuan,
        {{ fen_to_yuan('expected_net_fen') }}                       as expected_net_yuan,
        {{ fen_to_yuan('settled_fen') }}                            as settled_yuan
    from classified

),

products as (

    select product_id, product_name from {{ ref('dim_products') }}

)

select
    final.*,
    products.product_name
from final
left join products
    on final.product_id = products.product_id

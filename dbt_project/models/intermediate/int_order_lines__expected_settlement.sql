-- What the platform should settle for each paid SKU order line, as of the run's business day
-- (docs/sources.md "Reconciliation rules", exactly):
--   base                = pay - refund_before          (refund_before: partial, type 6, before settlement)
--   expected_settle_fen = base + promo_platform + promo_talent
--                         - fee_of(base, platform rate of first_cid)      (the billed rate in force on the
--                           line's due day, int_platform_fee_rates__billed; before any bill shows one, or for a
--                           line not yet confirmed: as of the run's day; no billed rate yet: the seed)
--                         - fee_of(base, commission_rate_bp)              (alliance order, else 0)
--                         - fee_of(base, colonel_service_rate_bp)         (alliance order, else 0)
--   a line fully refunded (type 0/1/2) before settlement expects nothing (0): no settlement at all
--   expected_net_fen    = expected_settle_fen - refunds that succeeded after settlement
--   due date            = confirm receipt date + settle_delay_days; overdue when due + settle_grace_days < as_of
-- Grain: sku_order_id (paid lines only).
{%- set rate_day = 'coalesce(cast(' ~ dbt.dateadd('day', var('settle_delay_days'), 'order_lines.confirm_receipt_date') ~ ' as date), ' ~ as_of_date() ~ ')' %}
with order_lines as (

    select * from {{ ref('int_order_lines__enriched') }}
    where is_paid
      and pay_date <= {{ as_of_date() }}

),

seed_rates as (

    select
        cast(first_cid as {{ dbt.type_string() }}) as first_cid,
        cast(platform_fee_rate_bp as integer)      as platform_fee_rate_bp
    from {{ ref('platform_fee_rates') }}

),

billed_rates as (

    select first_cid, rate_date, billed_rate_bp, valid_to
    from {{ ref('int_platform_fee_rates__billed') }}
    where billed_rate_bp is not null

),

-- the billed rate in force on every day from the first billed day to the last billed day or the run's
-- day, whichever is later (a few categories x a few hundred days): the lines join it on (category,
-- day), an equality, instead of testing each line against every billed day of its category
rate_calendar as (

    select
        min(rate_date)                                                      as first_day,
        greatest(max(rate_date), {{ as_of_date() }})                        as last_day
    from billed_rates

),

rate_days as (

    {{ day_series('(select first_day from rate_calendar)', '(select last_day from rate_calendar)') }}

),

rates_by_day as (

    select
        billed_rates.first_cid,
        rate_days.day                                                       as rate_day,
        billed_rates.billed_rate_bp
    from billed_rates
    inner join rate_days
        on billed_rates.rate_date <= rate_days.day
        and (billed_rates.valid_to is null or billed_rates.valid_to > rate_days.day)

),

refunds as (

    select * from {{ ref('int_refunds__allocated_to_lines') }}

),

based as (

    select
        order_lines.sku_order_id,
        order_lines.shop_order_id,
        order_lines.shop_id,
        order_lines.product_id,
        order_lines.sku_id,
        order_lines.first_cid,
        order_lines.channel,
        order_lines.pay_date,
        order_lines.confirm_receipt_date,
        order_lines.pay_fen,
        order_lines.promo_platform_fen,
        order_lines.promo_talent_fen,
        coalesce(billed_rates.billed_rate_bp, seed_rates.platform_fee_rate_bp, 0) as platform_fee_rate_bp,
        coalesce(billed_rates.billed_rate_bp, seed_rates.platform_fee_rate_bp) is not null
                                                                             as has_platform_fee_rate,
        billed_rates.billed_rate_bp is not null                              as is_billed_platform_fee_rate,
        order_lines.commission_rate_bp,
        order_lines.colonel_service_rate_bp,
        coalesce(refunds.refund_fen, 0)                                      as refund_fen,
        coalesce(refunds.partial_refund_before_settle_fen, 0)                as refund_before_fen,
        coalesce(refunds.refund_after_settle_fen, 0)                         as refund_after_fen,
        coalesce(refunds.is_fully_refunded_before_settlement, false)         as is_fully_refunded_before_settlement,
        -- a full refund before settlement means no settlement at all: nothing is expected
        case when coalesce(refunds.is_fully_refunded_before_settlement, false) then 0
             else order_lines.pay_fen - coalesce(refunds.partial_refund_before_settle_fen, 0)
        end                                                                  as settle_base_fen,
        case when coalesce(refunds.is_fully_refunded_before_settlement, false) then 0
             else order_lines.promo_platform_fen + order_lines.promo_talent_fen
        end                                                                  as settle_subsidy_fen
    from order_lines
    cross join rate_calendar
    -- the billed rate in force on the line's due day (not confirmed yet: as of the run's day); joined
    -- here, on the lines themselves, so that a filter on the lines (a month of pay days) reaches it. A
    -- day after the calendar's last day has the rate in force on that day (no billed day after it).
    left join rates_by_day as billed_rates
        on order_lines.first_cid = billed_rates.first_cid
        and least({{ rate_day }}, rate_calendar.last_day) = billed_rates.rate_day
    left join seed_rates
        on order_lines.first_cid = seed_rates.first_cid
    left join refunds
        on order_lines.sku_order_id = refunds.sku_order_id

),

fees as (

    select
        based.*,
        {{ fee_of('settle_base_fen', 'platform_fee_rate_bp') }}             as expected_platform_fee_fen,
        {{ fee_of('settle_base_fen', 'commission_rate_bp') }}               as expected_commission_fen,
        {{ fee_of('settle_base_fen', 'colonel_service_rate_bp') }}          as expected_colonel_fee_fen
    from based

),

expected as (

    select
        fees.*,
        settle_base_fen + settle_subsidy_fen
            - expected_platform_fee_fen - expected_commission_fen - expected_colonel_fee_fen
                                                                             as expected_settle_fen,
        settle_base_fen + settle_subsidy_fen
            - expected_platform_fee_fen - expected_commission_fen - expected_colonel_fee_fen
            - refund_after_fen                                               as expected_net_fen,
        cast({{ dbt.dateadd('day', var('settle_delay_days'), 'confirm_receipt_date') }} as date)
                                                                             as settle_due_date,
        cast({{ dbt.dateadd('day', var('settle_delay_days') + var('settle_grace_days'), 'confirm_receipt_date') }} as date)
            < {{ as_of_date() }}                                             as is_settlement_overdue
    from fees

)

select * from expected

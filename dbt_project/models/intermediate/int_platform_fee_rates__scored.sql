{{
    config(
        materialized=keyed_incremental_materialization(),
        incremental_strategy=keyed_incremental_strategy(),
        unique_key=day_incremental_key('rate_date', ['first_cid', 'rate_date']),
        on_schema_change='fail'
    )
}}
-- The platform service fee rate each category was actually billed at, per settlement due day, read
-- from the settlement bills (the bill is the truth; seeds/platform_fee_rates.csv is only what the
-- merchant expected). For every due day (confirm receipt date + settle_delay_days) and first
-- category with 已结算 rows: the candidate rates are the rates implied by each row
-- (round half up of fee x 10000 / base, base = real pay - refund before settlement); the billed rate
-- is the candidate that reproduces the most rows' fees exactly (fee_of), the roundest on a tie
-- (a multiple of 100 bp, then of 10 bp), and only when it explains at least two rows and more than
-- half of them (else the day has no billed rate and the rate in force carries on). valid_to is the
-- next due day with a billed rate: a line uses the billed rate in force on its due day, the seed
-- before any bill shows one. Also the day's fees at the seed rate, for the variance.
-- Grain: first_cid x rate_date. The rates' validity (valid_to): int_platform_fee_rates__billed.
-- Incremental by due day (macros/incremental.sql): a run scores again every due day from the cutoff on
-- and the older due days of the lines whose bills landed or whose line changed since (changed_dt: the
-- newest of the day's bill partitions and line change days), so a daily run reads the bills of a few
-- days' lines, not a year of them.
{%- set cutoff = incremental_cutoff('changed_dt') %}
{%- set rate_day = 'cast(' ~ dbt.dateadd('day', var('settle_delay_days'), 'confirm_receipt_date') ~ ' as date)' %}
{%- set touched_days -%}
    select {{ rate_day }} from {{ ref('int_order_lines__enriched') }}
    where confirm_receipt_date is not null
      and (changed_dt >= {{ cutoff }} or sku_order_id in (
          select sku_order_id from {{ ref('stg_backoffice__settlement_bill') }} where source_dt >= {{ cutoff }}))
{%- endset %}
{%- set touched = incremental_touched_days(touched_days, cutoff) %}
with bills as (

    select * from {{ ref('stg_backoffice__settlement_bill') }}
    where trade_type = 0
      and settle_date <= {{ as_of_date() }}

),

order_lines as (

    select sku_order_id, first_cid, confirm_receipt_date, changed_dt
    from {{ ref('int_order_lines__enriched') }}
    where confirm_receipt_date is not null
      and {{ incremental_days_filter(rate_day, cutoff, touched) }}

),

seed_rates as (

    select
        cast(first_cid as {{ dbt.type_string() }}) as first_cid,
        cast(platform_fee_rate_bp as integer)      as seed_rate_bp
    from {{ ref('platform_fee_rates') }}

),

billed_rows as (

    select
        order_lines.first_cid,
        cast({{ dbt.dateadd('day', var('settle_delay_days'), 'order_lines.confirm_receipt_date') }} as date)
                                                                              as rate_date,
        bills.real_pay_fen - bills.refund_before_settle_fen                   as base_fen,
        bills.platform_service_fee_fen                                        as fee_fen,
        greatest(bills.source_dt, order_lines.changed_dt)                     as changed_dt
    from bills
    inner join order_lines
        on bills.sku_order_id = order_lines.sku_order_id
    where bills.real_pay_fen - bills.refund_before_settle_fen > 0

),

billed_amounts as (

    -- the day's rows by amount: many rows bill the same base and fee, and each candidate rate is tried
    -- on every distinct amount once
    select first_cid, rate_date, base_fen, fee_fen, count(*) as rows_billed
    from billed_rows
    group by first_cid, rate_date, base_fen, fee_fen

),

candidates as (

    select distinct
        first_cid,
        rate_date,
        cast(floor((cast(fee_fen as decimal(38, 0)) * 20000 + base_fen) / (2 * base_fen)) as integer) as rate_bp
    from billed_amounts

),

scored as (

    select
        candidates.first_cid,
        candidates.rate_date,
        candidates.rate_bp,
        sum(case when {{ fee_of('billed_amounts.base_fen', 'candidates.rate_bp') }} = billed_amounts.fee_fen
                 then billed_amounts.rows_billed else 0 end)                  as rows_explained,
        sum(billed_amounts.rows_billed)                                       as rows_billed
    from candidates
    inner join billed_amounts
        on candidates.first_cid = billed_amounts.first_cid and candidates.rate_date = billed_amounts.rate_date
    group by candidates.first_cid, candidates.rate_date, candidates.rate_bp

),

ranked as (

    select
        scored.*,
        row_number() over (
            partition by first_cid, rate_date
            order by rows_explained desc,
                     case when rate_bp % 100 = 0 then 0 when rate_bp % 10 = 0 then 1 else 2 end asc,
                     rate_bp asc
        ) as rank_in_day
    from scored

),

day_totals as (

    select
        billed_rows.first_cid,
        billed_rows.rate_date,
        count(*)                                                              as settled_rows,
        sum(billed_rows.base_fen)                                             as base_fen,
        sum(billed_rows.fee_fen)                                              as billed_fee_fen,
        sum({{ fee_of('billed_rows.base_fen', 'coalesce(seed_rates.seed_rate_bp, 0)') }}) as fee_at_seed_rate_fen,
        max(billed_rows.changed_dt)                                           as changed_dt
    from billed_rows
    left join seed_rates
        on billed_rows.first_cid = seed_rates.first_cid
    group by billed_rows.first_cid, billed_rows.rate_date

),

billed as (

    select
        first_cid,
        rate_date,
        rate_bp                                                               as billed_rate_bp,
        rows_explained
    from ranked
    where rank_in_day = 1
      and rows_explained >= 2
      and rows_explained * 2 > rows_billed

),

final as (

    select
        day_totals.first_cid,
        day_totals.rate_date,
        seed_rates.seed_rate_bp,
        billed.billed_rate_bp,
        cast(day_totals.settled_rows as {{ dbt.type_bigint() }})              as settled_rows,
        cast(coalesce(billed.rows_explained, 0) as {{ dbt.type_bigint() }})   as rows_explained,
        cast(day_totals.base_fen as {{ dbt.type_bigint() }})                  as base_fen,
        cast(day_totals.billed_fee_fen as {{ dbt.type_bigint() }})            as billed_fee_fen,
        cast(day_totals.fee_at_seed_rate_fen as {{ dbt.type_bigint() }})      as fee_at_seed_rate_fen,
        day_totals.changed_dt
    from day_totals
    left join billed
        on day_totals.first_cid = billed.first_cid and day_totals.rate_date = billed.rate_date
    left join seed_rates
        on day_totals.first_cid = seed_rates.first_cid

)

select * from final

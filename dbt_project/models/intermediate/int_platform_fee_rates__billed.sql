-- The platform service fee rate each first category was billed at, per settlement due day, with its
-- validity: int_platform_fee_rates__scored (one row per first category x due day with 已结算 bill rows:
-- how the billed rate is found) and valid_to, the next due day with a billed rate (exclusive end of the
-- rate's validity; null = still in force). A view: the lead() over the small scored table is cheap, and
-- a day scored again moves the valid_to of the billed day before it without rebuilding that day.
-- Grain: first_cid x rate_date.
with scored as (

    select * from {{ ref('int_platform_fee_rates__scored') }}

),

final as (

    select
        first_cid,
        rate_date,
        seed_rate_bp,
        billed_rate_bp,
        lead(case when billed_rate_bp is not null then rate_date end) over (
            partition by first_cid, billed_rate_bp is not null order by rate_date
        )                                                                     as valid_to,
        settled_rows,
        rows_explained,
        base_fen,
        billed_fee_fen,
        fee_at_seed_rate_fen
    from scored

)

select * from final

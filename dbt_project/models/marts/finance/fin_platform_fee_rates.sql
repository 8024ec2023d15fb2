-- Platform service fee rates: expected (seed) vs billed, per first category x settlement due day, and
-- the fee variance in fen (billed fee - the same rows' fee at the seed rate). The bill is the truth:
-- a category whose rate changed by announcement shows billed_rate_bp <> seed_rate_bp from its
-- effective day on (docs/sources.md "Platform fee rate changes"); a day without enough evidence has
-- billed_rate_bp null and its rows still count in the variance. A small table (categories x days):
-- rebuilt whole on every run.
with rates as (

    select * from {{ ref('int_platform_fee_rates__billed') }}

),

names as (

    select
        cast(first_cid as {{ dbt.type_string() }})      as first_cid,
        cast(first_cid_name as {{ dbt.type_string() }}) as first_cid_name
    from {{ ref('platform_fee_rates') }}

),

final as (

    select
        rates.first_cid,
        names.first_cid_name,
        rates.rate_date,
        cast(rates.seed_rate_bp as integer)                                   as seed_rate_bp,
        cast(rates.billed_rate_bp as integer)                                 as billed_rate_bp,
        coalesce(rates.billed_rate_bp <> rates.seed_rate_bp, false)           as is_rate_changed,
        cast(rates.settled_rows as {{ dbt.type_bigint() }})                   as settled_rows,
        cast(rates.rows_explained as {{ dbt.type_bigint() }})                 as rows_explained,
        cast(rates.billed_fee_fen as {{ dbt.type_bigint() }})                 as billed_fee_fen,
        cast(rates.fee_at_seed_rate_fen as {{ dbt.type_bigint() }})           as fee_at_seed_rate_fen,
        cast(rates.billed_fee_fen - rates.fee_at_seed_rate_fen as {{ dbt.type_bigint() }}) as fee_variance_fen,
        {{ fen_to_yuan('rates.billed_fee_fen - rates.fee_at_seed_rate_fen') }} as fee_variance_yuan
    from rates
    left join names
        on rates.first_cid = names.first_cid

)

select * from final

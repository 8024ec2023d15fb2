-- One row per calendar day 2020-01-01 .. 2030-12-31 (Asia/Shanghai business days).
with days as (

    {{ dbt.date_spine('day', "cast('2020-01-01' as date)", "cast('2031-01-01' as date)") }}

),

final as (

    select
        cast(date_day as date)                                          as date_day,
        cast({{ dbt.date_trunc('week', 'date_day') }} as date)          as week_start_date,
        cast({{ dbt.date_trunc('month', 'date_day') }} as date)         as month_start_date,
        cast({{ dbt.date_trunc('quarter', 'date_day') }} as date)       as quarter_start_date,
        cast(extract(year from date_day) as integer)                    as year_number,
        cast(extract(month from date_day) as integer)                   as month_number,
        cast(extract(day from date_day) as integer)                     as day_of_month,
        cast({{ dbt.datediff("cast(" ~ dbt.date_trunc('week', 'date_day') ~ " as date)", 'date_day', 'day') }} + 1 as integer)
                                                                        as iso_day_of_week,
        {{ dbt.datediff("cast(" ~ dbt.date_trunc('week', 'date_day') ~ " as date)", 'date_day', 'day') }} >= 5
                                                                        as is_weekend
    from days

)

select * from final

-- One row per shop x creator (达人): the 达人合作 file's attributes plus the creator's first and
-- last attributed sale. Creators seen only on order lines (not in the file) are kept with
-- is_in_creator_file = false.
with creators as (

    select * from {{ ref('stg_backoffice__creator') }}

),

line_creators as (

    select
        shop_id,
        author_id,
        min(author_name) as author_name,
        min(pay_date)    as first_sale_date,
        max(pay_date)    as last_sale_date
    from {{ ref('int_order_lines__enriched') }}
    where author_id is not null and is_paid
    group by shop_id, author_id

),

keys as (

    select shop_id, author_id from creators
    union
    select shop_id, author_id from line_creators

),

final as (

    select
        {{ dbt.concat(["keys.shop_id", "'-'", "keys.author_id"]) }} as creator_key,
        keys.shop_id,
        keys.author_id,
        coalesce(creators.author_name, line_creators.author_name)     as author_name,
        creators.tier,
        cast(creators.followers as {{ dbt.type_bigint() }})           as followers,
        creators.commission_rate_bp,
        creators.since_date,
        creators.author_id is not null                                as is_in_creator_file,
        line_creators.first_sale_date,
        line_creators.last_sale_date
    from keys
    left join creators
        on keys.shop_id = creators.shop_id and keys.author_id = creators.author_id
    left join line_creators
        on keys.shop_id = line_creators.shop_id and keys.author_id = line_creators.author_id

)

select * from final

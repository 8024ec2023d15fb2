{#- A SQL snapshot (not a yml one) so that `enabled` can ask the engine: yml configs cannot call
    macros, and engine differences live only in dispatched macros (snapshots_supported()). -#}
{% snapshot snap_sku_prices %}
{{
    config(
        schema='snapshots',
        unique_key='sku_id',
        strategy='check',
        check_cols=['price_fen'],
        hard_deletes='ignore',
        file_format=var('spark_file_format', 'parquet'),
        enabled=snapshots_supported()
    )
}}
select * from {{ ref('stg_doudian__sku') }}
{% endsnapshot %}

{#-
  buyer_key = lowercase hex HMAC-SHA256(secret key, open id): a pseudonymous buyer that nobody without the
  key can recompute from open ids. RFC 2104 over the key's two pads, K0 xor ipad and K0 xor opad, which the
  engine session holds (never this SQL, --vars or any file; douyin_etl/buyer_key.py):
      HMAC = sha256( opad_key || sha256_bytes( ipad_key || utf8(open_id) ) )
  DuckDB: session variables set by the dbt-duckdb plugin douyin_etl.warehousing.buyer_key_plugin.
  Spark: session configuration spark.douyin.buyer_key.hmac_* (profiles.yml), substituted at execution.
  Empty or null open ids give null. No key in the session: the model fails with a message saying so.
  The model computing it must be a table: a view would keep the formula, not the values.
-#}
{% macro buyer_key(open_id) -%}
    {{ return(adapter.dispatch('buyer_key', 'douyin')(open_id)) }}
{%- endmacro %}

{% macro default__buyer_key(open_id) -%}
    {{ exceptions.raise_compiler_error("buyer_key (HMAC-SHA256) is implemented for duckdb and spark only, not " ~ adapter.type()) }}
{%- endmacro %}

{% macro duckdb__buyer_key(open_id) -%}
    case
        when nullif(cast({{ open_id }} as varchar), '') is null then null
        when getvariable('douyin_buyer_key_ipad') is null or getvariable('douyin_buyer_key_opad') is null
            then error('buyer_key: no buyer-key secret in this dbt session; run dbt through douyin_etl (douyin-etl run, the DAGs or run_dbt) with DOUYIN_BUYER_KEY_SECRET or the Airflow connection douyin_buyer_key set')
        else sha256(getvariable('douyin_buyer_key_opad')
                    || unhex(sha256(getvariable('douyin_buyer_key_ipad') || encode(cast({{ open_id }} as varchar)))))
    end
{%- endmacro %}

{% macro spark__buyer_key(open_id) -%}
    case
        when nullif(cast({{ open_id }} as string), '') is null then null
        when length('${spark.douyin.buyer_key.hmac_ipad}') <> 128 or length('${spark.douyin.buyer_key.hmac_opad}') <> 128
            then raise_error('buyer_key: no buyer-key secret in this Spark session; run dbt through douyin_etl (build_marts_on_spark / run_dbt) with DOUYIN_BUYER_KEY_SECRET or the Airflow connection douyin_buyer_key set')
        else sha2(concat(unhex('${spark.douyin.buyer_key.hmac_opad}'),
                         unhex(sha2(concat(unhex('${spark.douyin.buyer_key.hmac_ipad}'),
                                           encode(cast({{ open_id }} as string), 'UTF-8')), 256))), 256)
    end
{%- endmacro %}

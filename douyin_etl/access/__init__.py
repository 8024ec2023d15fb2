"""How people reach the published warehouse: read-only SQL, exports, status, docs.

- ``query``: read-only SQL (``douyin-etl query``).
- ``status``: recent runs, published version, freshness per mart (``douyin-etl status``).
- ``exports`` + ``export_spec``: finance exports xlsx/csv/parquet (``douyin-etl export``).
- ``docs_server``: dbt docs + run reports on 127.0.0.1 (``douyin-etl docs``).
- ``catalog`` + ``examples``: the mart catalog and example queries of docs/analyst-guide.md.
"""

"""douyin_etl: batch ETL for Douyin (抖店) merchants.

Flow: world (the platform; simulated by ``douyin_sim``) -> sources (Open API client, file drops)
-> landing (Parquet lake) -> quality gates -> dbt (audit warehouse) -> gates -> publish -> people.
"""

__version__ = "0.1.0"

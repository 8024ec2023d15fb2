"""Build the marts on Apache Spark from a lake: the same dbt models, the profile's ``spark`` output.

``build_marts_on_spark(lake_dir, spark_dir)`` runs ``dbt build --target spark`` (seeds, models, data and
unit tests, contracts enforced) as a subprocess through the pipeline's runner, with Spark in dbt's own
process (dbt-spark's ``session`` method, ``local[cores]``). Everything Spark writes goes under
``spark_dir``: the Derby metastore (``metastore_db/``, ``derby.log``) and the tables' Parquet files in
``warehouse/<schema>.db/<table>/`` (``mart_files``), which any Parquet reader (DuckDB, pandas) can read.
On-run-start registers the lake's sources as external Parquet tables (``macros/lake_sources.sql``).
Returns the runner's ``DbtResult``.

Not built on Spark (see docs/deploy.md): the snapshot ``snap_sku_prices`` (dbt-spark snapshots need
Delta/Hudi). The keyed incremental marts are rebuilt in full on plain Parquet tables.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from douyin_etl.warehousing.dbt_runner import DbtResult, run_dbt

log = logging.getLogger(__name__)

SPARK_TARGET = "spark"


def mart_files(spark_dir: Path, schema: str, table: str) -> str:
    """The glob of one Spark-built table's Parquet files (partitioned tables included)."""
    return str(Path(spark_dir) / "warehouse" / f"{schema}.db" / table / "**" / "*.parquet")


def build_marts_on_spark(
    lake_dir: str | Path,
    spark_dir: Path,
    *,
    resource_types: Sequence[str] = (),
    select: Sequence[str] = (),
    vars: dict[str, Any] | None = None,
    run_params: dict[str, Any] | None = None,
    driver_memory: str = "1g",
    cores: int = 2,
    full_refresh: bool = False,
    raise_on_failure: bool = False,
) -> DbtResult:
    """``dbt build --target spark`` over ``lake_dir`` into ``spark_dir``; see the module docstring.

    ``resource_types`` limits the build (e.g. ``("seed", "model")`` skips the ~280 data tests, about
    half of the Spark wall time; empty = everything ``dbt build`` builds);
    ``select`` is passed as ``--select``; ``run_params`` are the run's dates (``as_of_date``,
    ``window_start``: ``dbt_runner.RUN_PARAMS``, read by the macro ``run_param()`` the same way as on
    DuckDB, without re-parsing); ``vars`` go as ``--vars`` (e.g. ``spark_file_format``).
    """
    lake = str(lake_dir)
    if "://" in lake and not lake.startswith("file://"):
        raise ValueError(
            f"build_marts_on_spark reads a local lake; got {lake!r}. An object-store lake needs Hadoop's s3a "
            "connector in Spark (hadoop-aws on spark.jars.packages, s3a:// URLs): see docs/deploy.md, 'Spark'."
        )
    lake = str(Path(lake).resolve()) if "://" not in lake else lake
    spark_dir = Path(spark_dir).resolve()
    spark_dir.mkdir(parents=True, exist_ok=True)
    command = ["build"]
    for resource_type in resource_types:
        command += ["--resource-type", resource_type]
    if select:
        command += ["--select", *select]
    env = {
        "DOUYIN_LAKE_DIR": lake,
        "DOUYIN_SPARK_DIR": str(spark_dir),
        "DOUYIN_SPARK_DRIVER_MEMORY": driver_memory,
        "DOUYIN_SPARK_CORES": str(cores),
    }
    log.info("dbt on Spark: lake %s -> %s", lake, spark_dir)
    # The runner's writer lock is taken on <spark_dir>/warehouse: one build per Spark directory at a time.
    return run_dbt(
        command,
        db_path=spark_dir / "warehouse",
        vars=vars,
        run_params=run_params,
        run_dir=spark_dir / "dbt",
        full_refresh=full_refresh,
        raise_on_failure=raise_on_failure,
        target=SPARK_TARGET,
        extra_env=env,
    )

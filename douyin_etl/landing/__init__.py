"""The landing zone: an immutable, partitioned Parquet lake of raw extracts.

``<lake>/raw/<source>/<entity>/dt=YYYY-MM-DD/part-00000.parquet`` + ``_manifest.json``, written by
``writer.PartitionWriter`` (atomic, idempotent, de-duplicated by the entity key); found with
``reader``; bad input rows go to ``<lake>/quarantine/`` through ``quarantine.Quarantine``.
"""

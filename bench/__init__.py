"""Benchmarks of the whole pipeline per scale factor: ``python -m bench.run --sf 1`` (``make bench SF=1``).

Modules: ``scales`` (the scale-factor specs), ``measure`` (run one step in a child process, wall + peak RSS),
``child`` (the step functions the child runs), ``dbt_direct`` (the compiled dbt SQL in one DuckDB connection),
``run`` (the driver: steps in order, ratios, targets, table + JSON under ``bench/results/``).
"""
